package mirror

import (
	"cmp"
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
	// Group defaults to <TopicPrefix>gateway, or <TopicPrefix>gateway-mirror
	// if Then is not set.
	Group  string
	Stream Stream
	// Then, if set, handles every batch once JetStream has acknowledged all
	// of it, before the offsets are stored: the gateway's projector, so that
	// one consumer group reads the topics once for both.
	Then consumer.Handler
	// PublishTimeout bounds the wait for a PubAck, and stream management
	// calls; default 5s.
	PublishTimeout time.Duration
	// RetryInitial and RetryMax bound the backoff while NATS does not
	// answer (platform/consumer's defaults if zero).
	RetryInitial, RetryMax time.Duration
	// Metrics receives the consumer's series (consumer.Config.Metrics).
	Metrics *consumer.Metrics
}

func (c *Config) setDefaults() {
	switch {
	case c.Group != "":
	case c.Then != nil:
		c.Group = c.TopicPrefix + "gateway"
	default:
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
	// pub publishes asynchronously, with PublishTimeout as the PubAck
	// timeout (on a connection shared with js).
	pub   jetstream.JetStream
	codec *schema.Codec
	log   *slog.Logger

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
	pub, err := jetstream.New(js.Conn(), jetstream.WithPublishAsyncTimeout(cfg.PublishTimeout))
	if err != nil {
		return nil, fmt.Errorf("mirror: jetstream: %w", err)
	}
	m := &Mirror{
		cfg: cfg, topics: topics.Events(), js: js, pub: pub,
		codec: schema.NewCodec(schema.NewRegistry()),
		log:   log.With("component", "mirror", "stream", cfg.Stream.Name),
	}
	cons, err := consumer.New(consumer.Config{
		Brokers: cfg.Brokers, Group: cfg.Group, Topics: m.topics, DeadLetterTopic: topics.DeadLetter,
		RetryInitial: cfg.RetryInitial, RetryMax: cfg.RetryMax, Metrics: cfg.Metrics,
	}, m.codec, m.handle, log)
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

// Close releases the clients used by Lag and the publisher's reply
// subscription. Call it after Run returned.
func (m *Mirror) Close() {
	m.pub.CleanupPublisher()
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

func (m *Mirror) handle(ctx context.Context, msgs []consumer.Message) error {
	if err := m.Publish(ctx, msgs); err != nil {
		return err
	}
	if m.cfg.Then == nil {
		return nil
	}
	return m.cfg.Then(ctx, msgs)
}

// Publish publishes a batch of events and returns once JetStream
// acknowledged every one, so that the consumer stores the offsets only then.
// The messages go out at once (asynchronous publishes), and their PubAcks
// come back together: one wait for the batch instead of one per message,
// and one fsync of JetStream's for many messages. Any failure fails the
// batch; the consumer then publishes it again one message at a time, which
// JetStream deduplicates by event id, and retries with backoff. An event
// that cannot have a subject fails as Permanent: alone, it is dead-lettered.
func (m *Mirror) Publish(ctx context.Context, msgs []consumer.Message) error {
	out := make([]*nats.Msg, len(msgs))
	for i, msg := range msgs {
		env := msg.Envelope
		orderID := orderview.OrderID(env)
		if !validToken(orderID) || !validToken(env.AggregateType) {
			return consumer.Permanent(fmt.Errorf("mirror: order id %q or aggregate type %q cannot be a NATS subject token",
				orderID, env.AggregateType))
		}
		// The Kafka record as it is: value and headers copied, nothing encoded again.
		header := nats.Header{}
		for _, h := range msg.Headers {
			header.Add(h.Key, h.Value)
		}
		out[i] = &nats.Msg{Subject: m.cfg.Stream.Subject(orderID, env.AggregateType), Header: header, Data: msg.Value}
	}
	if err := m.ensureStream(ctx); err != nil {
		return err
	}
	acks := make([]jetstream.PubAckFuture, 0, len(out))
	var err error
	for i, nm := range out {
		var ack jetstream.PubAckFuture
		ack, err = m.pub.PublishMsgAsync(nm, jetstream.WithMsgID(msgs[i].Envelope.ID), jetstream.WithExpectStream(m.cfg.Stream.Name))
		if err != nil {
			err = fmt.Errorf("mirror: publish %s: %w", nm.Subject, err)
			break
		}
		acks = append(acks, ack)
	}
	// Wait for every message sent, also after a failure, so that none is
	// still in flight when the batch is published again.
	var published, duplicates int64
	for _, ack := range acks {
		select {
		case pa := <-ack.Ok():
			if pa.Duplicate {
				duplicates++
			} else {
				published++
			}
		case perr := <-ack.Err():
			err = cmp.Or(err, fmt.Errorf("mirror: publish %s: %w", ack.Msg().Subject, perr))
		case <-ctx.Done():
			err = cmp.Or(err, fmt.Errorf("mirror: wait for PubAcks: %w", ctx.Err()))
		}
	}
	m.published.Add(published)
	m.duplicates.Add(duplicates)
	if err != nil {
		// The stream may be gone (JetStream wiped): make it again next time.
		m.streamReady.Store(false)
		return err
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
