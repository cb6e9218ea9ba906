package inbox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/inbox"
	"github.com/orderflow/orderflow/platform/pgmigrate"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

func newInbox(t *testing.T) (context.Context, *pgxpool.Pool) {
	t.Helper()
	ctx := testenv.Context(t, time.Minute)
	pool := testenv.PostgresPool(t)
	require.NoError(t, pgmigrate.Run(ctx, pool, inbox.Migrations()))
	return ctx, pool
}

func message(id string, offset int64) consumer.Message {
	return consumer.Message{Envelope: schema.Envelope{ID: id}, Offset: offset}
}

// claim runs ClaimMessages in a transaction of its own, committed, and
// returns the offsets of the messages it says are fresh.
func claim(t *testing.T, ctx context.Context, pool *pgxpool.Pool, name string, msgs ...consumer.Message) []int64 {
	t.Helper()
	var fresh []int64
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		got, err := inbox.ClaimMessages(ctx, tx, name, msgs)
		for _, m := range got {
			fresh = append(fresh, m.Offset)
		}
		return err
	}))
	return fresh
}

func TestClaimMessagesGivesEachEventOnceInOrder(t *testing.T) {
	ctx, pool := newInbox(t)
	a, b, c, d, e, f := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	steps := []struct {
		name  string
		msgs  []consumer.Message
		fresh []int64 // offsets
	}{
		{"a batch repeating a message: its first occurrence, the rest in order",
			[]consumer.Message{message(a, 1), message(b, 2), message(a, 3), message(c, 4), message(b, 5)}, []int64{1, 2, 4}},
		{"claimed ones are not fresh again, new ones and their repeats once",
			[]consumer.Message{message(c, 6), message(d, 7), message(d, 8), message(a, 9), message(e, 10)}, []int64{7, 10}},
		{"a batch of claimed ones only", []consumer.Message{message(e, 11), message(a, 12)}, nil},
		{"another spelling of a claimed id is the same event",
			[]consumer.Message{message(strings.ToUpper(b), 13), message("{"+c+"}", 14)}, nil},
		{"another spelling of a new id is new, once", []consumer.Message{message(strings.ToUpper(f), 15), message(f, 16)}, []int64{15}},
		{"one message already claimed", []consumer.Message{message(d, 17)}, nil},
		{"one new message", []consumer.Message{message(uuid.NewString(), 18)}, []int64{18}},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			require.Equal(t, step.fresh, claim(t, ctx, pool, "test", step.msgs...))
		})
	}

	t.Run("another consumer has its own inbox", func(t *testing.T) {
		require.Equal(t, []int64{1, 2}, claim(t, ctx, pool, "other", message(a, 1), message(b, 2)))
	})
	t.Run("a claim rolled back claims nothing", func(t *testing.T) {
		g := uuid.NewString()
		tx, err := pool.Begin(ctx)
		require.NoError(t, err)
		got, err := inbox.ClaimMessages(ctx, tx, "test", []consumer.Message{message(g, 1), message(a, 2)})
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.NoError(t, tx.Rollback(ctx))
		require.Equal(t, []int64{1}, claim(t, ctx, pool, "test", message(g, 1), message(a, 2)))
	})
}
