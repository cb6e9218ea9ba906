package mirror

import (
	"context"
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/orderflow/orderflow/platform/broker"
)

// Lag returns how many events the mirror group has yet to publish: the sum
// over the mirrored partitions of the end offset (the last stable offset, as
// the read_committed consumer sees it) minus the group's committed offset.
// A partition the group never committed counts from its first offset.
//
// It asks Kafka, not the running consumer, so it measures the group — all
// replicas of the gateway — and works in a replica that is not mirroring at
// the moment. Offsets are committed every 500 ms, so the figure trails by
// that much. Cost: a metadata request per topic and two or three offset
// requests, cheap enough for /readyz and a metrics scrape.
func (m *Mirror) Lag(ctx context.Context) (int64, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	d, _ := ctx.Deadline()
	var tps []kafka.TopicPartition
	for _, topic := range m.topics {
		n, err := broker.Partitions(m.admin, topic, left(d))
		if err != nil {
			return 0, fmt.Errorf("mirror lag: %w", err)
		}
		for p := range int32(n) {
			tps = append(tps, kafka.TopicPartition{Topic: &topic, Partition: p})
		}
	}

	res, err := m.group.Committed(tps, int(left(d).Milliseconds()))
	if err != nil {
		return 0, fmt.Errorf("mirror lag: committed offsets: %w", err)
	}
	committed := map[partition]kafka.Offset{}
	for _, tp := range res {
		if tp.Error != nil {
			return 0, fmt.Errorf("mirror lag: committed offset of %s/%d: %w", *tp.Topic, tp.Partition, tp.Error)
		}
		if tp.Offset >= 0 {
			committed[key(tp)] = tp.Offset
		}
	}

	ends, err := m.offsets(ctx, tps, kafka.LatestOffsetSpec)
	if err != nil {
		return 0, err
	}
	var uncommitted []kafka.TopicPartition
	for _, tp := range tps {
		if _, ok := committed[key(tp)]; !ok {
			uncommitted = append(uncommitted, tp)
		}
	}
	if len(uncommitted) > 0 {
		starts, err := m.offsets(ctx, uncommitted, kafka.EarliestOffsetSpec)
		if err != nil {
			return 0, err
		}
		for k, off := range starts {
			committed[k] = off
		}
	}
	var lag int64
	for _, tp := range tps {
		k := key(tp)
		if d := int64(ends[k] - committed[k]); d > 0 {
			lag += d
		}
	}
	return lag, nil
}

// left is the time until d, at least a millisecond: librdkafka takes a
// negative timeout to mean "wait forever".
func left(d time.Time) time.Duration { return max(time.Until(d), time.Millisecond) }

type partition struct {
	topic string
	id    int32
}

func key(tp kafka.TopicPartition) partition { return partition{*tp.Topic, tp.Partition} }

// offsets lists one offset of each partition, as a read_committed consumer
// sees them.
func (m *Mirror) offsets(ctx context.Context, tps []kafka.TopicPartition, spec kafka.OffsetSpec) (map[partition]kafka.Offset, error) {
	req := make(map[kafka.TopicPartition]kafka.OffsetSpec, len(tps))
	for _, tp := range tps {
		req[tp] = spec
	}
	res, err := m.admin.ListOffsets(ctx, req, kafka.SetAdminIsolationLevel(kafka.IsolationLevelReadCommitted))
	if err != nil {
		return nil, fmt.Errorf("mirror lag: list offsets: %w", err)
	}
	out := make(map[partition]kafka.Offset, len(res.ResultInfos))
	for tp, info := range res.ResultInfos {
		if info.Error.Code() != kafka.ErrNoError {
			return nil, fmt.Errorf("mirror lag: offset of %s/%d: %w", *tp.Topic, tp.Partition, info.Error)
		}
		out[key(tp)] = info.Offset
	}
	return out, nil
}
