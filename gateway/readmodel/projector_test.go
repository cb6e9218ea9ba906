package readmodel_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/gateway/internal/eventtest"
	"github.com/orderflow/orderflow/gateway/orderview"
	"github.com/orderflow/orderflow/gateway/readmodel"
	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

func TestProjectorAppliesEachEventOnceThroughKafka(t *testing.T) {
	ctx := testenv.Context(t, time.Minute)
	topicPrefix, topics := eventtest.Topics(t)
	rdb := eventtest.Redis(t)
	prefix := eventtest.RedisPrefix(t, rdb)
	k := readmodel.Kafka{Brokers: testenv.KafkaBrokers(), TopicPrefix: topicPrefix}
	store := readmodel.NewStore(rdb, prefix)
	producer := eventtest.NewProducer(t, topics)
	runProjector(t, rdb, prefix, k)

	customer := uuid.NewString()
	paid := eventtest.NewSaga(customer, time.Now().Add(-time.Hour))
	declined := eventtest.NewSaga(customer, time.Now().Add(-time.Minute))
	var events []schema.Envelope
	events = append(events, paid.HappyPath()...)
	events = append(events, declined.DeclinePath()...)
	producer.Send(events...)
	waitProjected(t, k)

	got, err := store.Order(ctx, paid.OrderID)
	require.NoError(t, err)
	require.NotNil(t, got)
	require.Equal(t, model.OrderStatusPaid, got.Status)
	require.Equal(t, &model.Payment{ID: paid.PaymentID, Status: model.PaymentStatusCaptured, Amount: 2500, Version: 2}, got.Payment)
	require.Equal(t, 2, got.Version)
	require.Len(t, got.History, 2)

	got, err = store.Order(ctx, declined.OrderID)
	require.NoError(t, err)
	require.Equal(t, model.OrderStatusCancelled, got.Status)
	require.Equal(t, schema.ReasonPaymentDeclined, *got.CancellationReason)
	require.Equal(t, model.PaymentStatusDeclined, got.Payment.Status)
	require.Equal(t, "card_declined", *got.Payment.FailureCode)

	before := snapshot(t, rdb, prefix)
	require.Len(t, before, 5, "2 documents, the customer's list, its PAID and CANCELLED lists (an empty PENDING list does not exist)")

	// Redelivery of everything, and old events arriving late, change nothing.
	producer.Send(events...)
	producer.Send(events[0], events[len(events)-1], events[2])
	waitProjected(t, k)
	require.Equal(t, before, snapshot(t, rdb, prefix))
}

func TestProjectorApplyIsIdempotent(t *testing.T) {
	ctx := testenv.Context(t, 30*time.Second)
	rdb := eventtest.Redis(t)
	prefix := eventtest.RedisPrefix(t, rdb)
	p := readmodel.NewProjector(rdb, prefix)
	s := eventtest.NewSaga(uuid.NewString(), time.Now())
	events := []schema.Envelope{s.Created(), s.Requested(), s.Captured(), s.Paid(), s.CancelRequested(schema.ReasonCustomerRequest)}

	for _, env := range events {
		changed, err := p.Apply(ctx, env)
		require.NoError(t, err)
		require.True(t, changed, env.Type)
	}
	want := snapshot(t, rdb, prefix)
	for _, env := range events {
		changed, err := p.Apply(ctx, env)
		require.NoError(t, err)
		require.False(t, changed, "redelivered %s", env.Type)
	}
	changed, err := p.Apply(ctx, s.SagaStarted())
	require.NoError(t, err)
	require.False(t, changed, "compensation events are not projected")
	require.Equal(t, want, snapshot(t, rdb, prefix))
}

func TestProjectorShowsAnOrderOnlyOnceItWasCreated(t *testing.T) {
	ctx := testenv.Context(t, 30*time.Second)
	rdb := eventtest.Redis(t)
	prefix := eventtest.RedisPrefix(t, rdb)
	p := readmodel.NewProjector(rdb, prefix)
	store := readmodel.NewStore(rdb, prefix)
	customer := uuid.NewString()
	s := eventtest.NewSaga(customer, time.Now())
	created, paid := s.Created(), s.Paid()

	apply := func(env schema.Envelope) {
		t.Helper()
		changed, err := p.Apply(ctx, env)
		require.NoError(t, err)
		require.True(t, changed, env.Type)
	}
	list := func(status *model.OrderStatus) []string {
		t.Helper()
		conn, err := store.ListOrders(ctx, model.ListQuery{CustomerID: customer, Status: status})
		require.NoError(t, err)
		var ids []string
		for _, e := range conn.Edges {
			ids = append(ids, e.Node.ID)
		}
		return ids
	}

	// The payment topic is ahead of the order topic.
	apply(s.Requested())
	apply(s.Captured())
	got, err := store.Order(ctx, s.OrderID)
	require.NoError(t, err)
	require.Nil(t, got, "not shown before OrderCreated")
	require.Empty(t, list(nil))
	exists, err := store.Exists(ctx, s.OrderID)
	require.NoError(t, err)
	require.False(t, exists)

	apply(created)
	got, err = store.Order(ctx, s.OrderID)
	require.NoError(t, err)
	require.Equal(t, model.OrderStatusPending, got.Status)
	require.Equal(t, customer, got.CustomerID)
	require.Equal(t, model.PaymentStatusCaptured, got.Payment.Status, "the early payment events were kept")
	require.Equal(t, []string{s.OrderID}, list(nil))
	require.Equal(t, []string{s.OrderID}, list(new(model.OrderStatusPending)))

	apply(paid)
	require.Equal(t, []string{s.OrderID}, list(nil))
	require.Empty(t, list(new(model.OrderStatusPending)), "moved out of the PENDING list")
	require.Equal(t, []string{s.OrderID}, list(new(model.OrderStatusPaid)))
}

func TestProjectorMergesConcurrentOrderAndPaymentEvents(t *testing.T) {
	ctx := testenv.Context(t, 30*time.Second)
	rdb := eventtest.Redis(t)
	prefix := eventtest.RedisPrefix(t, rdb)
	p := readmodel.NewProjector(rdb, prefix)
	store := readmodel.NewStore(rdb, prefix)

	// Two workers, as the consumer runs the order and payment partitions,
	// apply each order's two streams at the same time.
	var orderEvents, paymentEvents []schema.Envelope
	want := map[string]*model.Order{}
	for range 20 {
		s := eventtest.NewSaga(uuid.NewString(), time.Now())
		o := []schema.Envelope{s.Created(), s.CancelRequested(schema.ReasonCustomerRequest)}
		pay := []schema.Envelope{s.Requested(), s.Captured(), s.Refunded()}
		o = append(o, s.Cancelled(schema.ReasonCustomerRequest))
		orderEvents, paymentEvents = append(orderEvents, o...), append(paymentEvents, pay...)
		folded := &model.Order{}
		for _, env := range append(o, pay...) {
			orderview.Apply(folded, env)
		}
		want[s.OrderID] = folded
	}
	var wg sync.WaitGroup
	for _, events := range [][]schema.Envelope{orderEvents, paymentEvents} {
		wg.Go(func() {
			for _, env := range events {
				_, err := p.Apply(ctx, env)
				require.NoError(t, err)
			}
		})
	}
	wg.Wait()
	for id, w := range want {
		got, err := store.Order(ctx, id)
		require.NoError(t, err)
		require.Equal(t, w.Status, got.Status)
		require.Equal(t, w.Payment, got.Payment)
		require.Equal(t, w.Version, got.Version)
		require.Len(t, got.History, len(w.History))
	}
}

func TestStoreOrderOfUnknownIDIsNil(t *testing.T) {
	rdb := eventtest.Redis(t)
	store := readmodel.NewStore(rdb, eventtest.RedisPrefix(t, rdb))
	got, err := store.Order(context.Background(), uuid.NewString())
	require.NoError(t, err)
	require.Nil(t, got)
}

// interleavedSagas returns the order-stream and payment-stream events of n
// orders of one customer, each stream in its order, and each order as the
// per-event fold of all its events makes it.
func interleavedSagas(n int, customer string) (orderEvents, paymentEvents []schema.Envelope, want map[string]*model.Order) {
	want = map[string]*model.Order{}
	for i := range n {
		s := eventtest.NewSaga(customer, time.Now().Add(-time.Duration(i)*time.Minute))
		o := []schema.Envelope{s.Created()}
		pay := []schema.Envelope{s.Requested()}
		switch i % 3 {
		case 0:
			pay = append(pay, s.Captured())
			o = append(o, s.Paid())
		case 1:
			pay = append(pay, s.Declined("card_declined"))
			o = append(o, s.CancelRequested(schema.ReasonPaymentDeclined), s.Cancelled(schema.ReasonPaymentDeclined))
		case 2:
			pay = append(pay, s.Captured())
			o = append(o, s.Paid(), s.CancelRequested(schema.ReasonCustomerRequest))
			pay = append(pay, s.Refunded())
			o = append(o, s.Cancelled(schema.ReasonCustomerRequest))
		}
		folded := &model.Order{}
		for _, env := range append(append([]schema.Envelope{}, o...), pay...) {
			orderview.Apply(folded, env)
		}
		want[s.OrderID] = folded
		orderEvents, paymentEvents = append(orderEvents, o...), append(paymentEvents, pay...)
	}
	return orderEvents, paymentEvents, want
}

// alternate merges a and b one event from each in turn.
func alternate(a, b []schema.Envelope) []schema.Envelope {
	var out []schema.Envelope
	for i := range max(len(a), len(b)) {
		if i < len(a) {
			out = append(out, a[i])
		}
		if i < len(b) {
			out = append(out, b[i])
		}
	}
	return out
}

func chunks(events []schema.Envelope, size int) [][]schema.Envelope {
	var out [][]schema.Envelope
	for len(events) > 0 {
		n := min(size, len(events))
		out = append(out, events[:n])
		events = events[n:]
	}
	return out
}

// withoutPrefix returns a snapshot's keys without the test's prefix.
func withoutPrefix(snap map[string]string, prefix string) map[string]string {
	out := make(map[string]string, len(snap))
	for k, v := range snap {
		out[strings.TrimPrefix(k, prefix)] = v
	}
	return out
}

func TestProjectorBatchesGiveThePerEventFold(t *testing.T) {
	ctx := testenv.Context(t, time.Minute)
	rdb := eventtest.Redis(t)
	customer := uuid.NewString()
	orderEvents, paymentEvents, want := interleavedSagas(9, customer)
	all := append(append([]schema.Envelope{}, orderEvents...), paymentEvents...)

	// The reference: every event alone, each stream in its order.
	refPrefix := eventtest.RedisPrefix(t, rdb)
	ref := readmodel.NewProjector(rdb, refPrefix)
	for _, env := range all {
		_, err := ref.Apply(ctx, env)
		require.NoError(t, err)
	}
	reference := withoutPrefix(snapshot(t, rdb, refPrefix), refPrefix)

	twice := func(events []schema.Envelope) []schema.Envelope {
		var out []schema.Envelope
		for _, env := range events {
			out = append(out, env, env)
		}
		return out
	}
	tests := []struct {
		name string
		// batches of each worker; the workers run at the same time, as the
		// consumer runs an order and a payment partition.
		workers [][][]schema.Envelope
	}{
		{"one batch of both streams interleaved, each event twice, then all again",
			[][][]schema.Envelope{{append(twice(alternate(orderEvents, paymentEvents)), all...)}}},
		{"the payment stream first, then the order stream, in batches of two",
			[][][]schema.Envelope{chunks(append(append([]schema.Envelope{}, paymentEvents...), orderEvents...), 2)}},
		{"each stream in batches of three, at the same time, then each redelivered in one batch",
			[][][]schema.Envelope{append(chunks(orderEvents, 3), orderEvents), append(chunks(paymentEvents, 3), paymentEvents)}},
		{"one event per batch, then every event again in one batch",
			[][][]schema.Envelope{append(chunks(alternate(paymentEvents, orderEvents), 1), all)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := eventtest.RedisPrefix(t, rdb)
			p := readmodel.NewProjector(rdb, prefix)
			store := readmodel.NewStore(rdb, prefix)
			var wg sync.WaitGroup
			for _, batches := range tt.workers {
				wg.Go(func() {
					for _, batch := range batches {
						_, err := p.ApplyBatch(ctx, batch)
						require.NoError(t, err)
					}
				})
			}
			wg.Wait()

			for id, w := range want {
				got, err := store.Order(ctx, id)
				require.NoError(t, err)
				require.Equal(t, w, got)
			}
			require.Equal(t, reference, withoutPrefix(snapshot(t, rdb, prefix), prefix), "the same keys, documents and lists")
			for _, status := range []model.OrderStatus{model.OrderStatusPending, model.OrderStatusPaid, model.OrderStatusCancelled} {
				conn, err := store.ListOrders(ctx, model.ListQuery{CustomerID: customer, Status: &status})
				require.NoError(t, err)
				for _, e := range conn.Edges {
					require.Equal(t, want[e.Node.ID], e.Node)
				}
				var n int
				for _, w := range want {
					if w.Status == status {
						n++
					}
				}
				require.Len(t, conn.Edges, n, "orders listed as %s", status)
			}
		})
	}
}

func TestProjectorApplyBatchCountsTheEventsThatChangedSomething(t *testing.T) {
	ctx := testenv.Context(t, 30*time.Second)
	rdb := eventtest.Redis(t)
	p := readmodel.NewProjector(rdb, eventtest.RedisPrefix(t, rdb))
	s := eventtest.NewSaga(uuid.NewString(), time.Now())
	created, requested, captured, paid := s.Created(), s.Requested(), s.Captured(), s.Paid()

	n, err := p.ApplyBatch(ctx, []schema.Envelope{created, requested, created, s.SagaStarted()})
	require.NoError(t, err)
	require.Equal(t, 2, n, "a repeat and a compensation event change nothing")
	n, err = p.ApplyBatch(ctx, []schema.Envelope{requested, created, captured, paid, captured})
	require.NoError(t, err)
	require.Equal(t, 2, n, "only the capture and the payment are new")
}
