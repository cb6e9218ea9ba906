package consumer_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
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
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

// crashingConsumerEnv makes the test binary act as a consumer that commits
// its first batch and then hangs until killed (see TestMain), so that a test
// can SIGKILL it between the commit and the offset store. Its value is
// "dsn topic group".
const crashingConsumerEnv = "CONSUMER_TEST_CRASHING"

func TestMain(m *testing.M) {
	if args := os.Getenv(crashingConsumerEnv); args != "" {
		os.Exit(runCrashingConsumer(strings.Fields(args)))
	}
	os.Exit(m.Run())
}

// runCrashingConsumer handles its first batch through inbox.Batch, prints
// "committed <ids>" once the transaction committed, and never returns from
// the handler: the batch's offsets are never stored.
func runCrashingConsumer(args []string) int {
	ctx := context.Background()
	dsn, topic, group := args[0], args[1], args[2]
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	codec := schema.NewCodec(schema.NewRegistry())
	batch := inbox.Batch(eventstore.New(pool, codec), "test-consumer", func(ctx context.Context, tx pgx.Tx, msgs []consumer.Message) error {
		for _, msg := range msgs {
			if err := apply(ctx, tx, msg); err != nil {
				return err
			}
		}
		return nil
	})
	handler := func(ctx context.Context, msgs []consumer.Message) error {
		if err := batch(ctx, msgs); err != nil {
			return err
		}
		ids := make([]string, len(msgs))
		for i, m := range msgs {
			ids[i] = m.Envelope.ID
		}
		fmt.Println("committed", strings.Join(ids, ","))
		select {} // killed here
	}
	c, err := consumer.New(consumer.Config{Brokers: testenv.KafkaBrokers(), Group: group, Topics: []string{topic}},
		codec, handler, logging.New(os.Stderr, "crashing-consumer", slog.LevelWarn))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := c.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func TestABatchRedeliveredAfterACrashBetweenCommitAndOffsetsChangesNothingTwice(t *testing.T) {
	ctx := testenv.Context(t, 3*time.Minute)
	topic := testenv.KafkaTopic(t, 3)
	dsn := testenv.PostgresDatabase(t)
	db := newEffectsDB(t, ctx, dsn)
	codec := schema.NewCodec(schema.NewRegistry())
	group := testenv.UniqueName("group")

	key := uuid.NewString()
	var ids []string
	var msgs []*kafka.Message
	for range 10 {
		env, m := event(t, codec, key, schema.OrderPaid{OrderID: key, PaymentID: uuid.NewString(), Amount: 1})
		ids, msgs = append(ids, env.ID), append(msgs, m)
	}
	produce(t, topic, msgs...)

	// The first member commits a batch, then dies before storing offsets.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashingConsumerEnv+"="+strings.Join([]string{dsn, topic, group}, " "))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	committedLine := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			if line, ok := strings.CutPrefix(scanner.Text(), "committed "); ok {
				committedLine <- line
				return
			}
		}
	}()
	var first []string
	select {
	case line := <-committedLine:
		first = strings.Split(line, ",")
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the first member committed nothing within 60s")
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()

	applied := db.applied(t, ctx)
	for _, id := range first {
		require.Equal(t, 1, applied[id], "the first member's transaction committed before it died")
	}
	for p, o := range committed(t, group, topic) {
		require.Less(t, o.committed, int64(0), "partition %d: no offset was committed before the crash", p)
	}

	// A new member of the group gets the same messages again.
	var mu sync.Mutex
	var given, fresh []string
	batch := inbox.Batch(db.store, "test-consumer", func(ctx context.Context, tx pgx.Tx, msgs []consumer.Message) error {
		mu.Lock()
		for _, m := range msgs {
			fresh = append(fresh, m.Envelope.ID)
		}
		mu.Unlock()
		for _, msg := range msgs {
			if err := apply(ctx, tx, msg); err != nil {
				return err
			}
		}
		return nil
	})
	handler := func(ctx context.Context, msgs []consumer.Message) error {
		mu.Lock()
		for _, m := range msgs {
			given = append(given, m.Envelope.ID)
		}
		mu.Unlock()
		return batch(ctx, msgs)
	}
	c, err := consumer.New(consumer.Config{Brokers: testenv.KafkaBrokers(), Group: group, Topics: []string{topic}},
		codec, handler, logging.New(os.Stderr, "test", slog.LevelWarn))
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { require.NoError(t, c.Run(runCtx)) })
	// The dead member holds its partitions until its session times out.
	testenv.Eventually(t, 90*time.Second, func() error {
		if n := len(db.applied(t, ctx)); n < len(ids) {
			return fmt.Errorf("%d of %d messages applied", n, len(ids))
		}
		return committedToEnd(t, group, topic)
	})
	stop()
	wg.Wait()

	for _, id := range first {
		require.Contains(t, given, id, "the first member's messages were delivered again")
		require.NotContains(t, fresh, id, "and the inbox gave none of them to the handler as fresh")
	}
	want := map[string]int{}
	for _, id := range ids {
		want[id] = 1
	}
	require.Equal(t, want, db.applied(t, ctx), "each effect applied once")
	require.ElementsMatch(t, ids, slices.Concat(first, fresh), "every message fresh exactly once over both members")
}
