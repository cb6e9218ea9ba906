package ports_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/order/adapters/postgres"
	"github.com/orderflow/orderflow/order/app"
	"github.com/orderflow/orderflow/order/app/command"
	"github.com/orderflow/orderflow/order/domain"
	"github.com/orderflow/orderflow/order/ports"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/groupcommit"
	"github.com/orderflow/orderflow/platform/inbox"
	"github.com/orderflow/orderflow/platform/pgmigrate"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

type fixture struct {
	app     app.Application
	orders  *postgres.Orders
	handler consumer.Handler
	store   *eventstore.Store
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	pool := testenv.PostgresPool(t)
	require.NoError(t, pgmigrate.Run(context.Background(), pool, eventstore.Migrations(), inbox.Migrations()))
	store := eventstore.New(pool, schema.NewCodec(schema.NewRegistry()))
	repo := postgres.NewRepository(store)
	orders := postgres.NewOrders(repo)
	a := app.New(orders, orders, time.Now, groupcommit.Config{})
	return fixture{app: a, orders: orders, handler: ports.EventHandler(store, repo, a.Commands), store: store}
}

func (f fixture) create(t *testing.T, ctx context.Context) string {
	t.Helper()
	o, err := f.app.Commands.CreateOrder.Do(ctx, command.CreateOrder{NewOrder: domain.NewOrder{
		CustomerID: uuid.NewString(), Currency: "EUR", PaymentMethod: "tok_visa",
		Items: []domain.Item{{SKU: "book", Quantity: 1, UnitPrice: 2500}},
	}})
	require.NoError(t, err)
	return o.ID
}

func (f fixture) order(t *testing.T, ctx context.Context, id string) domain.Order {
	t.Helper()
	o, err := f.app.Queries.Order.Handle(ctx, id)
	require.NoError(t, err)
	return o
}

func message(payload schema.Event, orderID string) consumer.Message {
	aggregate := schema.AggregateCompensation
	if _, ok := payload.(schema.PaymentCaptured); ok {
		aggregate = schema.AggregatePayment
	}
	env := schema.New(aggregate, orderID, payload, schema.Cause{CorrelationID: orderID, CausationID: uuid.NewString()}, time.Now())
	env.Version = 1
	return consumer.Message{Envelope: env}
}

func TestABatchOfReactionsAppliesEachInOrderOnce(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t, time.Minute)
	paid, cancelled := f.create(t, ctx), f.create(t, ctx)
	batch := []consumer.Message{
		message(schema.PaymentCaptured{PaymentID: uuid.NewString(), OrderID: paid, Amount: 2500}, paid),
		message(schema.CancellationDecided{OrderID: cancelled, Reason: schema.ReasonPaymentDeclined}, cancelled),
		message(schema.OrderCreated{OrderID: paid}, paid), // not for the order service: skipped
		// Completing needs the decision above: it sees it in the same batch.
		message(schema.CancellationCompleted{OrderID: cancelled, Reason: schema.ReasonPaymentDeclined}, cancelled),
		// A late timeout does not cancel the order paid earlier in the batch.
		message(schema.CancellationDecided{OrderID: paid, Reason: schema.ReasonPaymentTimeout}, paid),
	}
	require.NoError(t, f.handler(ctx, batch))

	check := func() {
		t.Helper()
		p := f.order(t, ctx, paid)
		require.Equal(t, domain.StatusPaid, p.Status)
		require.Equal(t, 2, p.Version)
		c := f.order(t, ctx, cancelled)
		require.Equal(t, domain.StatusCancelled, c.Status)
		require.Equal(t, 3, c.Version)
		require.Equal(t, []string{schema.TypeOrderCreated, schema.TypeOrderCancellationRequested, schema.TypeOrderCancelled},
			[]string{c.History[0].Type, c.History[1].Type, c.History[2].Type})
	}
	check()
	var transactions, events int
	require.NoError(t, f.store.Pool().QueryRow(ctx,
		"SELECT count(DISTINCT xmin::text), count(*) FROM events WHERE version > 1").Scan(&transactions, &events))
	require.Equal(t, 1, transactions, "the batch's effects commit in one transaction")
	require.Equal(t, 3, events)

	require.NoError(t, f.handler(ctx, batch), "the batch redelivered")
	check()
	require.NoError(t, f.store.Pool().QueryRow(ctx, "SELECT count(*) FROM events").Scan(&events))
	require.Equal(t, 2+3, events, "a redelivered batch changes nothing twice")
}

func TestAPoisonMessageFailsItsBatchWholeAndThenAlone(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t, time.Minute)
	pending, other := f.create(t, ctx), f.create(t, ctx)
	good := message(schema.PaymentCaptured{PaymentID: uuid.NewString(), OrderID: pending, Amount: 2500}, pending)
	poison := message(schema.CancellationCompleted{OrderID: other, Reason: schema.ReasonCustomerRequest}, other)
	missing := uuid.NewString()
	unknown := message(schema.PaymentCaptured{PaymentID: uuid.NewString(), OrderID: missing, Amount: 1}, missing)

	for _, bad := range []consumer.Message{poison, unknown} {
		err := f.handler(ctx, []consumer.Message{good, bad})
		require.True(t, consumer.IsPermanent(err), "%v", err)
		require.Equal(t, domain.StatusPending, f.order(t, ctx, pending).Status, "nothing of the failed batch committed")
	}

	// What the consumer does next: the same messages one at a time.
	require.NoError(t, f.handler(ctx, []consumer.Message{good}))
	err := f.handler(ctx, []consumer.Message{poison})
	require.True(t, consumer.IsPermanent(err), "%v", err)
	require.ErrorContains(t, err, "not CANCELLING")
	require.Equal(t, domain.StatusPaid, f.order(t, ctx, pending).Status)
	require.Equal(t, domain.StatusPending, f.order(t, ctx, other).Status)
}
