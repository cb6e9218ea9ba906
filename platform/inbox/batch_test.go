package inbox_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/inbox"
	"github.com/orderflow/orderflow/platform/pgmigrate"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

func TestABatchThatLostARaceIsRunAgainAtOnceAndCommitsOnce(t *testing.T) {
	pool := testenv.PostgresPool(t)
	ctx := context.Background()
	require.NoError(t, pgmigrate.Run(ctx, pool, eventstore.Migrations(), inbox.Migrations()))
	_, err := pool.Exec(ctx, `CREATE TABLE effects (event_id uuid PRIMARY KEY)`)
	require.NoError(t, err)
	store := eventstore.New(pool, schema.NewCodec(schema.NewRegistry()))

	msgs := []consumer.Message{
		{Envelope: schema.Envelope{ID: uuid.NewString()}},
		{Envelope: schema.Envelope{ID: uuid.NewString()}},
	}
	var calls []int
	handle := inbox.Batch(store, "racer", func(ctx context.Context, tx pgx.Tx, fresh []consumer.Message) error {
		calls = append(calls, len(fresh))
		for _, m := range fresh {
			if _, err := tx.Exec(ctx, `INSERT INTO effects (event_id) VALUES ($1)`, m.Envelope.ID); err != nil {
				return err
			}
		}
		if len(calls) < 3 {
			return fmt.Errorf("save: %w", eventstore.ErrConcurrency)
		}
		return nil
	})
	require.NoError(t, handle(ctx, msgs), "two lost races are redone by Batch, not returned to the consumer")
	require.Equal(t, []int{2, 2, 2}, calls, "each attempt saw both messages as new: the lost attempts' inbox rows rolled back")

	var effects int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM effects`).Scan(&effects))
	require.Equal(t, 2, effects, "the effects of the lost attempts rolled back with them")

	calls = nil
	require.NoError(t, handle(ctx, msgs))
	require.Empty(t, calls, "a redelivered batch reaches no handler")
}

func TestABatchThatKeepsLosingRacesReturnsTheConflict(t *testing.T) {
	pool := testenv.PostgresPool(t)
	ctx := context.Background()
	require.NoError(t, pgmigrate.Run(ctx, pool, eventstore.Migrations(), inbox.Migrations()))
	store := eventstore.New(pool, schema.NewCodec(schema.NewRegistry()))
	calls := 0
	handle := inbox.Batch(store, "loser", func(context.Context, pgx.Tx, []consumer.Message) error {
		calls++
		return eventstore.ErrConcurrency
	})
	err := handle(ctx, []consumer.Message{{Envelope: schema.Envelope{ID: uuid.NewString()}}})
	require.ErrorIs(t, err, eventstore.ErrConcurrency)
	require.Equal(t, 5, calls)
}
