package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/orderflow/orderflow/platform/broker"
	"github.com/orderflow/orderflow/schema"
)

// recover deletes outbox rows that an earlier session published but did not
// get to delete. They are
// among the last MaxInFlight messages of their partition (see the package doc).
func (r *Relay) recover(ctx context.Context) error {
	rows, err := r.pool.Query(ctx, "SELECT DISTINCT topic FROM outbox")
	if err != nil {
		return fmt.Errorf("pending topics: %w", err)
	}
	var topics []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		topics = append(topics, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(topics) == 0 {
		return nil
	}

	published, err := r.tailEventIDs(ctx, topics)
	if err != nil {
		return err
	}
	if len(published) == 0 {
		return nil
	}
	tag, err := r.pool.Exec(ctx, "DELETE FROM outbox WHERE event_id::text = ANY($1)", published)
	if err != nil {
		return fmt.Errorf("delete recovered: %w", err)
	}
	if n := tag.RowsAffected(); n > 0 {
		r.recovered.Add(n)
		r.cfg.Metrics.recovered.Add(float64(n))
		r.log.Info("outbox rows already in Kafka were not sent again", "rows", n)
	}
	return nil
}

// tailEventIDs reads the last MaxInFlight messages of every partition of topics
// and returns their event ids.
func (r *Relay) tailEventIDs(ctx context.Context, topics []string) ([]string, error) {
	cfg := broker.ConsumerConfig(r.cfg.Brokers, "orderflow-outbox-recovery")
	_ = cfg.SetKey("enable.auto.commit", false)
	_ = cfg.SetKey("isolation.level", "read_uncommitted")
	c, err := kafka.NewConsumer(cfg)
	if err != nil {
		return nil, fmt.Errorf("recovery consumer: %w", err)
	}
	defer c.Close()

	const timeout = 10 * time.Second
	var (
		assign []kafka.TopicPartition
		ends   = map[partitionKey]kafka.Offset{}
	)
	for _, topic := range topics {
		n, err := broker.Partitions(c, topic, timeout)
		if err != nil {
			return nil, err
		}
		for p := range n {
			low, high, err := c.QueryWatermarkOffsets(topic, int32(p), int(timeout.Milliseconds()))
			if err != nil {
				return nil, fmt.Errorf("watermarks %s/%d: %w", topic, p, err)
			}
			if high <= low {
				continue
			}
			start := max(low, high-int64(r.cfg.MaxInFlight))
			ends[partitionKey{topic, int32(p)}] = kafka.Offset(high)
			assign = append(assign, kafka.TopicPartition{Topic: &topic, Partition: int32(p), Offset: kafka.Offset(start)})
		}
	}
	if len(assign) == 0 {
		return nil, nil
	}
	if err := c.Assign(assign); err != nil {
		return nil, fmt.Errorf("assign: %w", err)
	}

	var ids []string
	deadline := time.Now().Add(30 * time.Second)
	for len(ends) > 0 {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("reading partition tails: timed out with %d partitions left", len(ends))
		}
		ev := c.Poll(100)
		m, ok := ev.(*kafka.Message)
		if !ok {
			if kerr, isErr := ev.(kafka.Error); isErr {
				return nil, fmt.Errorf("reading partition tails: %w", kerr)
			}
			continue
		}
		if m.TopicPartition.Error != nil {
			return nil, fmt.Errorf("reading partition tails: %w", m.TopicPartition.Error)
		}
		for _, h := range m.Headers {
			if h.Key == schema.HeaderEventID {
				ids = append(ids, string(h.Value))
			}
		}
		key := partitionKey{*m.TopicPartition.Topic, m.TopicPartition.Partition}
		if end, ok := ends[key]; ok && m.TopicPartition.Offset+1 >= end {
			delete(ends, key)
		}
	}
	return ids, nil
}

type partitionKey struct {
	topic string
	id    int32
}
