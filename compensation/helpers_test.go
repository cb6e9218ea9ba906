package compensation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/compensation"
	"github.com/orderflow/orderflow/compensation/ports/httpapi"
	"github.com/orderflow/orderflow/platform/auth"
	"github.com/orderflow/orderflow/platform/broker"
	"github.com/orderflow/orderflow/platform/envconfig"
	"github.com/orderflow/orderflow/platform/logging"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

// testService is the real compensation service on its own database, topics
// and consumer group, which a test may stop and start again.
type testService struct {
	t        *testing.T
	cfg      compensation.Config
	topics   schema.Topics
	codec    *schema.Codec
	producer *kafka.Producer
	http     *http.Client

	base string // the running instance's URL
	stop func()
}

func newTestService(t *testing.T, paymentTimeout time.Duration) *testService {
	t.Helper()
	cfg := compensation.DefaultConfig()
	require.NoError(t, envconfig.LoadFrom(compensation.EnvPrefix, &cfg, func(string) (string, bool) { return "", false }))
	cfg.Service.HTTPAddr = "127.0.0.1:0"
	cfg.Service.PostgresDSN = testenv.PostgresDatabase(t)
	cfg.Service.KafkaBrokers = testenv.KafkaBrokers()
	cfg.Service.TopicPrefix = testenv.UniqueName("t") + "."
	cfg.Service.TopicPartitions = 3
	cfg.Service.ConsumerGroup = testenv.UniqueName("compensation")
	cfg.Service.PoolSize = 5
	cfg.Service.ServiceToken = testenv.ServiceToken
	cfg.PaymentTimeout = paymentTimeout
	cfg.DeadlinePoll = 50 * time.Millisecond

	p, err := kafka.NewProducer(broker.ProducerConfig(cfg.Service.KafkaBrokers))
	require.NoError(t, err)
	t.Cleanup(p.Close)
	s := &testService{
		t: t, cfg: cfg, producer: p,
		topics: schema.TopicsWithPrefix(cfg.Service.TopicPrefix),
		codec:  schema.NewCodec(schema.NewRegistry()),
		http:   &http.Client{Timeout: 5 * time.Second, Transport: auth.ServiceTransport(testenv.ServiceToken, nil)},
	}
	s.start()
	return s
}

// start runs the service until stop or the end of the test.
func (s *testService) start() {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	log := logging.New(os.Stderr, compensation.Name, slog.LevelWarn)
	go func() { done <- compensation.Run(ctx, s.cfg, log, ready) }()

	select {
	case addr := <-ready:
		s.base = "http://" + addr.String()
	case err := <-done:
		cancel()
		s.t.Fatalf("compensation did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		s.t.Fatal("compensation did not listen within 30s")
	}
	stopped := false
	s.stop = func() {
		s.t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			require.NoError(s.t, err, "compensation stopped cleanly")
		case <-time.After(30 * time.Second):
			s.t.Fatal("compensation did not stop within 30s")
		}
	}
	s.t.Cleanup(s.stop)
}

// envelope wraps an order or payment event as its service would publish it.
func envelope(aggregateType, aggregateID, orderID string, payload schema.Event, at time.Time) schema.Envelope {
	env := schema.New(aggregateType, aggregateID, payload, schema.Cause{CorrelationID: orderID}, at)
	env.Version = 1
	return env
}

// produce publishes envs on the topics of their aggregate types, keyed by
// order id with the id and type in headers, as the outbox relay does.
func (s *testService) produce(envs ...schema.Envelope) {
	s.t.Helper()
	delivery := make(chan kafka.Event, len(envs))
	for _, env := range envs {
		topic, err := s.topics.For(env.AggregateType)
		require.NoError(s.t, err)
		value, err := s.codec.Encode(env)
		require.NoError(s.t, err)
		require.NoError(s.t, s.producer.Produce(&kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key:            []byte(env.CorrelationID),
			Value:          value,
			Headers: []kafka.Header{
				{Key: schema.HeaderEventID, Value: []byte(env.ID)},
				{Key: schema.HeaderEventType, Value: []byte(env.Type)},
			},
		}, delivery))
	}
	for range envs {
		m := (<-delivery).(*kafka.Message)
		require.NoError(s.t, m.TopicPartition.Error, "delivered")
	}
}

// saga returns GET /v1/sagas/{orderID}: the saga, or an error (404 included).
func (s *testService) saga(orderID string) (httpapi.Saga, error) {
	resp, err := s.http.Get(s.base + "/v1/sagas/" + orderID)
	if err != nil {
		return httpapi.Saga{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return httpapi.Saga{}, fmt.Errorf("GET saga %s: %s", orderID, resp.Status)
	}
	var saga httpapi.Saga
	return saga, json.NewDecoder(resp.Body).Decode(&saga)
}

// waitFor waits until the order's saga satisfies cond, and returns it.
func (s *testService) waitFor(orderID string, what string, cond func(httpapi.Saga) bool) httpapi.Saga {
	s.t.Helper()
	var saga httpapi.Saga
	testenv.Eventually(s.t, 20*time.Second, func() error {
		var err error
		if saga, err = s.saga(orderID); err != nil {
			return err
		}
		if !cond(saga) {
			return fmt.Errorf("saga of %s is not %s: %+v", orderID, what, saga)
		}
		return nil
	})
	return saga
}

func (s *testService) waitStatus(orderID, status string) httpapi.Saga {
	s.t.Helper()
	return s.waitFor(orderID, status, func(saga httpapi.Saga) bool { return saga.Status == status })
}

// pendingDeadlines reads the count /readyz reports.
func (s *testService) pendingDeadlines() int {
	s.t.Helper()
	resp, err := s.http.Get(s.base + "/readyz")
	require.NoError(s.t, err)
	defer resp.Body.Close()
	require.Equal(s.t, http.StatusOK, resp.StatusCode, "ready")
	var body struct {
		Details struct {
			PendingDeadlines *int `json:"pendingDeadlines"`
		} `json:"details"`
	}
	require.NoError(s.t, json.NewDecoder(resp.Body).Decode(&body))
	require.NotNil(s.t, body.Details.PendingDeadlines, "/readyz reports pendingDeadlines")
	return *body.Details.PendingDeadlines
}

// storedDeadline reads the order's row in the deadlines table directly.
func (s *testService) storedDeadline(orderID string) (time.Time, bool) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.cfg.Service.PostgresDSN)
	require.NoError(s.t, err)
	defer conn.Close(ctx)
	var due time.Time
	err = conn.QueryRow(ctx, `SELECT due_at FROM deadlines WHERE order_id = $1`, orderID).Scan(&due)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, false
	}
	require.NoError(s.t, err)
	return due, true
}

// recorded reads want events from the compensation topic (waiting a little
// longer for duplicates) and returns them by order, checking that each is
// keyed and correlated by its order id.
func (s *testService) recorded(want int) map[string][]schema.Envelope {
	s.t.Helper()
	msgs := testenv.ReadTopic(s.t, s.topics.Compensation, want, 30*time.Second, 2*time.Second)
	byOrder := map[string][]schema.Envelope{}
	for _, m := range msgs {
		env, err := s.codec.Decode(m.Value)
		require.NoError(s.t, err)
		require.Equal(s.t, schema.AggregateCompensation, env.AggregateType)
		require.Equal(s.t, env.AggregateID, string(m.Key), "keyed by order id")
		require.Equal(s.t, env.AggregateID, env.CorrelationID, "correlated by order id")
		require.Equal(s.t, env.ID, testenv.Header(m, schema.HeaderEventID))
		require.NotEmpty(s.t, env.CausationID)
		byOrder[env.AggregateID] = append(byOrder[env.AggregateID], env)
	}
	require.Len(s.t, msgs, want, "every decision recorded once, none twice")
	return byOrder
}

func payloads(envs []schema.Envelope) []schema.Event {
	out := make([]schema.Event, len(envs))
	for i, env := range envs {
		out[i] = env.Payload
	}
	return out
}
