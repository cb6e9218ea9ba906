package eventstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/schema"
)

// total is a toy aggregate: the sum of the amounts an order was paid.
type total struct {
	id     string
	amount int64
	events int
}

func newTotals(store *eventstore.Store) *eventstore.Repository[total] {
	return eventstore.NewRepository(store, schema.AggregateOrder,
		func(id string) total { return total{id: id} },
		func(t total, env schema.Envelope) (total, error) {
			p, ok := env.Payload.(schema.OrderPaid)
			if !ok {
				return t, errors.New("not a payment")
			}
			t.amount += p.Amount
			t.events++
			return t, nil
		})
}

func TestAUnitLoadsManyStreamsAndSavesThemInOneAppend(t *testing.T) {
	store, pool := newStore(t)
	ctx := context.Background()
	repo := newTotals(store)
	a, b, fresh := uuid.NewString(), uuid.NewString(), uuid.NewString()
	_, err := store.Append(ctx, eventstore.StreamID{Type: schema.AggregateOrder, ID: a}, eventstore.NewStream,
		[]schema.Envelope{paid(a, 1), paid(a, 2)})
	require.NoError(t, err)
	_, err = store.Append(ctx, eventstore.StreamID{Type: schema.AggregateOrder, ID: b}, eventstore.NewStream,
		[]schema.Envelope{paid(b, 10)})
	require.NoError(t, err)

	var saved []schema.Envelope
	require.NoError(t, store.Tx(ctx, func(tx pgx.Tx) error {
		u, err := repo.Begin(ctx, tx, a, b, fresh)
		require.NoError(t, err)
		got, version, err := u.Get(ctx, a)
		require.NoError(t, err)
		require.Equal(t, total{id: a, amount: 3, events: 2}, got)
		require.Equal(t, 2, version)

		require.NoError(t, u.Record(ctx, a, paid(a, 4)))
		require.NoError(t, u.Record(ctx, fresh, paid(fresh, 100)))
		require.NoError(t, u.Record(ctx, a, paid(a, 5)), "a second decision on the same stream sees the first")
		got, version, err = u.Get(ctx, a)
		require.NoError(t, err)
		require.Equal(t, int64(12), got.amount)
		require.Equal(t, 4, version)
		saved, err = u.Save(ctx)
		return err
	}))
	require.Len(t, saved, 3)
	require.Equal(t, []int{3, 4, 1}, []int{saved[0].Version, saved[1].Version, saved[2].Version})

	for id, want := range map[string]total{a: {id: a, amount: 12, events: 4}, b: {id: b, amount: 10, events: 1},
		fresh: {id: fresh, amount: 100, events: 1}} {
		got, _, err := repo.Load(ctx, pool, id)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	var outboxRows int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM outbox WHERE key = ANY($1)", []string{a, fresh}).Scan(&outboxRows))
	require.Equal(t, 2+2+1, outboxRows, "every event saved has its outbox row")
}

func TestAUnitWhoseStreamMovedSavesNothing(t *testing.T) {
	store, pool := newStore(t)
	ctx := context.Background()
	repo := newTotals(store)
	a, moved, fresh := uuid.NewString(), uuid.NewString(), uuid.NewString()
	for _, id := range []string{a, moved} {
		_, err := store.Append(ctx, eventstore.StreamID{Type: schema.AggregateOrder, ID: id}, eventstore.NewStream,
			[]schema.Envelope{paid(id, 1)})
		require.NoError(t, err)
	}

	err := store.Tx(ctx, func(tx pgx.Tx) error {
		u, err := repo.Begin(ctx, tx, a, moved, fresh)
		require.NoError(t, err)
		require.NoError(t, u.Record(ctx, a, paid(a, 2)))
		require.NoError(t, u.Record(ctx, moved, paid(moved, 2)))
		require.NoError(t, u.Record(ctx, fresh, paid(fresh, 2)))
		// Another writer appends to one of the streams after the unit loaded it.
		_, err = store.Append(ctx, eventstore.StreamID{Type: schema.AggregateOrder, ID: moved}, 1,
			[]schema.Envelope{paid(moved, 50)})
		require.NoError(t, err)
		_, err = u.Save(ctx)
		return err
	})
	require.ErrorIs(t, err, eventstore.ErrConcurrency)

	var events int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM events WHERE stream_id = ANY($1)",
		[]string{a, moved, fresh}).Scan(&events))
	require.Equal(t, 1+2+0, events, "nothing of the failed unit was stored, on any stream")
}

func TestAUnitCreatingAStreamThatAppearedMeanwhileSavesNothing(t *testing.T) {
	store, pool := newStore(t)
	ctx := context.Background()
	repo := newTotals(store)
	id := uuid.NewString()

	err := store.Tx(ctx, func(tx pgx.Tx) error {
		u, err := repo.Begin(ctx, tx, id)
		require.NoError(t, err)
		require.NoError(t, u.Record(ctx, id, paid(id, 2)))
		_, err = store.Append(ctx, eventstore.StreamID{Type: schema.AggregateOrder, ID: id}, eventstore.NewStream,
			[]schema.Envelope{paid(id, 7)})
		require.NoError(t, err)
		_, err = u.Save(ctx)
		return err
	})
	require.ErrorIs(t, err, eventstore.ErrConcurrency)
	got, version, err := repo.Load(ctx, pool, id)
	require.NoError(t, err)
	require.Equal(t, total{id: id, amount: 7, events: 1}, got)
	require.Equal(t, 1, version)
}

func TestAppendManyRefusesAStreamTwice(t *testing.T) {
	store, _ := newStore(t)
	ctx := context.Background()
	id := uuid.NewString()
	stream := eventstore.StreamID{Type: schema.AggregateOrder, ID: id}
	err := store.Tx(ctx, func(tx pgx.Tx) error {
		_, err := store.AppendManyTx(ctx, tx, []eventstore.StreamAppend{
			{Stream: stream, Expected: eventstore.NewStream, Events: []schema.Envelope{paid(id, 1)}},
			{Stream: stream, Expected: 1, Events: []schema.Envelope{paid(id, 1)}},
		})
		return err
	})
	require.ErrorContains(t, err, "appears twice")
}

func TestAFreshStreamIsSavedWithoutALoadAndCannotOverwriteOne(t *testing.T) {
	store, _ := newStore(t)
	ctx := context.Background()
	repo := newTotals(store)
	fresh, existing := uuid.NewString(), uuid.NewString()
	_, err := store.Append(ctx, eventstore.StreamID{Type: schema.AggregateOrder, ID: existing}, eventstore.NewStream,
		[]schema.Envelope{paid(existing, 1)})
	require.NoError(t, err)

	require.NoError(t, store.Tx(ctx, func(tx pgx.Tx) error {
		u, err := repo.Begin(ctx, tx)
		require.NoError(t, err)
		u.Fresh(fresh)
		require.NoError(t, u.Record(ctx, fresh, paid(fresh, 7)))
		_, err = u.Save(ctx)
		return err
	}))
	got, version, err := repo.Load(ctx, store.Pool(), fresh)
	require.NoError(t, err)
	require.Equal(t, total{id: fresh, amount: 7, events: 1}, got)
	require.Equal(t, 1, version)

	err = store.Tx(ctx, func(tx pgx.Tx) error {
		u, err := repo.Begin(ctx, tx)
		require.NoError(t, err)
		u.Fresh(existing)
		_, version, err := u.Get(ctx, existing)
		require.NoError(t, err)
		require.Zero(t, version, "not loaded")
		require.NoError(t, u.Record(ctx, existing, paid(existing, 100)))
		_, err = u.Save(ctx)
		return err
	})
	require.ErrorIs(t, err, eventstore.ErrConcurrency, "a stream taken to be fresh that exists")
	got, _, err = repo.Load(ctx, store.Pool(), existing)
	require.NoError(t, err)
	require.Equal(t, total{id: existing, amount: 1, events: 1}, got)
}
