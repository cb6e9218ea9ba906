package consumer_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/inbox"
	"github.com/orderflow/orderflow/platform/logging"
	"github.com/orderflow/orderflow/platform/pgmigrate"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

// effectsDB is a database with the inbox and an effects table that counts
// how many times each event was applied.
type effectsDB struct {
	pool  *pgxpool.Pool
	store *eventstore.Store
}

func newEffectsDB(t *testing.T, ctx context.Context, dsn string) effectsDB {
	t.Helper()
	pool, err := pgxpool.New(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, pgmigrate.Run(ctx, pool, inbox.Migrations()))
	_, err = pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS effects (event_id uuid PRIMARY KEY, applied int NOT NULL)`)
	require.NoError(t, err)
	return effectsDB{pool: pool, store: eventstore.New(pool, schema.NewCodec(schema.NewRegistry()))}
}

// apply is the effect of msg, inside the inbox's transaction.
func apply(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
	_, err := tx.Exec(ctx, `INSERT INTO effects (event_id, applied) VALUES ($1, 1)
		ON CONFLICT (event_id) DO UPDATE SET applied = effects.applied + 1`, msg.Envelope.ID)
	return err
}

// applied returns how many times each event was applied.
func (db effectsDB) applied(t *testing.T, ctx context.Context) map[string]int {
	t.Helper()
	rows, err := db.pool.Query(ctx, `SELECT event_id::text, applied FROM effects`)
	require.NoError(t, err)
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		require.NoError(t, rows.Scan(&id, &n))
		out[id] = n
	}
	require.NoError(t, rows.Err())
	return out
}

// batches records the event ids of every batch a handler was given.
type batches struct {
	mu  sync.Mutex
	ids [][]string
}

func (b *batches) record(msgs []consumer.Message) {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.Envelope.ID
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ids = append(b.ids, ids)
}

func (b *batches) all() [][]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.ids)
}

func TestABatchWithAPoisonMessageDeadLettersOnlyThatMessage(t *testing.T) {
	ctx := testenv.Context(t, 2*time.Minute)
	topic := testenv.KafkaTopic(t, 3)
	dlq := testenv.KafkaTopic(t, 1)
	db := newEffectsDB(t, ctx, testenv.PostgresDatabase(t))
	codec := schema.NewCodec(schema.NewRegistry())

	// Ten messages on one key, so on one partition; the fifth cannot be
	// handled. They are produced while the handler holds a gate message
	// before them, so that all ten wait in the queue and come as one batch.
	key := uuid.NewString()
	gate, gateMsg := event(t, codec, key, schema.OrderPaid{OrderID: key, PaymentID: uuid.NewString(), Amount: 1})
	var ids []string
	var msgs []*kafka.Message
	for i := range 10 {
		var payload schema.Event = schema.OrderPaid{OrderID: key, PaymentID: uuid.NewString(), Amount: 1}
		if i == 4 {
			payload = schema.OrderCancelled{OrderID: key, Reason: "BROKEN"}
		}
		env, m := event(t, codec, key, payload)
		ids, msgs = append(ids, env.ID), append(msgs, m)
	}
	poison := ids[4]
	produce(t, topic, gateMsg)

	var seen batches
	held, release := make(chan struct{}), make(chan struct{})
	handle := inbox.Handler(db.store, "test-consumer", func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		if msg.Envelope.ID == poison {
			return consumer.Permanent(errors.New("broken invariant: cannot cancel"))
		}
		return apply(ctx, tx, msg)
	})
	handler := func(ctx context.Context, msgs []consumer.Message) error {
		if msgs[0].Envelope.ID == gate.ID {
			close(held)
			<-release
		}
		seen.record(msgs)
		return handle(ctx, msgs)
	}

	group := testenv.UniqueName("group")
	c, err := consumer.New(consumer.Config{
		Brokers: testenv.KafkaBrokers(), Group: group, Topics: []string{topic}, DeadLetterTopic: dlq,
		RetryInitial: 20 * time.Millisecond,
	}, codec, handler, logging.New(os.Stderr, "test", slog.LevelWarn))
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { require.NoError(t, c.Run(runCtx)) })
	select {
	case <-held:
	case <-time.After(60 * time.Second):
		t.Fatal("the gate message did not arrive within 60s")
	}
	produce(t, topic, msgs...)
	time.Sleep(time.Second) // not an assertion: time for the ten to be fetched and queued
	close(release)
	testenv.Eventually(t, 60*time.Second, func() error {
		if n := len(db.applied(t, ctx)); n < 10 {
			return errors.New("not every good message was applied yet")
		}
		return committedToEnd(t, group, topic)
	})
	stop()
	wg.Wait()

	// The poison message came in a batch with messages before and after it.
	var poisonBatch []string
	for _, b := range seen.all() {
		if i := slices.Index(b, poison); i > 0 && i < len(b)-1 {
			poisonBatch = b
		}
	}
	require.NotNil(t, poisonBatch, "the poison message was handed in the middle of a batch; batches: %v", seen.all())

	want := map[string]int{gate.ID: 1}
	for _, id := range ids {
		if id != poison {
			want[id] = 1
		}
	}
	require.Equal(t, want, db.applied(t, ctx), "every other message applied exactly once, the poison one not at all")

	dead := testenv.ReadTopic(t, dlq, 1, 30*time.Second, 2*time.Second)
	require.Len(t, dead, 1, "only the poison message is dead-lettered")
	require.Equal(t, poison, testenv.Header(dead[0], schema.HeaderEventID))
	require.Contains(t, testenv.Header(dead[0], consumer.HeaderDLQReason), "broken invariant: cannot cancel")
	require.Equal(t, topic, testenv.Header(dead[0], consumer.HeaderDLQTopic))
	require.Equal(t, group, testenv.Header(dead[0], consumer.HeaderDLQGroup))

	requireCommittedToEnd(t, group, topic)
}
