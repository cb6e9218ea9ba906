package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/logging"
	"github.com/orderflow/orderflow/platform/metrics"
	"github.com/orderflow/orderflow/platform/metrics/metricstest"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

// A partition whose handler keeps failing shows a lag that does not go
// down while its retries climb, and the other partition's lag drains; once
// the handler recovers, the lag is gone and every message counted once by
// how it ended.
func TestAStuckPartitionShowsAsLag(t *testing.T) {
	ctx := testenv.Context(t, time.Minute)
	topic := testenv.KafkaTopic(t, 2)
	dlq := testenv.KafkaTopic(t, 1)
	codec := schema.NewCodec(schema.NewRegistry())
	paid := func() *kafka.Message {
		key := uuid.NewString()
		_, m := event(t, codec, key, schema.OrderPaid{OrderID: key, PaymentID: uuid.NewString(), Amount: 1})
		return m
	}
	_, poison := event(t, codec, uuid.NewString(), schema.OrderCancelled{OrderID: "x", Reason: "BROKEN"})

	var healthy atomic.Bool
	handler := consumer.PerMessage(func(_ context.Context, msg consumer.Message) error {
		if _, ok := msg.Envelope.Payload.(schema.OrderCancelled); ok {
			return consumer.Permanent(errors.New("broken invariant"))
		}
		if msg.Partition == 0 && !healthy.Load() {
			return errors.New("database unavailable")
		}
		return nil
	})

	reg := metrics.New()
	srv := httptest.NewServer(reg.Handler())
	t.Cleanup(srv.Close)
	group := testenv.UniqueName("group")
	c, err := consumer.New(consumer.Config{
		Brokers: testenv.KafkaBrokers(), Group: group, Topics: []string{topic}, DeadLetterTopic: dlq,
		RetryInitial: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond,
		Metrics: consumer.NewMetrics(reg), LagInterval: 100 * time.Millisecond,
	}, codec, handler, logging.New(os.Stderr, "test", slog.LevelError))
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { require.NoError(t, c.Run(runCtx)) })
	<-c.Assigned()

	produceTo(t, topic, 0, paid(), paid(), paid(), paid(), paid())
	produceTo(t, topic, 1, paid(), poison, paid())

	series := func(name string, labels ...string) float64 {
		v, _ := metricstest.Get(t, srv.URL).Value(name, append([]string{"group", group, "topic", topic}, labels...)...)
		return v
	}
	lag := func(p string) (float64, bool) {
		return metricstest.Get(t, srv.URL).Value("orderflow_consumer_lag_messages",
			"group", group, "topic", topic, "partition", p)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		stuck, ok0 := lag("0")
		drained, ok1 := lag("1")
		if !ok0 || !ok1 || stuck != 5 || drained != 0 {
			return fmt.Errorf("lag: partition 0 %v (measured %v), partition 1 %v (measured %v)", stuck, ok0, drained, ok1)
		}
		return nil
	})
	retries := series("orderflow_consumer_retries_total")
	time.Sleep(500 * time.Millisecond) // several measurements and retries later
	stuck, _ := lag("0")
	require.Equal(t, 5.0, stuck, "a stuck partition's lag does not go down")
	require.Greater(t, series("orderflow_consumer_retries_total"), retries, "its retries climb")

	healthy.Store(true)
	testenv.Eventually(t, 20*time.Second, func() error {
		if l, _ := lag("0"); l != 0 {
			return fmt.Errorf("partition 0 lag %v after the handler recovered", l)
		}
		return nil
	})
	s := metricstest.Get(t, srv.URL)
	outcome := func(o string) float64 {
		v, _ := s.Value("orderflow_consumer_messages_total", "group", group, "topic", topic, "outcome", o)
		return v
	}
	require.Equal(t, 1.0, outcome(consumer.OutcomeRetried), "the message the partition was stuck on")
	require.Equal(t, 6.0, outcome(consumer.OutcomeOK))
	require.Equal(t, 1.0, outcome(consumer.OutcomeDeadLettered))
	dead, _ := s.Value("orderflow_consumer_dead_letters_total", "group", group, "topic", topic, "reason", "permanent")
	require.Equal(t, 1.0, dead)
	calls, _ := s.Value("orderflow_consumer_handler_duration_seconds", "group", group, "topic", topic)
	require.GreaterOrEqual(t, calls, 8.0, "every handler call timed, the failed ones too")
	batches, _ := s.Value("orderflow_consumer_batch_messages", "group", group, "topic", topic)
	require.Equal(t, calls, batches)

	stop()
	wg.Wait()
	_, measured := metricstest.Get(t, srv.URL).Value("orderflow_consumer_lag_messages", "group", group)
	require.False(t, measured, "a stopped consumer's partitions have no lag any more")
}
