package readmodel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/orderflow/orderflow/platform/broker"
	"github.com/orderflow/orderflow/schema"
)

// RebuildReport says what Rebuild did.
type RebuildReport struct {
	// DeletedKeys is how many keys under the prefix were deleted first.
	DeletedKeys int
	// Partitions is how many topic partitions were replayed.
	Partitions int
	// Events is how many messages were read; Changed how many of them
	// changed a document; Skipped how many could not be decoded (the live
	// projector dead-letters those).
	Events, Changed, Skipped int
	// Orders is how many order documents exist afterwards.
	Orders int
	Took   time.Duration
}

// Rebuild deletes every key under prefix and replays the order and payment
// topics from their first offset to the end they had when Rebuild started,
// through the projector's Apply: the read model is then what the events say.
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
	// Find the events first, so that a wrong broker or topic prefix fails
	// before anything is deleted.
	topics := schema.TopicsWithPrefix(k.TopicPrefix)
	src, err := openSource(k.Brokers, []string{topics.Order, topics.Payment})
	if err != nil {
		return rep, fmt.Errorf("rebuild: %w", err)
	}
	defer src.close()
	rep.Partitions = src.partitions

	deleted, err := deletePrefix(ctx, rdb, prefix)
	rep.DeletedKeys = deleted
	if err != nil {
		return rep, fmt.Errorf("rebuild: %w", err)
	}
	log.Info("read model keys deleted", "prefix", prefix, "keys", deleted)

	log.Info("replaying events", "topics", []string{topics.Order, topics.Payment}, "partitions", src.partitions, "non_empty", len(src.end))
	if err := src.replay(ctx, NewProjector(rdb, prefix), &rep, log); err != nil {
		return rep, fmt.Errorf("rebuild: %w", err)
	}
	orders, err := countKeys(ctx, rdb, escapeGlob(prefix)+"order:*")
	if err != nil {
		return rep, fmt.Errorf("rebuild: %w", err)
	}
	rep.Orders, rep.Took = orders, time.Since(start)
	return rep, nil
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

type partitionKey struct {
	topic string
	id    int32
}

// source is the event topics' partitions with the end each had when the
// rebuild started.
type source struct {
	kc         *kafka.Consumer
	partitions int
	end        map[partitionKey]int64 // non-empty partitions only
}

func openSource(brokers string, topics []string) (*source, error) {
	kc, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers": brokers,
		// Assign, not Subscribe: the group is never joined and nothing is
		// committed; librdkafka wants a group id all the same.
		"group.id":             "orderflow-rebuild-readmodels",
		"enable.auto.commit":   false,
		"enable.partition.eof": true,
		"isolation.level":      "read_committed",
	})
	if err != nil {
		return nil, fmt.Errorf("kafka consumer: %w", err)
	}
	src := &source{kc: kc, end: map[partitionKey]int64{}}
	for _, topic := range topics {
		n, err := broker.Partitions(kc, topic, 10*time.Second)
		if err != nil {
			kc.Close()
			return nil, err
		}
		for id := range int32(n) {
			low, high, err := kc.QueryWatermarkOffsets(topic, id, 10_000)
			if err != nil {
				kc.Close()
				return nil, fmt.Errorf("watermarks %s/%d: %w", topic, id, err)
			}
			src.partitions++
			if high > low {
				src.end[partitionKey{topic, id}] = high
			}
		}
	}
	return src, nil
}

func (s *source) close() { _ = s.kc.Close() }

// replay reads every non-empty partition from its beginning up to its end,
// applying each event in partition order. Partitions are applied
// concurrently: an order's and its payment's events write different parts
// of its hash, which do not contend.
func (s *source) replay(ctx context.Context, p *Projector, rep *RebuildReport, log *slog.Logger) error {
	if len(s.end) == 0 {
		return nil
	}
	var assign []kafka.TopicPartition
	for key := range s.end {
		assign = append(assign, kafka.TopicPartition{Topic: &key.topic, Partition: key.id, Offset: kafka.OffsetBeginning})
	}
	if err := s.kc.Assign(assign); err != nil {
		return fmt.Errorf("assign: %w", err)
	}

	g, gctx := errgroup.WithContext(ctx)
	workers := map[partitionKey]chan schema.Envelope{}
	results := make(chan bool, 1024)
	counted := make(chan struct{})
	go func() { // only this goroutine writes rep.Changed while workers run
		defer close(counted)
		for changed := range results {
			if changed {
				rep.Changed++
			}
		}
	}()
	for key := range s.end {
		ch := make(chan schema.Envelope, 256)
		workers[key] = ch
		g.Go(func() error {
			for env := range ch {
				changed, err := p.Apply(gctx, env)
				if err != nil {
					return err
				}
				results <- changed
			}
			return nil
		})
	}
	finish := func(key partitionKey) {
		if ch, ok := workers[key]; ok {
			close(ch)
			delete(workers, key)
		}
	}

	codec := schema.NewCodec(schema.NewRegistry())
	readErr := func() error {
		for len(workers) > 0 {
			if err := gctx.Err(); err != nil {
				return err
			}
			switch ev := s.kc.Poll(100).(type) {
			case *kafka.Message:
				if ev.TopicPartition.Error != nil {
					return fmt.Errorf("fetch: %w", ev.TopicPartition.Error)
				}
				key := partitionKey{*ev.TopicPartition.Topic, ev.TopicPartition.Partition}
				ch, ok := workers[key]
				offset := int64(ev.TopicPartition.Offset)
				if !ok || offset >= s.end[key] {
					continue // past the end this rebuild started with
				}
				rep.Events++
				env, err := codec.Decode(ev.Value)
				if err != nil {
					rep.Skipped++
					log.Warn("skipping undecodable event", "topic", key.topic, "partition", key.id, "offset", offset, "err", err)
				} else {
					select {
					case ch <- env:
					case <-gctx.Done():
						return gctx.Err()
					}
				}
				if offset >= s.end[key]-1 {
					finish(key)
				}
			case kafka.PartitionEOF:
				key := partitionKey{*ev.Topic, ev.Partition}
				if int64(ev.Offset) >= s.end[key] {
					finish(key) // the end was a transaction marker, not a message
				}
			case kafka.Error:
				if ev.IsFatal() {
					return fmt.Errorf("kafka: %w", ev)
				}
				log.Warn("kafka error", "err", ev)
			}
		}
		return nil
	}()
	for key := range workers {
		finish(key)
	}
	err := g.Wait()
	close(results)
	<-counted
	return errors.Join(readErr, err)
}
