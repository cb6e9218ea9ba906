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

func TestConfigTypesPassesOverOtherTypesWithoutDecodingThem(t *testing.T) {
	ctx := testenv.Context(t, 2*time.Minute)
	topic := testenv.KafkaTopic(t, 3)
	dlq := testenv.KafkaTopic(t, 1)
	codec := schema.NewCodec(schema.NewRegistry())

	key := uuid.NewString()
	typed := func(payload schema.Event) (string, *kafka.Message) {
		env, m := event(t, codec, key, payload)
		m.Headers = append(m.Headers, kafka.Header{Key: schema.HeaderEventType, Value: []byte(env.Type)})
		return env.ID, m
	}
	// An unlisted type's body is not even JSON: decoded, it would be
	// dead-lettered.
	unlisted := func() *kafka.Message {
		return &kafka.Message{Key: []byte(key), Value: []byte("{not json"),
			Headers: []kafka.Header{{Key: schema.HeaderEventType, Value: []byte("order.cancelled.v1")}}}
	}
	paid := func() schema.Event { return schema.OrderPaid{OrderID: key, PaymentID: uuid.NewString(), Amount: 1} }
	idA, msgA := typed(paid())
	idB, msgB := typed(paid())
	envC, msgC := event(t, codec, key, paid()) // no type header: handed on
	unlistedValid, msgD := typed(schema.OrderCancelled{OrderID: key, Reason: "CUSTOMER"})
	produce(t, topic, msgA, unlisted(), msgD, msgB, unlisted(), msgC, unlisted())

	var mu sync.Mutex
	var got []string
	handler := consumer.PerMessage(func(ctx context.Context, msg consumer.Message) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, msg.Envelope.ID)
		return nil
	})
	group := testenv.UniqueName("group")
	c, err := consumer.New(consumer.Config{
		Brokers: testenv.KafkaBrokers(), Group: group, Topics: []string{topic}, DeadLetterTopic: dlq,
		Types: []string{schema.TypeOrderPaid},
	}, codec, handler, logging.New(os.Stderr, "test", slog.LevelWarn))
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { require.NoError(t, c.Run(runCtx)) })
	testenv.Eventually(t, 60*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(got) < 3 {
			return errors.New("not every listed message arrived yet")
		}
		return nil
	})
	// Then messages of unlisted types only, in batches of their own: their
	// offsets are stored too, or the group would never be committed to the end.
	produce(t, topic, unlisted(), unlisted())
	testenv.Eventually(t, 60*time.Second, func() error { return committedToEnd(t, group, topic) })
	stop()
	wg.Wait()

	require.Equal(t, []string{idA, idB, envC.ID}, got, "the listed type and the untyped message, in order")
	require.NotContains(t, got, unlistedValid)
	require.Empty(t, testenv.ReadTopic(t, dlq, 1, 3*time.Second, 0), "unlisted messages were not decoded (nor dead-lettered)")
}
