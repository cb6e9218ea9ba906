package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/e2e/clients"
	"github.com/orderflow/orderflow/e2e/harness"
	"github.com/orderflow/orderflow/platform/testenv"
)

type timelineEntry struct {
	EventID         string    `json:"eventId"`
	Service         string    `json:"service"`
	Type            string    `json:"type"`
	Version         int       `json:"version"`
	OccurredAt      time.Time `json:"occurredAt"`
	CausationID     *string   `json:"causationId"`
	TraceID         *string   `json:"traceId"`
	SincePreviousMs *float64  `json:"sincePreviousMs"`
}

const timelineQuery = `query($id: ID!) { orderTimeline(id: $id) {
	eventId service type version occurredAt causationId traceId sincePreviousMs } }`

func queryTimeline(ctx context.Context, g clients.GraphQL, id string) ([]timelineEntry, clients.Response, error) {
	var out struct {
		OrderTimeline []timelineEntry `json:"orderTimeline"`
	}
	r, err := g.Do(ctx, timelineQuery, map[string]any{"id": id}, &out)
	return out.OrderTimeline, r, err
}

// withTraceParent sends a client's W3C trace context with every request.
type withTraceParent string

func (tp withTraceParent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("traceparent", string(tp))
	return http.DefaultTransport.RoundTrip(r)
}

// TestOrderTimelineOfADeclinedOrder: the timeline of a declined order holds
// every event of its three streams once, causes before effects, and shows
// the whole compensation chain from the order's creation to its
// cancellation, all in the trace the client started; GraphiQL shows it.
func TestOrderTimelineOfADeclinedOrder(t *testing.T) {
	sys := harness.Start(t, binDir, harness.Options{})
	ctx := testenv.Context(t, 3*time.Minute)
	customer := sys.GraphiQLCustomer // GraphiQL's headers pane holds its token
	g := gqlAPI(sys, "gateway", customer)
	const trace = "0af7651916cd43dd8448eb211c80319c"
	traced := g
	traced.HTTP = &http.Client{Timeout: 30 * time.Second, Transport: withTraceParent("00-" + trace + "-b7ad6b7169203331-01")}

	o := createViaAPI(t, traced, orderInput(customer, "tok_chargeDeclined"))
	waitViaAPI(t, g, o.ID, "CANCELLED", "DECLINED")

	// The mirror may be a moment behind the read model: wait until the
	// timeline holds every event the deployment's topics hold (this
	// order's only) and the order's cancellation.
	var got []timelineEntry
	testenv.Eventually(t, settle, func() error {
		entries, r, err := queryTimeline(ctx, g, o.ID)
		if err != nil {
			return err
		}
		if err := r.Err(); err != nil {
			return err
		}
		if want := kafkaEventCount(t, sys.Prefix); len(entries) != want {
			return fmt.Errorf("the timeline holds %d of the %d events", len(entries), want)
		}
		if n := len(entries); n == 0 || entries[n-1].Type != "order.cancelled.v1" {
			return fmt.Errorf("the timeline does not end with the cancellation yet: %v", types(entries))
		}
		got = entries
		return nil
	})

	at := map[string]int{} // event id → index
	versions := map[string]int{}
	for i, e := range got {
		_, dup := at[e.EventID]
		require.False(t, dup, "event %s is on the timeline twice", e.EventID)
		at[e.EventID] = i
		require.Contains(t, []string{"order", "payment", "compensation"}, e.Service)
		require.True(t, strings.HasPrefix(e.Type, e.Service+"."), "%s is an event of %s", e.Type, e.Service)
		versions[e.Service]++
		require.Equal(t, versions[e.Service], e.Version, "each stream in version order, without gaps: %s", e.Type)
		require.NotNil(t, e.TraceID, "%s has a trace id", e.Type)
		require.Equal(t, trace, *e.TraceID, "%s is in the client's trace", e.Type)
		if i == 0 {
			require.Nil(t, e.SincePreviousMs)
			continue
		}
		require.NotNil(t, e.SincePreviousMs, "%s", e.Type)
		require.GreaterOrEqual(t, *e.SincePreviousMs, 0.0, "%s", e.Type)
		require.InDelta(t, float64(e.OccurredAt.Sub(got[i-1].OccurredAt))/float64(time.Millisecond), *e.SincePreviousMs, 1e-6)
	}
	for i, e := range got {
		require.NotNil(t, e.CausationID, "%s has a cause", e.Type)
		if c, ok := at[*e.CausationID]; ok {
			require.Less(t, c, i, "%s comes after its cause %s", e.Type, got[c].Type)
		} else {
			require.Equal(t, 0, i, "only the first event is caused by something outside the timeline (the request): %s", e.Type)
		}
	}
	require.ElementsMatch(t, []string{
		"order.created.v1", "compensation.saga_started.v1", "payment.requested.v1", "payment.declined.v1",
		"compensation.cancellation_decided.v1", "order.cancellation_requested.v1",
		"compensation.cancellation_started.v1", "compensation.cancellation_completed.v1", "order.cancelled.v1",
	}, types(got))

	// The chain of causes from the cancellation back to the creation.
	var chain []string
	for i := len(got) - 1; ; {
		chain = append([]string{got[i].Type}, chain...)
		c, ok := at[*got[i].CausationID]
		if !ok {
			break
		}
		i = c
	}
	require.Equal(t, []string{
		"order.created.v1", "payment.requested.v1", "payment.declined.v1", "compensation.cancellation_decided.v1",
		"order.cancellation_requested.v1", "compensation.cancellation_completed.v1", "order.cancelled.v1",
	}, chain)

	// Another customer's order answers as an unknown one; an admin reads it.
	asB := gqlAPI(sys, "gateway", uuid.NewString())
	notFound := func(id string) clients.GraphQLError {
		_, r, err := queryTimeline(ctx, asB, id)
		require.NoError(t, err)
		require.Len(t, r.Errors, 1)
		require.Equal(t, "null", string(r.Data))
		return r.Errors[0]
	}
	unknown := uuid.NewString()
	refused, missing := notFound(o.ID), notFound(unknown)
	require.Equal(t, "NOT_FOUND", refused.Code())
	require.Equal(t, strings.ReplaceAll(missing.Message, unknown, o.ID), refused.Message, "answered exactly as an unknown id")

	asAdmin := g.As(sys.Token(uuid.NewString(), true))
	seen, r, err := queryTimeline(ctx, asAdmin, o.ID)
	require.NoError(t, err)
	require.NoError(t, r.Err())
	require.Equal(t, got, seen, "an admin reads the same timeline")

	result, requests, err := clients.CheckGraphiQL(ctx, t, sys.URL("gateway"),
		`{ orderTimeline(id: "`+o.ID+`") { service type sincePreviousMs traceId } }`)
	require.NoError(t, err)
	require.Contains(t, result, `"compensation.cancellation_decided.v1"`)
	require.Contains(t, result, `"order.cancelled.v1"`)
	require.Contains(t, result, trace)
	requireLocal(t, requests)
	sys.CheckInvariants()
}

// An order created without a trace context gets one from the gateway: its
// events share a trace id of their own.
func TestOrderTimelineStartsATrace(t *testing.T) {
	sys := harness.Start(t, binDir, harness.Options{})
	ctx := testenv.Context(t, 2*time.Minute)
	customer := uuid.NewString()
	g := gqlAPI(sys, "gateway", customer)
	first := createViaAPI(t, g, orderInput(customer, "tok_visa"))
	second := createViaAPI(t, g, orderInput(customer, "tok_visa"))
	traceOf := func(id string) string {
		waitViaAPI(t, g, id, "PAID", "CAPTURED")
		var trace string
		testenv.Eventually(t, settle, func() error {
			trace = ""
			entries, r, err := queryTimeline(ctx, g, id)
			if err != nil {
				return err
			}
			if err := r.Err(); err != nil {
				return err
			}
			if !slices.Contains(types(entries), "order.paid.v1") {
				return fmt.Errorf("the timeline has no order.paid.v1 yet: %v", types(entries))
			}
			for _, e := range entries {
				if e.TraceID == nil {
					return fmt.Errorf("%s has no trace id", e.Type)
				}
				if trace == "" {
					trace = *e.TraceID
				}
				if *e.TraceID != trace {
					return fmt.Errorf("%s is in trace %s, the order's first event in %s", e.Type, *e.TraceID, trace)
				}
			}
			return nil
		})
		return trace
	}
	require.NotEqual(t, traceOf(first.ID), traceOf(second.ID), "each order is its own trace")
}

func types(entries []timelineEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Type
	}
	return out
}
