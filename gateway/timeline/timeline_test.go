package timeline_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/gateway/internal/eventtest"
	"github.com/orderflow/orderflow/gateway/mirror"
	"github.com/orderflow/orderflow/gateway/timeline"
	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

var discard = slog.New(slog.DiscardHandler)

// publish puts envs on their subjects as the mirror does: the encoded
// envelope with the Kafka headers, deduplicated by event id. A repeat is
// published without an id, as a replay after the deduplication window is
// stored.
func publish(t *testing.T, js jetstream.JetStream, s mirror.Stream, repeat bool, envs ...schema.Envelope) {
	t.Helper()
	codec := schema.NewCodec(schema.NewRegistry())
	ctx := testenv.Context(t, 10*time.Second)
	for _, env := range envs {
		b, err := codec.Encode(env)
		require.NoError(t, err)
		msg := &nats.Msg{Subject: s.Subject(env.CorrelationID, env.AggregateType), Header: nats.Header{}, Data: b}
		for _, h := range schema.MessageHeaders(env) {
			msg.Header.Add(h.Key, h.Value)
		}
		var opts []jetstream.PublishOpt
		if !repeat {
			opts = append(opts, jetstream.WithMsgID(env.ID))
		}
		_, err = js.PublishMsg(ctx, msg, opts...)
		require.NoError(t, err)
	}
}

// declined is a declined order's saga, each event caused by the one
// before it (the compensation's start by the creation), in one trace.
func declined(saga *eventtest.Saga, traceparent string) []schema.Envelope {
	created := saga.Created()
	created.CausationID = "request-" + saga.OrderID
	started, requested := saga.SagaStarted(), saga.Requested()
	started.CausationID, requested.CausationID = created.ID, created.ID
	out := []schema.Envelope{created, started, requested}
	prev := requested
	for _, env := range []schema.Envelope{
		saga.Declined("card_declined"),
		saga.Compensation(schema.CancellationDecided{OrderID: saga.OrderID, Reason: schema.ReasonPaymentDeclined}),
		saga.CancelRequested(schema.ReasonPaymentDeclined),
		saga.Compensation(schema.CancellationStarted{OrderID: saga.OrderID, Reason: schema.ReasonPaymentDeclined}),
	} {
		env.CausationID = prev.ID
		out, prev = append(out, env), env
	}
	completed := saga.Compensation(schema.CancellationCompleted{OrderID: saga.OrderID, Reason: schema.ReasonPaymentDeclined})
	completed.CausationID = out[5].ID // the cancellation request
	cancelled := saga.Cancelled(schema.ReasonPaymentDeclined)
	cancelled.CausationID = completed.ID
	out = append(out, completed, cancelled)
	for i := range out {
		out[i].TraceParent = traceparent
	}
	return out
}

func TestTimelineFromJetStream(t *testing.T) {
	eventtest.UsesNATS(t)
	_, js := eventtest.NATS(t)
	name, prefix := eventtest.StreamNames(t, js)
	s := mirror.Stream{Name: name, SubjectPrefix: prefix}
	ctx := testenv.Context(t, 30*time.Second)
	_, err := mirror.EnsureStream(ctx, js, s)
	require.NoError(t, err)

	saga := eventtest.NewSaga(uuid.NewString(), time.Now().Add(-time.Minute))
	envs := declined(saga, parent)
	other := eventtest.NewSaga(uuid.NewString(), time.Now().Add(-time.Minute))
	// The mirror publishes each topic's events in order, the topics
	// interleaved: here the order's first, then the payment's, then the
	// compensation's; another order's between them.
	byStream := map[string][]schema.Envelope{}
	for _, env := range envs {
		byStream[env.AggregateType] = append(byStream[env.AggregateType], env)
	}
	publish(t, js, s, false, byStream[schema.AggregateOrder]...)
	publish(t, js, s, false, other.DeclinePath()...)
	publish(t, js, s, false, byStream[schema.AggregatePayment]...)
	publish(t, js, s, false, byStream[schema.AggregateCompensation]...)
	publish(t, js, s, true, envs[2], envs[3]) // replayed after the deduplication window
	_, err = js.Publish(ctx, s.Subject(saga.OrderID, schema.AggregateOrder), []byte("not an envelope"))
	require.NoError(t, err)

	r := timeline.New(js, timeline.Config{Stream: name, SubjectPrefix: prefix}, discard)
	got, err := r.Timeline(ctx, saga.OrderID)
	require.NoError(t, err)
	want := make([]string, len(envs))
	for i, env := range envs {
		want[i] = env.ID
	}
	require.Equal(t, want, ids(got), "each event once, in causal order")
	for i, e := range got {
		require.Equal(t, envs[i].Type, e.Type)
		require.Equal(t, envs[i].AggregateType, e.Service)
		require.Equal(t, envs[i].Version, e.Version)
		require.True(t, envs[i].OccurredAt.Equal(e.OccurredAt))
		require.Equal(t, envs[i].CausationID, *e.CausationID)
		require.Equal(t, trace, *e.TraceID)
		if i == 0 {
			require.Nil(t, e.SincePreviousMs)
		} else {
			require.InDelta(t, 1.0, *e.SincePreviousMs, 1e-9, "the saga's events are 1 ms apart")
		}
	}

	t.Run("an order without events has an empty timeline", func(t *testing.T) {
		got, err := r.Timeline(ctx, uuid.NewString())
		require.NoError(t, err)
		require.Empty(t, got)
	})
	t.Run("at most MaxEvents messages are read", func(t *testing.T) {
		short := timeline.New(js, timeline.Config{Stream: name, SubjectPrefix: prefix, MaxEvents: 3}, discard)
		got, err := short.Timeline(ctx, saga.OrderID)
		require.NoError(t, err)
		require.Equal(t, []string{envs[0].ID, envs[5].ID, envs[8].ID}, ids(got), "the order's own three events, the first in the stream")
	})
	t.Run("another deployment's subjects are not read", func(t *testing.T) {
		elsewhere := timeline.New(js, timeline.Config{Stream: name, SubjectPrefix: "elsewhere."}, discard)
		got, err := elsewhere.Timeline(ctx, saga.OrderID)
		require.NoError(t, err)
		require.Empty(t, got)
	})
}

func TestTimelineUnavailable(t *testing.T) {
	eventtest.UsesNATS(t)
	ctx := testenv.Context(t, 30*time.Second)
	t.Run("no stream", func(t *testing.T) {
		_, js := eventtest.NATS(t)
		r := timeline.New(js, timeline.Config{Stream: testenv.UniqueName("MISSING")}, discard)
		_, err := r.Timeline(ctx, uuid.NewString())
		e, ok := model.AsError(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, model.CodeUnavailable, e.Code)
		require.Contains(t, e.Message, "has not mirrored any event into NATS JetStream")
	})
	t.Run("NATS not reachable", func(t *testing.T) {
		// A connection that keeps retrying a port nobody listens on, as the
		// gateway's does while NATS is down.
		nc, err := nats.Connect("nats://127.0.0.1:1", nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1),
			nats.NoCallbacksAfterClientClose())
		require.NoError(t, err)
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		require.NoError(t, err)
		r := timeline.New(js, timeline.Config{}, discard)
		start := time.Now()
		_, err = r.Timeline(ctx, uuid.NewString())
		e, ok := model.AsError(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, model.CodeUnavailable, e.Code)
		require.Equal(t, "the order's timeline cannot be read at the moment: the gateway cannot reach NATS JetStream, "+
			"where the events are mirrored; try again shortly", e.Message)
		require.Less(t, time.Since(start), time.Second, "answered at once, not at the request's timeout")
	})
	t.Run("the request ends", func(t *testing.T) {
		_, js := eventtest.NATS(t)
		r := timeline.New(js, timeline.Config{}, discard)
		done, cancel := context.WithCancel(ctx)
		cancel()
		_, err := r.Timeline(done, uuid.NewString())
		require.ErrorIs(t, err, context.Canceled)
	})
}
