package consumer_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/logging"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

// byKey is what a handler was given: event ids in arrival order, per key
// (so per partition).
type byKey struct {
	mu   sync.Mutex
	ids  map[string][]string
	work time.Duration // each message takes this long: the handler trails the fetching
}

func (b *byKey) handler() consumer.Handler {
	return consumer.PerMessage(func(ctx context.Context, msg consumer.Message) error {
		time.Sleep(b.work)
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.ids == nil {
			b.ids = map[string][]string{}
		}
		b.ids[msg.Envelope.CorrelationID] = append(b.ids[msg.Envelope.CorrelationID], msg.Envelope.ID)
		return nil
	})
}

// events returns n events spread over keys, and their ids per key.
func events(t *testing.T, keys []string, n int) ([]*kafka.Message, map[string][]string) {
	t.Helper()
	codec := schema.NewCodec(schema.NewRegistry())
	ids := map[string][]string{}
	var msgs []*kafka.Message
	for i := range n {
		key := keys[i%len(keys)]
		env, m := event(t, codec, key, schema.OrderPaid{OrderID: key, PaymentID: uuid.NewString(), Amount: 1})
		ids[key] = append(ids[key], env.ID)
		msgs = append(msgs, m)
	}
	return msgs, ids
}

// produceInTransaction produces msgs in one committed Kafka transaction, so
// that the partition ends with a transaction marker, not a message.
func produceInTransaction(t *testing.T, ctx context.Context, topic string, msgs ...*kafka.Message) {
	t.Helper()
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers(), "transactional.id": testenv.UniqueName("tx")})
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.InitTransactions(ctx))
	require.NoError(t, p.BeginTransaction())
	delivery := make(chan kafka.Event, len(msgs))
	for _, m := range msgs {
		m.TopicPartition = kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny}
		require.NoError(t, p.Produce(m, delivery))
	}
	require.NoError(t, p.CommitTransaction(ctx))
}

func readToEnd(t *testing.T, ctx context.Context, topic, group string, h consumer.Handler, whileRunning func()) error {
	t.Helper()
	c, err := consumer.New(consumer.Config{
		Brokers: testenv.KafkaBrokers(), Group: group, Topics: []string{topic}, StopAtEnd: true,
		RetryInitial: 20 * time.Millisecond,
	}, schema.NewCodec(schema.NewRegistry()), h, logging.New(os.Stderr, "test", slog.LevelWarn))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	select {
	case <-c.Assigned():
	case err := <-done:
		return err
	}
	if whileRunning != nil {
		whileRunning()
	}
	select {
	case err := <-done:
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return within 60s")
		return nil
	}
}

func TestStopAtEndReadsEveryPartitionToItsEndAndReturns(t *testing.T) {
	keys := []string{uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()}

	t.Run("to the end each partition had at the start, committing nothing, again next time", func(t *testing.T) {
		ctx := testenv.Context(t, 2*time.Minute)
		topic := testenv.KafkaTopic(t, 3)
		group := testenv.UniqueName("rebuild")
		msgs, want := events(t, keys, 30)
		produce(t, topic, msgs...)
		late, lateIDs := events(t, keys, 5)

		got := byKey{work: 50 * time.Millisecond}
		require.NoError(t, readToEnd(t, ctx, topic, group, got.handler(), func() { produce(t, topic, late...) }))
		require.Equal(t, want, got.ids, "every message there at the start, once, in partition order; none appended later")
		for p, o := range committed(t, group, topic) {
			require.Equal(t, int64(kafka.OffsetInvalid), o.committed, "partition %d: nothing committed", p)
		}

		var again byKey
		require.NoError(t, readToEnd(t, ctx, topic, group, again.handler(), nil))
		for key, ids := range lateIDs {
			want[key] = append(want[key], ids...)
		}
		require.Equal(t, want, again.ids, "the same group reads everything again, the later messages too")
	})

	t.Run("a partition ending with a transaction marker", func(t *testing.T) {
		ctx := testenv.Context(t, 2*time.Minute)
		topic := testenv.KafkaTopic(t, 1)
		msgs, want := events(t, keys, 5)
		produceInTransaction(t, ctx, topic, msgs...)
		var got byKey
		require.NoError(t, readToEnd(t, ctx, topic, testenv.UniqueName("rebuild"), got.handler(), nil))
		require.Equal(t, want, got.ids)
	})

	t.Run("an empty topic", func(t *testing.T) {
		ctx := testenv.Context(t, time.Minute)
		var got byKey
		require.NoError(t, readToEnd(t, ctx, testenv.KafkaTopic(t, 2), testenv.UniqueName("rebuild"), got.handler(), nil))
		require.Empty(t, got.ids)
	})

	t.Run("stopped before the end, it does not report success", func(t *testing.T) {
		ctx := testenv.Context(t, time.Minute)
		topic := testenv.KafkaTopic(t, 1)
		msgs, _ := events(t, keys, 3)
		produce(t, topic, msgs...)
		runCtx, cancel := context.WithCancel(ctx)
		attempted := make(chan struct{})
		var once sync.Once
		failing := func(ctx context.Context, msgs []consumer.Message) error {
			once.Do(func() { close(attempted) })
			return errors.New("redis is down")
		}
		err := readToEnd(t, runCtx, topic, testenv.UniqueName("rebuild"), failing, func() {
			<-attempted
			cancel()
		})
		require.ErrorIs(t, err, context.Canceled)
	})
}
