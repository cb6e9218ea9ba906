package timeline_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/gateway/timeline"
	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/schema"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// event is a hand-built envelope: id, stream, version, cause, ms after t0.
func event(id, aggregateType string, version int, cause string, ms int, traceparent string) schema.Envelope {
	aggregateID := "order-1"
	if aggregateType == schema.AggregatePayment {
		aggregateID = "payment-1"
	}
	return schema.Envelope{
		ID: id, Type: aggregateType + "." + id + ".v1", AggregateType: aggregateType, AggregateID: aggregateID,
		Version: version, OccurredAt: t0.Add(time.Duration(ms) * time.Millisecond), CorrelationID: "order-1",
		CausationID: cause, TraceParent: traceparent,
	}
}

const (
	trace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	parent = "00-" + trace + "-00f067aa0ba902b7-01"
)

func ids(entries []*model.TimelineEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.EventID
	}
	return out
}

func TestCausalOrder(t *testing.T) {
	t.Parallel()
	// The decline path: created → requested → declined → decided →
	// cancellation requested → started, completed → cancelled, with the
	// compensation's saga started beside the payment.
	created := event("created", "order", 1, "request-1", 0, parent)
	started := event("sagaStarted", "compensation", 1, "created", 5, parent)
	requested := event("requested", "payment", 1, "created", 4, parent)
	declined := event("declined", "payment", 2, "requested", 20, parent)
	decided := event("decided", "compensation", 2, "declined", 25, parent)
	cancelling := event("cancelling", "order", 2, "decided", 30, parent)
	cancelStarted := event("cancelStarted", "compensation", 3, "cancelling", 35, parent)
	completed := event("completed", "compensation", 4, "cancelling", 35, parent)
	cancelled := event("cancelled", "order", 3, "completed", 40, parent)
	chain := []string{"created", "requested", "sagaStarted", "declined", "decided", "cancelling", "cancelStarted", "completed", "cancelled"}

	tests := []struct {
		name string
		in   []schema.Envelope
		want []string
	}{
		{
			name: "in stream order by subject",
			in:   []schema.Envelope{created, cancelling, cancelled, requested, declined, started, decided, cancelStarted, completed},
			want: chain,
		},
		{
			name: "reversed",
			in:   []schema.Envelope{cancelled, completed, cancelStarted, cancelling, decided, started, declined, requested, created},
			want: chain,
		},
		{
			name: "a repeat of an event is dropped",
			in:   []schema.Envelope{created, requested, created, declined, requested},
			want: []string{"created", "requested", "declined"},
		},
		{
			// A service whose clock is behind: its effects still come
			// after their causes.
			name: "a cause comes first whatever the clocks say",
			in: []schema.Envelope{
				event("a", "order", 1, "", 100, ""), event("b", "payment", 1, "a", 50, ""), event("c", "compensation", 1, "b", 10, ""),
				event("x", "compensation", 2, "", 60, ""),
			},
			want: []string{"a", "b", "c", "x"},
		},
		{
			name: "a stream's events in version order whatever the clocks say",
			in:   []schema.Envelope{event("v2", "order", 2, "", 10, ""), event("v1", "order", 1, "", 20, ""), event("p", "payment", 1, "", 15, "")},
			want: []string{"p", "v1", "v2"},
		},
		{
			name: "independent events at the same time by version, then as given",
			in: []schema.Envelope{
				event("o2", "order", 2, "", 0, ""), event("p1", "payment", 1, "", 0, ""),
				event("c1", "compensation", 1, "", 0, ""), event("o1", "order", 1, "", 0, ""),
			},
			want: []string{"p1", "c1", "o1", "o2"},
		},
		{
			name: "a cause outside the set is no constraint",
			in:   []schema.Envelope{event("late", "payment", 1, "elsewhere", 20, ""), event("early", "order", 1, "elsewhere", 10, "")},
			want: []string{"early", "late"},
		},
		{
			name: "a causation cycle does not lose events",
			in: []schema.Envelope{
				event("a", "order", 1, "b", 10, ""), event("b", "payment", 1, "a", 20, ""), event("z", "compensation", 1, "", 30, ""),
				event("self", "compensation", 2, "self", 40, ""),
			},
			want: []string{"z", "self", "a", "b"}, // an event naming itself is not a cycle
		},
		{name: "none", in: nil, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, ids(timeline.FromEvents(tt.in)))
		})
	}
}

func TestEntries(t *testing.T) {
	t.Parallel()
	got := timeline.FromEvents([]schema.Envelope{
		event("requested", "payment", 1, "created", 12, parent+" "), // tolerated whitespace
		event("created", "order", 1, "", 0, "not-a-traceparent"),
		event("declined", "payment", 2, "requested", 1012, ""),
	})
	ms := func(f float64) *float64 { return &f }
	str := func(s string) *string { return &s }
	require.Equal(t, []*model.TimelineEntry{
		{EventID: "created", Service: "order", Type: "order.created.v1", Version: 1, OccurredAt: t0},
		{
			EventID: "requested", Service: "payment", Type: "payment.requested.v1", Version: 1, OccurredAt: t0.Add(12 * time.Millisecond),
			CausationID: str("created"), TraceID: str(trace), SincePreviousMs: ms(12),
		},
		{
			EventID: "declined", Service: "payment", Type: "payment.declined.v1", Version: 2, OccurredAt: t0.Add(1012 * time.Millisecond),
			CausationID: str("requested"), SincePreviousMs: ms(1000),
		},
	}, got)
}

func TestGapsHaveSubMillisecondPrecision(t *testing.T) {
	t.Parallel()
	a := event("a", "order", 1, "", 0, "")
	b := event("b", "order", 2, "a", 0, "")
	b.OccurredAt = a.OccurredAt.Add(1500 * time.Microsecond)
	got := timeline.FromEvents([]schema.Envelope{a, b})
	require.Nil(t, got[0].SincePreviousMs)
	require.InDelta(t, 1.5, *got[1].SincePreviousMs, 1e-9)
}
