package eventtest

import (
	"context"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/orderflow/orderflow/platform/broker"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

// Partitions of each event topic a test creates.
const Partitions = 3

// Topics creates the event and dead-letter topics of a fresh deployment
// prefix, deletes them when the test ends, and returns the prefix.
func Topics(t testing.TB) (prefix string, topics schema.Topics) {
	t.Helper()
	prefix = testenv.UniqueName("gw") + "."
	topics = schema.TopicsWithPrefix(prefix)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	specs := []broker.TopicSpec{{Name: topics.DeadLetter, Partitions: 1}}
	for _, name := range topics.Events() {
		specs = append(specs, broker.TopicSpec{Name: name, Partitions: Partitions})
	}
	if err := broker.EnsureTopics(ctx, testenv.KafkaBrokers(), specs...); err != nil {
		t.Fatalf("kafka at %s: create topics (start it with `make infra`): %v", testenv.KafkaBrokers(), err)
	}
	t.Cleanup(func() {
		admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers()})
		if err != nil {
			return
		}
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = admin.DeleteTopics(ctx, append(topics.Events(), topics.DeadLetter))
	})
	return prefix, topics
}

// Message is env as the outbox relay publishes it: value codec.Encode(env),
// key the order id, and the event's headers.
func Message(t testing.TB, env schema.Envelope) *kafka.Message {
	t.Helper()
	value, err := schema.NewCodec(schema.NewRegistry()).Encode(env)
	if err != nil {
		t.Fatalf("encode %s: %v", env.Type, err)
	}
	var headers []kafka.Header
	for _, kv := range schema.MessageHeaders(env) {
		headers = append(headers, kafka.Header{Key: kv.Key, Value: []byte(kv.Value)})
	}
	return &kafka.Message{Key: []byte(env.CorrelationID), Value: value, Headers: headers}
}

// Producer publishes events to a deployment's topics.
type Producer struct {
	t      testing.TB
	p      *kafka.Producer
	topics schema.Topics
}

// NewProducer returns a producer closed when the test ends.
func NewProducer(t testing.TB, topics schema.Topics) *Producer {
	t.Helper()
	p, err := kafka.NewProducer(broker.ProducerConfig(testenv.KafkaBrokers()))
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	t.Cleanup(p.Close)
	return &Producer{t: t, p: p, topics: topics}
}

// Send publishes envs, each to its aggregate type's topic, in order, and
// returns once Kafka acknowledged them all.
func (p *Producer) Send(envs ...schema.Envelope) {
	p.t.Helper()
	msgs := make([]*kafka.Message, len(envs))
	for i, env := range envs {
		topic, err := p.topics.For(env.AggregateType)
		if err != nil {
			p.t.Fatal(err)
		}
		msgs[i] = Message(p.t, env)
		msgs[i].TopicPartition = kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny}
	}
	p.SendRaw(msgs...)
}

// SendRaw publishes ready-made messages (TopicPartition set) and waits for
// their acknowledgements.
func (p *Producer) SendRaw(msgs ...*kafka.Message) {
	p.t.Helper()
	delivery := make(chan kafka.Event, len(msgs))
	for _, m := range msgs {
		if err := p.p.Produce(m, delivery); err != nil {
			p.t.Fatalf("produce: %v", err)
		}
	}
	for range msgs {
		if m := (<-delivery).(*kafka.Message); m.TopicPartition.Error != nil {
			p.t.Fatalf("delivery: %v", m.TopicPartition.Error)
		}
	}
}

// CommittedToEnd reports whether group has committed every partition of
// topics up to its end: it has handled everything produced so far.
func CommittedToEnd(t testing.TB, group string, topics ...string) bool {
	t.Helper()
	kc, err := kafka.NewConsumer(broker.ConsumerConfig(testenv.KafkaBrokers(), group))
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer kc.Close()
	for _, topic := range topics {
		n, err := broker.Partitions(kc, topic, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		tps := make([]kafka.TopicPartition, n)
		for p := range n {
			tps[p] = kafka.TopicPartition{Topic: &topic, Partition: int32(p)}
		}
		committed, err := kc.Committed(tps, 10_000)
		if err != nil {
			t.Fatalf("committed: %v", err)
		}
		for _, tp := range committed {
			_, high, err := kc.QueryWatermarkOffsets(topic, tp.Partition, 10_000)
			if err != nil {
				t.Fatalf("watermarks: %v", err)
			}
			if high > 0 && int64(tp.Offset) != high {
				return false
			}
		}
	}
	return true
}
