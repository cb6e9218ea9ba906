package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/platform/broker"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/inbox"
	"github.com/orderflow/orderflow/platform/logging"
	"github.com/orderflow/orderflow/platform/pgmigrate"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

func produce(t *testing.T, topic string, msgs ...*kafka.Message) {
	t.Helper()
	produceTo(t, topic, kafka.PartitionAny, msgs...)
}

// produceTo produces msgs to one partition of topic (any: kafka.PartitionAny).
func produceTo(t *testing.T, topic string, partition int32, msgs ...*kafka.Message) {
	t.Helper()
	p, err := kafka.NewProducer(broker.ProducerConfig(testenv.KafkaBrokers()))
	require.NoError(t, err)
	defer p.Close()
	delivery := make(chan kafka.Event, len(msgs))
	for _, m := range msgs {
		m.TopicPartition = kafka.TopicPartition{Topic: &topic, Partition: partition}
		require.NoError(t, p.Produce(m, delivery))
	}
	for range msgs {
		require.NoError(t, (<-delivery).(*kafka.Message).TopicPartition.Error, "delivered")
	}
}

func event(t *testing.T, codec *schema.Codec, orderID string, payload schema.Event) (schema.Envelope, *kafka.Message) {
	t.Helper()
	env := schema.New(schema.AggregateOrder, orderID, payload, schema.Cause{CorrelationID: orderID}, time.Now())
	env.Version = 1
	b, err := codec.Encode(env)
	require.NoError(t, err)
	return env, &kafka.Message{Key: []byte(orderID), Value: b,
		Headers: []kafka.Header{{Key: schema.HeaderEventID, Value: []byte(env.ID)}}}
}

func TestConsumerAppliesEachEventOnceAndDeadLettersPoison(t *testing.T) {
	ctx := testenv.Context(t, 2*time.Minute)
	topic := testenv.KafkaTopic(t, 3)
	dlq := testenv.KafkaTopic(t, 1)
	pool := testenv.PostgresPool(t)
	require.NoError(t, pgmigrate.Run(ctx, pool, inbox.Migrations()))
	_, err := pool.Exec(ctx, `CREATE TABLE effects (order_id text PRIMARY KEY, applied int NOT NULL)`)
	require.NoError(t, err)
	codec := schema.NewCodec(schema.NewRegistry())

	key := uuid.NewString() // every message on one key: one partition, so poison must not block the rest
	paid := func() schema.Event { return schema.OrderPaid{OrderID: key, PaymentID: uuid.NewString(), Amount: 1} }
	envA, msgA := event(t, codec, key, paid())
	envB, msgB := event(t, codec, key, paid())
	envC, msgC := event(t, codec, key, paid())
	_, msgBroken := event(t, codec, key, schema.OrderCancelled{OrderID: key, Reason: "BROKEN"})

	unknown := []byte(`{"id":"` + uuid.NewString() + `","type":"order.teleported.v1","aggregateType":"order","aggregateId":"x","version":1,"occurredAt":"2026-01-01T00:00:00Z","correlationId":"` + key + `","causationId":"","data":{}}`)
	missing := []byte(`{"id":"` + uuid.NewString() + `","type":"order.paid.v1","aggregateType":"order","aggregateId":"x","version":1,"occurredAt":"2026-01-01T00:00:00Z","correlationId":"` + key + `","causationId":"","data":{"orderId":"x"}}`)

	var flakyAttempts atomic.Int32
	handler := inbox.Handler(eventstore.New(pool, codec), "test-consumer", func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		if c, ok := msg.Envelope.Payload.(schema.OrderCancelled); ok && c.Reason == "BROKEN" {
			return consumer.Permanent(errors.New("broken invariant: cannot cancel"))
		}
		if msg.Envelope.ID == envC.ID && flakyAttempts.Add(1) <= 2 {
			return errors.New("database hiccup")
		}
		_, err := tx.Exec(ctx, `INSERT INTO effects (order_id, applied) VALUES ($1, 1)
			ON CONFLICT (order_id) DO UPDATE SET applied = effects.applied + 1`, msg.Envelope.ID)
		return err
	})

	group := testenv.UniqueName("group")
	c, err := consumer.New(consumer.Config{
		Brokers: testenv.KafkaBrokers(), Group: group, Topics: []string{topic}, DeadLetterTopic: dlq,
		RetryInitial: 20 * time.Millisecond,
	}, codec, handler, logging.New(os.Stderr, "test", slog.LevelWarn))
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { require.NoError(t, c.Run(runCtx)) })

	produce(t, topic,
		msgA,
		&kafka.Message{Key: []byte(key), Value: []byte("{not json")},
		&kafka.Message{Key: []byte(key), Value: unknown},
		&kafka.Message{Key: []byte(key), Value: missing},
		msgBroken,
		msgA, // redelivered: same event id
		msgB,
		msgC, // fails twice, then succeeds
		msgA,
	)

	applied := func(id string) int {
		var n int
		err := pool.QueryRow(ctx, "SELECT applied FROM effects WHERE order_id = $1", id).Scan(&n)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0
		}
		require.NoError(t, err)
		return n
	}
	testenv.Eventually(t, 60*time.Second, func() error {
		if applied(envC.ID) == 0 {
			return errors.New("the last good message was not handled yet")
		}
		return nil
	})
	stop()
	wg.Wait()

	require.Equal(t, 1, applied(envA.ID), "A applied once although delivered three times")
	require.Equal(t, 1, applied(envB.ID), "B, after the poison messages, applied")
	require.Equal(t, 1, applied(envC.ID), "C applied once after two transient failures")
	require.EqualValues(t, 3, flakyAttempts.Load())

	dead := testenv.ReadTopic(t, dlq, 4, 30*time.Second, time.Second)
	require.Len(t, dead, 4)
	reasons := []string{"invalid character", "order.teleported.v1", "paymentId", "broken invariant"}
	for i, m := range dead {
		require.Contains(t, testenv.Header(m, consumer.HeaderDLQReason), reasons[i])
		require.Equal(t, topic, testenv.Header(m, consumer.HeaderDLQTopic))
		require.NotEmpty(t, testenv.Header(m, consumer.HeaderDLQPartition))
		require.NotEmpty(t, testenv.Header(m, consumer.HeaderDLQOffset))
		require.Equal(t, group, testenv.Header(m, consumer.HeaderDLQGroup))
	}

	// Graceful shutdown committed every handled offset: a new member of the
	// group starts after the last message.
	requireCommittedToEnd(t, group, topic)
}

func requireCommittedToEnd(t *testing.T, group, topic string) {
	t.Helper()
	require.NoError(t, committedToEnd(t, group, topic))
}

// committedToEnd reports whether group's committed offset of every
// non-empty partition of topic is the partition's end.
func committedToEnd(t *testing.T, group, topic string) error {
	t.Helper()
	for p, o := range committed(t, group, topic) {
		if o.end > 0 && o.committed != o.end {
			return fmt.Errorf("partition %d: committed %d, end %d", p, o.committed, o.end)
		}
	}
	return nil
}

type offsets struct {
	committed int64 // kafka.OffsetInvalid (-1001) if none
	end       int64
}

// committed returns group's committed offset and the end of each partition
// of topic.
func committed(t *testing.T, group, topic string) []offsets {
	t.Helper()
	kc, err := kafka.NewConsumer(broker.ConsumerConfig(testenv.KafkaBrokers(), group))
	require.NoError(t, err)
	defer kc.Close()
	n, err := broker.Partitions(kc, topic, 10*time.Second)
	require.NoError(t, err)
	tps := make([]kafka.TopicPartition, n)
	for p := range n {
		tps[p] = kafka.TopicPartition{Topic: &topic, Partition: int32(p)}
	}
	tps, err = kc.Committed(tps, 10_000)
	require.NoError(t, err)
	out := make([]offsets, n)
	for _, tp := range tps {
		_, high, err := kc.QueryWatermarkOffsets(topic, tp.Partition, 10_000)
		require.NoError(t, err)
		out[tp.Partition] = offsets{committed: int64(tp.Offset), end: high}
	}
	return out
}
