package readmodel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/redis/go-redis/v9"

	"github.com/orderflow/orderflow/platform/broker"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/schema"
)

// RebuildReport says what Rebuild did.
type RebuildReport struct {
	// DeletedKeys is how many keys under the prefix were deleted first.
	DeletedKeys int
	// Partitions is how many topic partitions there are to replay.
	Partitions int
	// Events is how many events were applied; Changed how many of them
	// changed a document. Messages that cannot be decoded are not among
	// them: the replay dead-letters them, as the live projector did.
	Events, Changed int
	// Orders is how many order documents exist afterwards.
	Orders int
	Took   time.Duration
}

// Rebuild deletes every key under prefix and replays the order and payment
// topics from their first offset to the end they had when the replay
// started, through the projector: the read model is then what the events
// say. It reads with platform/consumer in its StopAtEnd mode (no group
// joined, nothing committed), every partition at once, in batches.
//
// It depends on the event topics keeping every event (retention.ms=-1, as the
// deployment configures them): with a shorter retention, orders whose events
// were deleted would vanish from the read model. The live projector must be
// stopped meanwhile — an event it applied to a wiped document before the
// replay reached that order's earlier events would make them look old — and
// resumes from its own committed offsets afterwards, where every event it
// sees again changes nothing.
func Rebuild(ctx context.Context, rdb redis.UniversalClient, prefix string, k Kafka, log *slog.Logger) (RebuildReport, error) {
	start := time.Now()
	var rep RebuildReport
	if prefix == "" {
		return rep, errors.New("rebuild: refusing to run without a key prefix: it would delete every key of the Redis database")
	}
	cfg := k.ConsumerConfig()
	cfg.Group = k.TopicPrefix + "gateway-rebuild-readmodels" // names the reader: no group is joined
	cfg.StopAtEnd = true
	// Find the events first, so that a wrong broker or topic prefix fails
	// before anything is deleted.
	partitions, err := countPartitions(k.Brokers, cfg.Topics)
	if err != nil {
		return rep, fmt.Errorf("rebuild: %w", err)
	}
	rep.Partitions = partitions

	p := NewProjector(rdb, prefix)
	var events, changed atomic.Int64
	replay, err := consumer.New(cfg, schema.NewCodec(schema.NewRegistry()), func(ctx context.Context, msgs []consumer.Message) error {
		n, err := p.ApplyBatch(ctx, envelopes(msgs))
		if err != nil {
			return err
		}
		events.Add(int64(len(msgs)))
		changed.Add(int64(n))
		return nil
	}, log)
	if err != nil {
		return rep, fmt.Errorf("rebuild: %w", err)
	}

	deleted, err := deletePrefix(ctx, rdb, prefix)
	rep.DeletedKeys = deleted
	if err != nil {
		return rep, fmt.Errorf("rebuild: %w", err)
	}
	log.Info("read model keys deleted", "prefix", prefix, "keys", deleted)

	log.Info("replaying events", "topics", cfg.Topics, "partitions", partitions)
	err = replay.Run(ctx)
	rep.Events, rep.Changed = int(events.Load()), int(changed.Load())
	if err != nil {
		return rep, fmt.Errorf("rebuild: %w", err)
	}
	orders, err := countKeys(ctx, rdb, escapeGlob(prefix)+orderKey+"*")
	if err != nil {
		return rep, fmt.Errorf("rebuild: %w", err)
	}
	rep.Orders, rep.Took = orders, time.Since(start)
	return rep, nil
}

// countPartitions returns how many partitions the topics have, and fails if
// one does not exist.
func countPartitions(brokers string, topics []string) (int, error) {
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": brokers})
	if err != nil {
		return 0, fmt.Errorf("kafka admin client: %w", err)
	}
	defer admin.Close()
	total := 0
	for _, topic := range topics {
		n, err := broker.Partitions(admin, topic, 10*time.Second)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// deletePrefix deletes every key starting with prefix (SCAN, then UNLINK in
// batches, which frees memory off the main thread).
func deletePrefix(ctx context.Context, rdb redis.UniversalClient, prefix string) (int, error) {
	deleted := 0
	iter := rdb.Scan(ctx, 0, escapeGlob(prefix)+"*", 1000).Iterator()
	batch := make([]string, 0, 1000)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := rdb.Unlink(ctx, batch...).Result()
		deleted += int(n)
		batch = batch[:0]
		return err
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return deleted, fmt.Errorf("unlink: %w", err)
			}
		}
	}
	if err := iter.Err(); err != nil {
		return deleted, fmt.Errorf("scan: %w", err)
	}
	if err := flush(); err != nil {
		return deleted, fmt.Errorf("unlink: %w", err)
	}
	return deleted, nil
}

func countKeys(ctx context.Context, rdb redis.UniversalClient, pattern string) (int, error) {
	n := 0
	iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		n++
	}
	if err := iter.Err(); err != nil {
		return 0, fmt.Errorf("scan: %w", err)
	}
	return n, nil
}

// escapeGlob makes s match itself literally in a SCAN MATCH pattern.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
