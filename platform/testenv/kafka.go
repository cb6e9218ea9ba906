package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/orderflow/orderflow/platform/broker"
)

// KafkaTopic creates a topic with a unique name for this test and returns it.
func KafkaTopic(t testing.TB, partitions int) string {
	t.Helper()
	name := UniqueName("test")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := broker.EnsureTopics(ctx, KafkaBrokers(), broker.TopicSpec{Name: name, Partitions: partitions}); err != nil {
		t.Fatalf("kafka at %s: create topic (start it with `make infra`): %v", KafkaBrokers(), err)
	}
	return name
}

// ReadTopic reads topic from the beginning until it has want messages or
// timeout passes, and returns what it read. It waits a further settle
// duration after reaching want, so that a duplicate arriving late is seen.
func ReadTopic(t testing.TB, topic string, want int, timeout, settle time.Duration) []*kafka.Message {
	t.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers":  KafkaBrokers(),
		"group.id":           UniqueName("reader"),
		"auto.offset.reset":  "earliest",
		"enable.auto.commit": false,
	})
	if err != nil {
		t.Fatalf("reader: %v", err)
	}
	defer c.Close()
	if err := c.Subscribe(topic, nil); err != nil {
		t.Fatalf("subscribe %s: %v", topic, err)
	}
	var out []*kafka.Message
	deadline := time.Now().Add(timeout)
	var settleUntil time.Time
	for time.Now().Before(deadline) {
		if !settleUntil.IsZero() && time.Now().After(settleUntil) {
			break
		}
		ev := c.Poll(100)
		if m, ok := ev.(*kafka.Message); ok && m.TopicPartition.Error == nil {
			out = append(out, m)
			if len(out) >= want && settleUntil.IsZero() {
				settleUntil = time.Now().Add(settle)
			}
		}
	}
	return out
}

// Header returns the value of header key in m, or "".
func Header(m *kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
