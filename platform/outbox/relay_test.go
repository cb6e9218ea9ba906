package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/logging"
	"github.com/orderflow/orderflow/platform/outbox"
	"github.com/orderflow/orderflow/platform/pgmigrate"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

// relayProcessEnv makes the test binary act as a relay process (see TestMain),
// so that a test can SIGKILL a real relay mid-batch.
const relayProcessEnv = "OUTBOX_TEST_RELAY_DSN"

func TestMain(m *testing.M) {
	if dsn := os.Getenv(relayProcessEnv); dsn != "" {
		os.Exit(runRelayProcess(dsn))
	}
	os.Exit(m.Run())
}

func runRelayProcess(dsn string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer pool.Close()
	batch, _ := strconv.Atoi(os.Getenv("OUTBOX_TEST_BATCH"))
	relay := outbox.New(outbox.Config{Brokers: testenv.KafkaBrokers(), BatchSize: batch}, pool,
		logging.New(os.Stderr, "relay-process", slog.LevelInfo))
	if err := relay.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

type fixture struct {
	store *eventstore.Store
	pool  *pgxpool.Pool
	dsn   string
	topic string
}

func newFixture(t *testing.T, partitions int) fixture {
	t.Helper()
	dsn := testenv.PostgresDatabase(t)
	pool, err := pgxpool.New(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, pgmigrate.Run(context.Background(), pool, eventstore.Migrations()))
	topic := testenv.KafkaTopic(t, partitions)
	store := eventstore.New(pool, schema.NewCodec(schema.NewRegistry()),
		eventstore.WithTopics(func(string) (string, error) { return topic, nil }))
	return fixture{store: store, pool: pool, dsn: dsn, topic: topic}
}

// appendStreams appends perStream events to each of streams orders, one event
// per append, the orders concurrently. It returns the order ids.
func (f fixture) appendStreams(t *testing.T, ctx context.Context, streams, perStream int) []string {
	t.Helper()
	ids := make([]string, streams)
	var wg sync.WaitGroup
	for i := range ids {
		ids[i] = uuid.NewString()
		wg.Go(func() {
			stream := eventstore.StreamID{Type: schema.AggregateOrder, ID: ids[i]}
			for v := range perStream {
				env := schema.New(schema.AggregateOrder, ids[i],
					schema.OrderPaid{OrderID: ids[i], PaymentID: uuid.NewString(), Amount: int64(v + 1)},
					schema.Cause{CorrelationID: ids[i], CausationID: uuid.NewString()}, time.Now())
				if _, err := f.store.Append(ctx, stream, v, []schema.Envelope{env}); err != nil {
					t.Errorf("append: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	return ids
}

// requireExactlyOnceInOrder checks that the topic holds every event exactly
// once, and each order's events in version order.
func (f fixture) requireExactlyOnceInOrder(t *testing.T, total int) {
	t.Helper()
	msgs := testenv.ReadTopic(t, f.topic, total, 60*time.Second, 2*time.Second)
	seen := map[string]int{}
	lastVersion := map[string]int{}
	for _, m := range msgs {
		id := testenv.Header(m, schema.HeaderEventID)
		seen[id]++
		require.Equal(t, 1, seen[id], "event %s published more than once", id)
		key := string(m.Key)
		v, err := strconv.Atoi(testenv.Header(m, schema.HeaderVersion))
		require.NoError(t, err)
		require.Equal(t, lastVersion[key]+1, v, "order %s: version %d after %d", key, v, lastVersion[key])
		lastVersion[key] = v
		require.Equal(t, key, testenv.Header(m, schema.HeaderCorrelationID))
	}
	require.Len(t, seen, total, "every committed event reached Kafka")

	var left int
	require.NoError(t, f.pool.QueryRow(context.Background(), "SELECT count(*) FROM outbox").Scan(&left))
	require.Zero(t, left, "the outbox is drained")
}

// run runs relay until the test ends, and then requires that it stopped
// without an error.
func run(t *testing.T, ctx context.Context, relay *outbox.Relay) {
	t.Helper()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- relay.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		require.NoError(t, <-done)
	})
}

func TestTwoRelaysPublishEveryEventOnceInStreamOrder(t *testing.T) {
	f := newFixture(t, 3)
	ctx := testenv.Context(t, 2*time.Minute)
	log := logging.New(os.Stderr, "test", slog.LevelWarn)

	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	relays := []*outbox.Relay{
		outbox.New(outbox.Config{Brokers: testenv.KafkaBrokers(), BatchSize: 50}, f.pool, log),
		outbox.New(outbox.Config{Brokers: testenv.KafkaBrokers(), BatchSize: 50}, f.pool, log),
	}
	for _, r := range relays {
		wg.Go(func() { require.NoError(t, r.Run(runCtx)) })
	}

	f.appendStreams(t, ctx, 40, 10)
	f.requireExactlyOnceInOrder(t, 400)
	stop()
	wg.Wait()

	published := relays[0].Stats().Published + relays[1].Stats().Published
	require.EqualValues(t, 400, published)
	require.True(t, relays[0].Stats().Published == 0 || relays[1].Stats().Published == 0,
		"only the relay holding the lock publishes")
}

func TestRelayKilledMidBatchLosesAndDuplicatesNothing(t *testing.T) {
	f := newFixture(t, 3)
	ctx := testenv.Context(t, 3*time.Minute)
	const streams, perStream = 100, 20
	f.appendStreams(t, ctx, streams, perStream)

	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), relayProcessEnv+"="+f.dsn, "OUTBOX_TEST_BATCH=25")
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		return cmd
	}
	outboxRows := func() int {
		var n int
		require.NoError(t, f.pool.QueryRow(ctx, "SELECT count(*) FROM outbox").Scan(&n))
		return n
	}

	// Kill three relays with SIGKILL while they are publishing.
	for kill := 1; kill <= 3; kill++ {
		before := outboxRows()
		cmd := start()
		testenv.Eventually(t, 60*time.Second, func() error {
			if n := outboxRows(); n > before-100 {
				return fmt.Errorf("relay %d has not published yet (%d rows left)", kill, n)
			}
			return nil
		})
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()
		require.Positive(t, outboxRows(), "killed before the outbox drained")
	}

	// A fresh relay finishes the job.
	cmd := start()
	testenv.Eventually(t, 60*time.Second, func() error {
		if n := outboxRows(); n > 0 {
			return fmt.Errorf("%d rows left", n)
		}
		return nil
	})
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait())

	f.requireExactlyOnceInOrder(t, streams*perStream)
}

func TestRelayWaitsOutAKafkaOutage(t *testing.T) {
	f := newFixture(t, 3)
	ctx := testenv.Context(t, 4*time.Minute)
	// A short delivery timeout makes the relay give up on the batch in hand
	// while Kafka is down, so the session restart and recovery run too.
	relay := outbox.New(outbox.Config{Brokers: testenv.KafkaBrokers(), BatchSize: 50, DeliveryTimeout: 3 * time.Second},
		f.pool, logging.New(os.Stderr, "test", slog.LevelInfo))
	run(t, ctx, relay)

	var wg sync.WaitGroup
	wg.Go(func() { f.appendStreams(t, ctx, 20, 15) }) // appends go on throughout
	testenv.Eventually(t, 30*time.Second, func() error {
		if relay.Stats().Published == 0 {
			return fmt.Errorf("nothing published yet")
		}
		return nil
	})

	testenv.StopKafka(t)
	f.appendStreams(t, ctx, 20, 5) // committed while Kafka is away
	time.Sleep(4 * time.Second)    // past the delivery timeout
	testenv.Infra(t, "up")
	wg.Wait()

	f.requireExactlyOnceInOrder(t, 20*15+20*5)
	require.Greater(t, relay.Stats().Sessions, int64(1), "the relay started a new session after the outage")
}

func TestRelayPublishesRowsThatCommitLate(t *testing.T) {
	f := newFixture(t, 3)
	ctx := testenv.Context(t, 2*time.Minute)
	relay := outbox.New(outbox.Config{Brokers: testenv.KafkaBrokers(), BatchSize: 10, PollInterval: 100 * time.Millisecond},
		f.pool, logging.New(os.Stderr, "test", slog.LevelWarn))
	run(t, ctx, relay)

	// Two transactions take outbox ids and stay open...
	open := func() pgx.Tx {
		tx, err := f.pool.Begin(ctx)
		require.NoError(t, err)
		id := uuid.NewString()
		env := schema.New(schema.AggregateOrder, id, schema.OrderPaid{OrderID: id, PaymentID: uuid.NewString(), Amount: 1},
			schema.Cause{CorrelationID: id, CausationID: uuid.NewString()}, time.Now())
		_, err = f.store.AppendTx(ctx, tx, eventstore.StreamID{Type: schema.AggregateOrder, ID: id}, eventstore.NewStream, []schema.Envelope{env})
		require.NoError(t, err)
		return tx
	}
	late, rolledBack := open(), open()

	// ...while later appends commit and are published past them.
	f.appendStreams(t, ctx, 10, 5)
	testenv.Eventually(t, 30*time.Second, func() error {
		if n := relay.Stats().Published; n != 50 {
			return fmt.Errorf("%d of 50 published", n)
		}
		return nil
	})

	require.NoError(t, rolledBack.Rollback(ctx))
	require.NoError(t, late.Commit(ctx))
	f.requireExactlyOnceInOrder(t, 51)
	require.EqualValues(t, 51, relay.Stats().Published)
}

func TestAStoreWakesItsLocalRelayWithoutNotifyOrPoll(t *testing.T) {
	f := newFixture(t, 3)
	ctx := testenv.Context(t, 2*time.Minute)
	// No notifier runs and the relay never polls: only the store's direct
	// wake-up can make it publish.
	relay := outbox.New(outbox.Config{Brokers: testenv.KafkaBrokers(), PollInterval: time.Hour},
		f.pool, logging.New(os.Stderr, "test", slog.LevelWarn))
	require.False(t, relay.Wake(), "a relay that is not running is not the active one")
	f.store = eventstore.New(f.pool, schema.NewCodec(schema.NewRegistry()),
		eventstore.WithTopics(func(string) (string, error) { return f.topic, nil }),
		eventstore.WithLocalRelay(relay))

	run(t, ctx, relay)
	testenv.Eventually(t, 30*time.Second, func() error {
		if !relay.Wake() {
			return fmt.Errorf("the relay is not active yet")
		}
		return nil
	})

	f.appendStreams(t, ctx, 5, 4)
	f.requireExactlyOnceInOrder(t, 20)
}

// TestRowsHandedOverByCommitsArePublishedOnceInOrder: transactions of the
// relay's process hand it their outbox rows; those that are the next ones go
// out without a fetch, the others (after a rolled-back append took an id,
// or commits that finish out of id order) are fetched — every event once,
// each stream in order, whichever way it went.
func TestRowsHandedOverByCommitsArePublishedOnceInOrder(t *testing.T) {
	f := newFixture(t, 3)
	ctx := testenv.Context(t, 2*time.Minute)
	relay := outbox.New(outbox.Config{Brokers: testenv.KafkaBrokers(), PollInterval: time.Hour},
		f.pool, logging.New(os.Stderr, "test", slog.LevelWarn))
	f.store = eventstore.New(f.pool, schema.NewCodec(schema.NewRegistry()),
		eventstore.WithTopics(func(string) (string, error) { return f.topic, nil }),
		eventstore.WithLocalRelay(relay))
	run(t, ctx, relay)
	testenv.Eventually(t, 30*time.Second, func() error {
		if !relay.Wake() {
			return fmt.Errorf("the relay is not active yet")
		}
		return nil
	})

	event := func(order string, v int) schema.Envelope {
		return schema.New(schema.AggregateOrder, order,
			schema.OrderPaid{OrderID: order, PaymentID: uuid.NewString(), Amount: int64(v)},
			schema.Cause{CorrelationID: order, CausationID: uuid.NewString()}, time.Now())
	}
	// Eight writers, each committing ten units of work that append to two
	// streams of its own (the multi-stream statement), every third unit
	// followed by one that appends and rolls back, and one of them taking a
	// savepoint first (its rows are then read back, not handed over).
	const writers, units = 8, 10
	var wg sync.WaitGroup
	for w := range writers {
		a, b := uuid.NewString(), uuid.NewString()
		wg.Go(func() {
			for u := range units {
				err := f.store.Tx(ctx, func(tx pgx.Tx) error {
					if w == 0 && u == 5 {
						sp, err := tx.Begin(ctx)
						if err != nil {
							return err
						}
						if err := sp.Commit(ctx); err != nil {
							return err
						}
					}
					_, err := f.store.AppendManyTx(ctx, tx, []eventstore.StreamAppend{
						{Stream: eventstore.StreamID{Type: schema.AggregateOrder, ID: a}, Expected: u, Events: []schema.Envelope{event(a, u+1)}},
						{Stream: eventstore.StreamID{Type: schema.AggregateOrder, ID: b}, Expected: u, Events: []schema.Envelope{event(b, u+1)}},
					})
					return err
				})
				if err != nil {
					t.Errorf("unit of work: %v", err)
					return
				}
				if u%3 == 0 {
					rolledBack := errors.New("rolled back on purpose")
					err := f.store.Tx(ctx, func(tx pgx.Tx) error {
						_, err := f.store.AppendTx(ctx, tx, eventstore.StreamID{Type: schema.AggregateOrder, ID: uuid.NewString()},
							eventstore.NewStream, []schema.Envelope{event(uuid.NewString(), 1)})
						if err != nil {
							return err
						}
						return rolledBack
					})
					if !errors.Is(err, rolledBack) {
						t.Errorf("rolled-back unit: %v", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()

	// Then one writer alone, as at a low rate: once the gaps the others
	// left are closed, its commits' rows are the next ones and go out as
	// they were handed over.
	alone := uuid.NewString()
	for u := range units {
		require.NoError(t, f.store.Tx(ctx, func(tx pgx.Tx) error {
			_, err := f.store.AppendTx(ctx, tx, eventstore.StreamID{Type: schema.AggregateOrder, ID: alone}, u,
				[]schema.Envelope{event(alone, u+1)})
			return err
		}))
		time.Sleep(50 * time.Millisecond) // not an assertion: a low rate, one commit at a time
	}
	f.requireExactlyOnceInOrder(t, writers*units*2+units)
	require.Positive(t, relay.Stats().HandedOver, "the lone writer's rows went out without a fetch")
	t.Logf("%d of %d rows handed over", relay.Stats().HandedOver, writers*units*2+units)
}
