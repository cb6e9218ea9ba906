package eventstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/pgmigrate"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

func newStore(t *testing.T) (*eventstore.Store, *pgxpool.Pool) {
	t.Helper()
	pool := testenv.PostgresPool(t)
	require.NoError(t, pgmigrate.Run(context.Background(), pool, eventstore.Migrations()))
	return eventstore.New(pool, schema.NewCodec(schema.NewRegistry())), pool
}

func paid(orderID string, amount int64) schema.Envelope {
	return schema.New(schema.AggregateOrder, orderID,
		schema.OrderPaid{OrderID: orderID, PaymentID: uuid.NewString(), Amount: amount},
		schema.Cause{CorrelationID: orderID, CausationID: uuid.NewString()}, time.Now())
}

func TestConcurrentAppendsAtTheSameVersionOneWins(t *testing.T) {
	store, pool := newStore(t)
	ctx := testenv.Context(t, time.Minute)
	orderID := uuid.NewString()
	stream := eventstore.StreamID{Type: schema.AggregateOrder, ID: orderID}

	_, err := store.Append(ctx, stream, eventstore.NewStream, []schema.Envelope{paid(orderID, 1)})
	require.NoError(t, err)

	const writers = 20
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		results = make([]error, writers)
	)
	for i := range writers {
		wg.Go(func() {
			<-start
			_, results[i] = store.Append(ctx, stream, 1, []schema.Envelope{paid(orderID, int64(i+2)), paid(orderID, 1000)})
		})
	}
	close(start)
	wg.Wait()

	wins := 0
	for _, err := range results {
		if err == nil {
			wins++
			continue
		}
		require.ErrorIs(t, err, eventstore.ErrConcurrency)
	}
	require.Equal(t, 1, wins, "exactly one append at version 1 wins")

	events, err := store.Load(ctx, stream)
	require.NoError(t, err)
	require.Len(t, events, 3)
	for i, e := range events {
		require.Equal(t, i+1, e.Version, "no gap, no duplicate")
	}

	var outboxRows, eventRows int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM outbox").Scan(&outboxRows))
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM events").Scan(&eventRows))
	require.Equal(t, 3, eventRows, "losers wrote no events")
	require.Equal(t, 3, outboxRows, "losers wrote no outbox rows")
}

func TestAppendRules(t *testing.T) {
	store, _ := newStore(t)
	ctx := testenv.Context(t, time.Minute)

	orderID := uuid.NewString()
	stream := eventstore.StreamID{Type: schema.AggregateOrder, ID: orderID}
	_, err := store.Append(ctx, stream, eventstore.NewStream, []schema.Envelope{paid(orderID, 5)})
	require.NoError(t, err)

	tests := []struct {
		name     string
		expected int
		events   []schema.Envelope
		wantErr  error
		mention  string
	}{
		{"new stream that exists", eventstore.NewStream, []schema.Envelope{paid(orderID, 1)}, eventstore.ErrConcurrency, "exists"},
		{"stale version", 7, []schema.Envelope{paid(orderID, 1)}, eventstore.ErrConcurrency, "version 7"},
		{"invalid payload", 1, []schema.Envelope{schema.New(schema.AggregateOrder, orderID, schema.OrderPaid{OrderID: orderID},
			schema.Cause{CorrelationID: orderID}, time.Now())}, schema.ErrInvalid, "paymentId"},
		{"duplicate event id", 1, func() []schema.Envelope { e := paid(orderID, 1); return []schema.Envelope{e, e} }(), eventstore.ErrConcurrency, "event_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := store.Append(ctx, stream, tt.expected, tt.events)
			require.ErrorIs(t, err, tt.wantErr)
			require.Contains(t, err.Error(), tt.mention)
		})
	}

	events, err := store.Load(ctx, stream)
	require.NoError(t, err)
	require.Len(t, events, 1, "failed appends stored nothing")

	got, err := store.Append(ctx, stream, eventstore.AnyVersion, []schema.Envelope{paid(orderID, 2)})
	require.NoError(t, err)
	require.Equal(t, 2, got[0].Version)

	_, err = store.Load(ctx, eventstore.StreamID{Type: schema.AggregateOrder, ID: uuid.NewString()})
	require.ErrorIs(t, err, eventstore.ErrStreamNotFound)
}

func TestLoadReturnsWhatWasAppended(t *testing.T) {
	store, _ := newStore(t)
	ctx := testenv.Context(t, time.Minute)
	orderID := uuid.NewString()
	stream := eventstore.StreamID{Type: schema.AggregateOrder, ID: orderID}
	in := []schema.Envelope{paid(orderID, 10), paid(orderID, 20)}
	in[0].TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

	appended, err := store.Append(ctx, stream, eventstore.NewStream, in)
	require.NoError(t, err)
	loaded, err := store.Load(ctx, stream)
	require.NoError(t, err)
	require.Len(t, loaded, 2)
	for i := range loaded {
		require.Equal(t, appended[i].ID, loaded[i].ID)
		require.Equal(t, appended[i].Payload, loaded[i].Payload)
		require.Equal(t, appended[i].TraceParent, loaded[i].TraceParent)
		require.Equal(t, appended[i].CausationID, loaded[i].CausationID)
		require.WithinDuration(t, appended[i].OccurredAt, loaded[i].OccurredAt, time.Microsecond)
	}
}

func TestIdempotencyKeyReturnsTheFirstResult(t *testing.T) {
	store, pool := newStore(t)
	ctx := testenv.Context(t, time.Minute)

	create := func(key eventstore.CommandKey) (string, error) {
		orderID := uuid.NewString()
		stream := eventstore.StreamID{Type: schema.AggregateOrder, ID: orderID}
		for {
			var result string
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				first, err := eventstore.ClaimKeyTx(ctx, tx, key, stream, 1)
				if err != nil {
					return err
				}
				if first != nil {
					result = first.Stream.ID
					return nil
				}
				_, err = store.AppendTx(ctx, tx, stream, eventstore.NewStream, []schema.Envelope{paid(orderID, 1)})
				result = orderID
				return err
			})
			if errors.Is(err, eventstore.ErrConcurrency) {
				continue
			}
			return result, err
		}
	}

	key := eventstore.CommandKey{Scope: "create-order", Key: "k1", Fingerprint: "same-input"}
	var (
		wg  sync.WaitGroup
		ids = make([]string, 10)
	)
	for i := range ids {
		wg.Go(func() {
			id, err := create(key)
			require.NoError(t, err)
			ids[i] = id
		})
	}
	wg.Wait()
	for _, id := range ids {
		require.Equal(t, ids[0], id, "every retry returns the first order")
	}
	var streams int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM streams").Scan(&streams))
	require.Equal(t, 1, streams, "the command appended once")

	_, err := create(eventstore.CommandKey{Scope: "create-order", Key: "k1", Fingerprint: "other-input"})
	require.ErrorIs(t, err, eventstore.ErrIdempotencyConflict)
}
