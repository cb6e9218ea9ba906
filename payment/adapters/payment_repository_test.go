package adapters_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/payment/adapters"
	"github.com/orderflow/orderflow/payment/domain"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/inbox"
	"github.com/orderflow/orderflow/platform/pgmigrate"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

func newRepository(t *testing.T) (*adapters.PaymentRepository, *eventstore.Store) {
	t.Helper()
	pool := testenv.PostgresPool(t)
	require.NoError(t, pgmigrate.Run(t.Context(), pool, eventstore.Migrations(), inbox.Migrations()))
	store := eventstore.New(pool, schema.NewCodec(schema.NewRegistry()))
	return adapters.NewPaymentRepository(store, "payment"), store
}

// incoming is a message the repository records as handled.
func incoming(orderID string) schema.Envelope {
	return schema.New(schema.AggregateOrder, orderID, schema.OrderPaid{OrderID: orderID, PaymentID: "p", Amount: 1},
		schema.Cause{CorrelationID: orderID, CausationID: uuid.NewString()}, time.Now())
}

func requested(t *testing.T, orderID string) schema.PaymentRequested {
	t.Helper()
	ev, err := domain.Request(schema.OrderCreated{OrderID: orderID, CustomerID: "c", Currency: "EUR",
		Items: []schema.OrderItem{{SKU: "s", Quantity: 1, UnitPrice: 500}}, Total: 500, PaymentMethod: "tok_visa"})
	require.NoError(t, err)
	return ev
}

func capture(p domain.Payment) ([]schema.Event, error) {
	if p.Status() != domain.StatusPending {
		return nil, nil
	}
	ev, err := p.Capture("ch_1")
	return []schema.Event{ev}, err
}

func TestRepositoryCreatesOnePaymentPerOrder(t *testing.T) {
	repo, store := newRepository(t)
	ctx := testenv.Context(t, 30*time.Second)
	orderID := uuid.NewString()
	ev := requested(t, orderID)
	first := incoming(orderID)

	recorded, err := repo.Create(ctx, first, ev)
	require.NoError(t, err)
	require.Len(t, recorded, 1)
	require.Equal(t, ev, recorded[0].Payload)
	recorded, err = repo.Create(ctx, first, ev)
	require.NoError(t, err)
	require.Empty(t, recorded, "the same message again is already handled")
	_, err = repo.Create(ctx, incoming(orderID), ev)
	require.ErrorIs(t, err, domain.ErrExists, "another message for the order")

	events, err := store.Load(ctx, eventstore.StreamID{Type: schema.AggregatePayment, ID: ev.PaymentID})
	require.NoError(t, err)
	require.Len(t, events, 1)
	require.Equal(t, orderID, events[0].CorrelationID)
	require.Equal(t, first.ID, events[0].CausationID)

	p, err := repo.Load(ctx, ev.PaymentID)
	require.NoError(t, err)
	require.Equal(t, domain.StatusPending, p.Status())

	_, err = repo.Load(ctx, domain.PaymentID(uuid.NewString()))
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func TestRepositoryUpdateRecordsEachMessageOnce(t *testing.T) {
	repo, _ := newRepository(t)
	ctx := testenv.Context(t, 30*time.Second)
	orderID := uuid.NewString()
	ev := requested(t, orderID)
	_, err := repo.Create(ctx, incoming(orderID), ev)
	require.NoError(t, err)

	msg := incoming(orderID)
	calls := 0
	captureCounted := func(p domain.Payment) ([]schema.Event, error) {
		calls++
		return capture(p)
	}
	require.NoError(t, repo.Update(ctx, msg, ev.PaymentID, captureCounted))
	require.NoError(t, repo.Update(ctx, msg, ev.PaymentID, captureCounted))
	require.Equal(t, 1, calls, "a handled message is not decided again")

	p, err := repo.Load(ctx, ev.PaymentID)
	require.NoError(t, err)
	require.Equal(t, domain.StatusCaptured, p.Status())
	require.Equal(t, 2, p.Version())
}

func TestRepositoryConcurrentUpdatesDecideOnTheLatestState(t *testing.T) {
	repo, store := newRepository(t)
	ctx := testenv.Context(t, 30*time.Second)
	orderID := uuid.NewString()
	ev := requested(t, orderID)
	_, err := repo.Create(ctx, incoming(orderID), ev)
	require.NoError(t, err)

	// Every writer loads the pending payment before any of them appends
	// (the pool holds 4 connections: 4 writers, each in its transaction).
	const writers = 4
	var (
		loaded   sync.WaitGroup
		attempts atomic.Int32
	)
	loaded.Add(writers)
	captureTogether := func(p domain.Payment) ([]schema.Event, error) {
		if attempts.Add(1) <= writers {
			loaded.Done()
			loaded.Wait()
		}
		return capture(p)
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Go(func() { errs <- repo.Update(ctx, incoming(orderID), ev.PaymentID, captureTogether) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err, "a writer that lost the race reloads and finds nothing to do")
	}
	require.EqualValues(t, 2*writers-1, attempts.Load(), "each loser decided twice")
	events, err := store.Load(ctx, eventstore.StreamID{Type: schema.AggregatePayment, ID: ev.PaymentID})
	require.NoError(t, err)
	require.Len(t, events, 2, "captured once")
}
