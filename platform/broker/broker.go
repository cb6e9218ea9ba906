// Package broker holds the Kafka client settings every orderflow process
// shares, so that producers are idempotent and consumers store offsets only
// after their handler succeeded — everywhere, not only where someone
// remembered — and small admin helpers used at start-up and in tests.
package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// ProducerConfig returns the settings of a producer that never loses or
// duplicates a message it acknowledged and keeps per-partition order:
// idempotence (which implies acks=all and bounded in-flight requests).
func ProducerConfig(brokers string) *kafka.ConfigMap {
	return &kafka.ConfigMap{
		"bootstrap.servers":  brokers,
		"enable.idempotence": true,
		"acks":               "all",
		// A short linger keeps latency low while still batching under load.
		"linger.ms":                 "1",
		"compression.type":          "lz4",
		"message.timeout.ms":        30000,
		"socket.keepalive.enable":   true,
		"go.logs.channel.enable":    false,
		"go.delivery.reports":       true,
		"go.delivery.report.fields": "key,value,headers",
	}
}

// ConsumerConfig returns the settings of a group consumer whose offsets are
// stored explicitly after a message was handled (enable.auto.offset.store
// false) and committed in the background and on revoke and close.
func ConsumerConfig(brokers, group string) *kafka.ConfigMap {
	return &kafka.ConfigMap{
		"bootstrap.servers":        brokers,
		"group.id":                 group,
		"enable.auto.commit":       true,
		"auto.commit.interval.ms":  500,
		"enable.auto.offset.store": false,
		"auto.offset.reset":        "earliest",
		"session.timeout.ms":       10000,
		"heartbeat.interval.ms":    1000,
		// How long the broker parks a fetch when there is nothing new. It
		// adds no latency (a parked fetch returns as soon as a message is
		// appended), but each expiry is a request: at 10 ms, the idle
		// consumers of a whole system kept a quarter of a core busy in Kafka.
		"fetch.wait.max.ms":       200,
		"socket.keepalive.enable": true,
		"isolation.level":         "read_committed",
	}
}

// TopicSpec describes a topic to create.
type TopicSpec struct {
	Name       string
	Partitions int
}

// EnsureTopics creates the topics that do not exist yet, with replication
// factor 1 (the single local broker).
func EnsureTopics(ctx context.Context, brokers string, topics ...TopicSpec) error {
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": brokers})
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	defer admin.Close()

	specs := make([]kafka.TopicSpecification, 0, len(topics))
	for _, t := range topics {
		specs = append(specs, kafka.TopicSpecification{Topic: t.Name, NumPartitions: t.Partitions, ReplicationFactor: 1})
	}
	results, err := admin.CreateTopics(ctx, specs, kafka.SetAdminOperationTimeout(10*time.Second))
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	var errs []error
	for _, r := range results {
		if code := r.Error.Code(); code != kafka.ErrNoError && code != kafka.ErrTopicAlreadyExists {
			errs = append(errs, fmt.Errorf("topic %s: %w", r.Topic, r.Error))
		}
	}
	return errors.Join(errs...)
}

// Ping checks that the cluster answers a metadata request: a readiness check.
func Ping(ctx context.Context, brokers string) error {
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": brokers})
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	defer admin.Close()
	timeout := 5 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	if _, err := admin.GetMetadata(nil, false, int(timeout.Milliseconds())); err != nil {
		return fmt.Errorf("kafka metadata: %w", err)
	}
	return nil
}

// Partitions returns the number of partitions of topic.
func Partitions(client interface {
	GetMetadata(topic *string, allTopics bool, timeoutMs int) (*kafka.Metadata, error)
}, topic string, timeout time.Duration) (int, error) {
	md, err := client.GetMetadata(&topic, false, int(timeout.Milliseconds()))
	if err != nil {
		return 0, fmt.Errorf("metadata %s: %w", topic, err)
	}
	t, ok := md.Topics[topic]
	if !ok || t.Error.Code() != kafka.ErrNoError {
		return 0, fmt.Errorf("topic %s: not found (%v)", topic, t.Error)
	}
	return len(t.Partitions), nil
}
