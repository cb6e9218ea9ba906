package consumer_test

import (
	"context"
	"fmt"
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

func TestAPartitionStuckOnAMessageHoldsUpNoOtherAndLosesNothing(t *testing.T) {
	ctx := testenv.Context(t, 2*time.Minute)
	topic := testenv.KafkaTopic(t, 2)
	codec := schema.NewCodec(schema.NewRegistry())
	batch := func(n int) []*kafka.Message {
		msgs := make([]*kafka.Message, n)
		for i := range msgs {
			key := uuid.NewString()
			_, msgs[i] = event(t, codec, key, schema.OrderPaid{OrderID: key, PaymentID: uuid.NewString(), Amount: 1})
		}
		return msgs
	}

	var mu sync.Mutex
	offsets := map[int32][]int64{}
	stuck, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	handler := consumer.PerMessage(func(ctx context.Context, msg consumer.Message) error {
		if msg.Partition == 0 {
			once.Do(func() { close(stuck) })
			<-release
		}
		mu.Lock()
		defer mu.Unlock()
		offsets[msg.Partition] = append(offsets[msg.Partition], msg.Offset)
		return nil
	})
	handled := func(p int32) []int64 {
		mu.Lock()
		defer mu.Unlock()
		return append([]int64(nil), offsets[p]...)
	}

	group := testenv.UniqueName("group")
	c, err := consumer.New(consumer.Config{
		Brokers: testenv.KafkaBrokers(), Group: group, Topics: []string{topic},
		QueueSize: 2, MaxBatch: 2,
	}, codec, handler, logging.New(os.Stderr, "test", slog.LevelWarn))
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { require.NoError(t, c.Run(runCtx)) })

	// Partition 0 gets far more than its queue holds, and its handler is
	// stuck on the first of them; only then does partition 1 get messages.
	const n = 30
	produceTo(t, topic, 0, batch(n)...)
	select {
	case <-stuck:
	case <-time.After(60 * time.Second):
		t.Fatal("partition 0's first message did not arrive within 60s")
	}
	produceTo(t, topic, 1, batch(n)...)
	testenv.Eventually(t, 60*time.Second, func() error {
		if got := len(handled(1)); got < n {
			return fmt.Errorf("partition 1: %d of %d handled while partition 0 is stuck", got, n)
		}
		return nil
	})

	close(release)
	testenv.Eventually(t, 60*time.Second, func() error {
		if got := len(handled(0)); got < n {
			return fmt.Errorf("partition 0: %d of %d handled", got, n)
		}
		return committedToEnd(t, group, topic)
	})
	stop()
	wg.Wait()

	want := make([]int64, n)
	for i := range want {
		want[i] = int64(i)
	}
	require.Equal(t, want, handled(0), "partition 0, paused and resumed: every message once, in order")
	require.Equal(t, want, handled(1))
}
