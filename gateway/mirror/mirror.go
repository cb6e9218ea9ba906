package mirror

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orderflow/orderflow/gateway/orderview"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/schema"
)

// Config configures a mirror.
type Config struct {
	Brokers string
	// TopicPrefix is the deployment's topic prefix (schema.TopicsWithPrefix).
	TopicPrefix string
	// Group defaults to <TopicPrefix>gateway-mirror.
	Group  string
	Stream Stream
	// PublishTimeout bounds one publish and its PubAck; default 5s.
	PublishTimeout time.Duration
	// RetryInitial and RetryMax bound the backoff while NATS does not
	// answer (platform/consumer's defaults if zero).
	RetryInitial, RetryMax time.Duration
}

func (c *Config) setDefaults() {
	if c.Group == "" {
		c.Group = c.TopicPrefix + "gateway-mirror"
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = 5 * time.Second
	}
	c.Stream.setDefaults()
}

// Mirror copies the order, payment and compensation topics into JetStream.
type Mirror struct {
	cfg    Config
	topics []string
	js     jetstream.JetStream
	codec  *schema.Codec
	log    *slog.Logger

	cons  *consumer.Consumer
	admin *kafka.AdminClient
	// group reads the group's committed offsets for Lag. It is a consumer
	// of the group that never subscribes (so it never joins): asked through
	// an admin client instead, librdkafka (2.11) crashes the process when
	// the group coordinator is not available, as while Kafka restarts
	// (confluentinc/librdkafka#5040: the answer is handed to a consumer
	// group the admin client does not have).
	group *kafka.Consumer

	streamReady atomic.Bool
	published   atomic.Int64
	duplicates  atomic.Int64
}

// New connects the mirror's consumer and admin client; Run starts it, Close
// releases what Run does not. It does not need NATS to be up: the stream is
// made (or remade) when the first event is published.
func New(cfg Config, js jetstream.JetStream, log *slog.Logger) (*Mirror, error) {
	cfg.setDefaults()
	topics := schema.TopicsWithPrefix(cfg.TopicPrefix)
	m := &Mirror{
		cfg: cfg, topics: topics.Events(), js: js,
		codec: schema.NewCodec(schema.NewRegistry()),
		log:   log.With("component", "mirror", "stream", cfg.Stream.Name),
	}
	cons, err := consumer.New(consumer.Config{
		Brokers: cfg.Brokers, Group: cfg.Group, Topics: m.topics, DeadLetterTopic: topics.DeadLetter,
		RetryInitial: cfg.RetryInitial, RetryMax: cfg.RetryMax,
	}, m.codec, consumer.PerMessage(m.handle), log)
	if err != nil {
		return nil, fmt.Errorf("mirror: %w", err)
	}
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": cfg.Brokers})
	if err != nil {
		return nil, fmt.Errorf("mirror: admin client: %w", err)
	}
	group, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers": cfg.Brokers, "group.id": cfg.Group, "enable.auto.commit": false,
	})
	if err != nil {
		admin.Close()
		return nil, fmt.Errorf("mirror: offsets client: %w", err)
	}
	m.cons, m.admin, m.group = cons, admin, group
	return m, nil
}

// Run mirrors until ctx ends. A Mirror runs once. It makes the stream first
// if NATS answers, so that subscribers find it before the first event; if
// NATS does not, the first publish makes it.
func (m *Mirror) Run(ctx context.Context) error {
	if err := m.ensureStream(ctx); err != nil {
		m.log.Warn("stream not ready yet; will retry with the first event", "err", err)
	}
	return m.cons.Run(ctx)
}

// Assigned is closed once the mirror's consumer got its first partitions.
func (m *Mirror) Assigned() <-chan struct{} { return m.cons.Assigned() }

// Close releases the clients used by Lag. Call it after Run returned.
func (m *Mirror) Close() {
	m.admin.Close()
	if err := m.group.Close(); err != nil {
		m.log.Warn("close the offsets client", "err", err)
	}
}

// Stats counts what this mirror published since it started.
type Stats struct {
	// Published is how many events JetStream stored; Duplicates how many it
	// already had (a redelivery after a crash or an outage).
	Published, Duplicates int64
}

// Stats returns the mirror's counters.
func (m *Mirror) Stats() Stats {
	return Stats{Published: m.published.Load(), Duplicates: m.duplicates.Load()}
}

// handle publishes one event and returns once JetStream acknowledged it, so
// that the consumer stores the offset only then. Any failure is retried by the
// consumer with backoff; an event that cannot have a subject is dead-lettered.
func (m *Mirror) handle(ctx context.Context, msg consumer.Message) error {
	env := msg.Envelope
	orderID := orderview.OrderID(env)
	if !validToken(orderID) || !validToken(env.AggregateType) {
		return consumer.Permanent(fmt.Errorf("mirror: order id %q or aggregate type %q cannot be a NATS subject token",
			orderID, env.AggregateType))
	}
	if err := m.ensureStream(ctx); err != nil {
		return err
	}
	// The Kafka record as it is: value and headers copied, nothing encoded again.
	header := nats.Header{}
	for _, h := range msg.Headers {
		header.Add(h.Key, h.Value)
	}
	nm := &nats.Msg{Subject: m.cfg.Stream.Subject(orderID, env.AggregateType), Header: header, Data: msg.Value}
	pctx, cancel := context.WithTimeout(ctx, m.cfg.PublishTimeout)
	defer cancel()
	ack, err := m.js.PublishMsg(pctx, nm, jetstream.WithMsgID(env.ID), jetstream.WithExpectStream(m.cfg.Stream.Name))
	if err != nil {
		// The stream may be gone (JetStream wiped): make it again next time.
		m.streamReady.Store(false)
		return fmt.Errorf("mirror: publish %s: %w", nm.Subject, err)
	}
	if ack.Duplicate {
		m.duplicates.Add(1)
	} else {
		m.published.Add(1)
	}
	return nil
}

func (m *Mirror) ensureStream(ctx context.Context) error {
	if m.streamReady.Load() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.PublishTimeout)
	defer cancel()
	if _, err := EnsureStream(ctx, m.js, m.cfg.Stream); err != nil {
		return fmt.Errorf("mirror: %w", err)
	}
	m.streamReady.Store(true)
	return nil
}
