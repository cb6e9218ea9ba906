package consumer

import (
	"context"
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/orderflow/orderflow/platform/broker"
)

// runToEnd is Run with StopAtEnd: it assigns itself every non-empty
// partition of the topics from its first offset, hands each partition's
// messages below the end it had now to that partition's worker, and returns
// once every worker has handled them.
func (c *Consumer) runToEnd(ctx context.Context) error {
	ends, err := c.assignFromStart()
	if err != nil {
		return err
	}
	c.once.Do(func() { close(c.ready) })
	c.log.Info("reading to the end", "topics", c.cfg.Topics, "partitions", len(ends))
	finish := func(key partition) {
		if w, ok := c.workers[key]; ok && ends[key] >= 0 {
			close(w.queue) // the worker handles what is queued, then returns
			ends[key] = -1
		}
	}
	unfinished := func() bool {
		for _, end := range ends {
			if end >= 0 {
				return true
			}
		}
		return false
	}
	for unfinished() && ctx.Err() == nil {
		switch ev := c.kc.Poll(100).(type) {
		case *kafka.Message:
			if ev.TopicPartition.Error != nil {
				c.log.Warn("fetch error", "err", ev.TopicPartition.Error)
				continue
			}
			key := partitionKey(ev.TopicPartition)
			end, offset := ends[key], int64(ev.TopicPartition.Offset)
			if end < 0 || offset >= end { // appended after the start
				finish(key)
				continue
			}
			select {
			case c.workers[key].queue <- ev:
			case <-ctx.Done():
			}
			if offset >= end-1 {
				finish(key)
			}
		case kafka.PartitionEOF:
			// The end is a transaction marker rather than a message.
			if key := partitionKey(kafka.TopicPartition(ev)); int64(ev.Offset) >= ends[key] {
				finish(key)
			}
		case kafka.Error:
			if ev.IsFatal() {
				c.stopWorkers(nil)
				return fmt.Errorf("kafka fatal error: %w", ev)
			}
			c.log.Warn("kafka error", "err", ev)
		}
	}
	for _, w := range c.workers {
		select {
		case <-w.done:
		case <-ctx.Done():
		}
	}
	if err := ctx.Err(); err != nil {
		c.stopWorkers(nil)
		return fmt.Errorf("read to the end: %w", err)
	}
	c.log.Info("read to the end", "partitions", len(ends))
	return nil
}

// assignFromStart assigns every non-empty partition of the topics from its
// first offset, starts its worker, and returns the end of each (its high
// watermark: the offset after its last message).
func (c *Consumer) assignFromStart() (map[partition]int64, error) {
	ends := map[partition]int64{}
	var assign []kafka.TopicPartition
	for _, topic := range c.cfg.Topics {
		n, err := broker.Partitions(c.kc, topic, 10*time.Second)
		if err != nil {
			return nil, err
		}
		for id := range int32(n) {
			low, high, err := c.kc.QueryWatermarkOffsets(topic, id, 10_000)
			if err != nil {
				return nil, fmt.Errorf("watermarks %s/%d: %w", topic, id, err)
			}
			if high > low {
				ends[partition{topic: topic, id: id}] = high
				assign = append(assign, kafka.TopicPartition{Topic: &topic, Partition: id, Offset: kafka.OffsetBeginning})
			}
		}
	}
	if len(assign) == 0 {
		return ends, nil
	}
	if err := c.kc.Assign(assign); err != nil {
		return nil, fmt.Errorf("assign: %w", err)
	}
	for _, tp := range assign {
		c.startWorker(tp)
	}
	return ends, nil
}
