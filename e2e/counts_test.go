package e2e_test

import (
	"context"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/platform/broker"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

// kafkaEventCount is how many events a deployment's event topics hold (the
// relay publishes each committed event exactly once).
func kafkaEventCount(t *testing.T, prefix string) int {
	t.Helper()
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers()})
	require.NoError(t, err)
	defer admin.Close()
	total := 0
	for _, topic := range schema.TopicsWithPrefix(prefix).Events() {
		n, err := broker.Partitions(admin, topic, 10*time.Second)
		require.NoError(t, err)
		c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers(), "group.id": "count"})
		require.NoError(t, err)
		for p := range n {
			low, high, err := c.QueryWatermarkOffsets(topic, int32(p), 10_000)
			require.NoError(t, err)
			total += int(high - low)
		}
		c.Close()
	}
	return total
}

// streamMessageCount is how many messages a JetStream stream holds.
func streamMessageCount(stream string) (int, error) {
	nc, err := nats.Connect(testenv.NATSURL())
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return int(info.State.Msgs), nil
}
