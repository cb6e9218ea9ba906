package eventstore_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

func TestClaimKeysTxClaimsManyKeysAtOnce(t *testing.T) {
	store, pool := newStore(t)
	ctx := testenv.Context(t, time.Minute)
	scope := "test/" + uuid.NewString()
	key := func(k, fingerprint string) eventstore.CommandKey {
		return eventstore.CommandKey{Scope: scope, Key: k, Fingerprint: fingerprint}
	}
	stream := func() eventstore.StreamID {
		return eventstore.StreamID{Type: schema.AggregateOrder, ID: uuid.NewString()}
	}

	earlier := stream()
	require.NoError(t, store.Tx(ctx, func(tx pgx.Tx) error {
		_, err := eventstore.ClaimKeysTx(ctx, tx, []eventstore.KeyClaim{{Key: key("old", "f"), Stream: earlier, Version: 1}})
		return err
	}))

	claims := []eventstore.KeyClaim{
		{Key: key("new", "f"), Stream: stream(), Version: 1},
		{Key: key("old", "f"), Stream: stream(), Version: 1},
		{Key: key("old", "other"), Stream: stream(), Version: 1},
		{Key: key("new", "f"), Stream: stream(), Version: 1},
		{Key: key("new", "other"), Stream: stream(), Version: 1},
		{Key: key("fresh", "f"), Stream: stream(), Version: 1},
	}
	var got []eventstore.ClaimedKey
	require.NoError(t, store.Tx(ctx, func(tx pgx.Tx) error {
		var err error
		got, err = eventstore.ClaimKeysTx(ctx, tx, claims)
		return err
	}))
	want := []eventstore.ClaimedKey{
		{},
		{First: &eventstore.FirstResult{Stream: earlier, Version: 1}},
		{Err: eventstore.ErrIdempotencyConflict},
		{First: &eventstore.FirstResult{Stream: claims[0].Stream, Version: 1}},
		{Err: eventstore.ErrIdempotencyConflict},
		{},
	}
	for i := range want {
		require.Equal(t, want[i], got[i], "claim %d (%s, %s)", i, claims[i].Key.Key, claims[i].Key.Fingerprint)
	}

	var stored []string
	rows, err := pool.Query(ctx, `SELECT stream_id FROM command_keys WHERE scope = $1 ORDER BY key`, scope)
	require.NoError(t, err)
	stored, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{claims[5].Stream.ID, claims[0].Stream.ID, earlier.ID}, stored,
		"fresh, new, old: each key stored once, by its first claim")
}
