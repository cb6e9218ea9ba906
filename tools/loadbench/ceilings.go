package loadbench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"

	"github.com/orderflow/orderflow/platform/broker"
	"github.com/orderflow/orderflow/tools/measure"
)

// Ceilings are what this machine's Postgres and Kafka do at most, with the
// benchmark's concurrency, while orderflow's services sit idle.
type Ceilings struct {
	Writers int `json:"writers"`
	// PGCommitsPerSec is single-row INSERT transactions per second with
	// fsync on, each writer committing one after the other (closed loop).
	PGCommitsPerSec float64            `json:"pg_commit_ceiling_tps"`
	PGCommit        Summary            `json:"pg_commit_latency"`
	PGCPU           map[string]float64 `json:"pg_cpu_cores"`
	// Kafka is produce → consume round trips, each writer producing a
	// message and waiting for a consumer to receive it before the next.
	KafkaPerSec float64            `json:"kafka_roundtrips_per_second"`
	Kafka       Summary            `json:"kafka_roundtrip"`
	KafkaCPU    map[string]float64 `json:"kafka_cpu_cores"`
}

// measureCeilings measures both ceilings, one after the other.
func measureCeilings(ctx context.Context, cfg Config, log *slog.Logger) (Ceilings, error) {
	c := Ceilings{Writers: cfg.Writers}
	db, err := measure.CreateScratchDB(ctx, cfg.AdminDSN, "loadbench", cfg.Writers)
	if err != nil {
		return c, err
	}
	defer db.Drop(log)
	if err := measure.CreateCeilingTable(ctx, db.Pool); err != nil {
		return c, err
	}
	w := measure.NewWindow(time.Second, cfg.CeilingTime)
	cpu := measure.WatchCPU(ctx, w, classify)
	t, err := measure.InsertCeiling(ctx, db.Pool, cfg.Writers, w)
	if err != nil {
		return c, fmt.Errorf("postgres ceiling: %w", err)
	}
	c.PGCommitsPerSec, c.PGCPU = t.PerSec, cpu().Groups
	c.PGCommit = Summary{Count: int64(t.Ops), P50: msOf(t.Latency.P50), P99: msOf(t.Latency.P99), Max: msOf(t.Latency.Max)}
	log.Info("postgres ceiling", "commits_per_sec", measure.Thousands(t.PerSec), "latency_ms", t.Latency)

	if err := kafkaRoundTrips(ctx, cfg, &c, log); err != nil {
		return c, fmt.Errorf("kafka round trip: %w", err)
	}
	log.Info("kafka round trip", "per_sec", measure.Thousands(c.KafkaPerSec), "p50_ms", c.Kafka.P50, "p99_ms", c.Kafka.P99)
	return c, nil
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

const roundTripPartitions = 6

// kafkaRoundTrips runs writers that each produce a message to a topic made
// for the measurement and wait until a consumer receives it, with the
// platform's producer and consumer settings (idempotent, acks=all;
// read_committed).
func kafkaRoundTrips(ctx context.Context, cfg Config, c *Ceilings, log *slog.Logger) error {
	topic := measure.UniqueName("loadbench")
	if err := broker.EnsureTopics(ctx, cfg.Brokers, broker.TopicSpec{Name: topic, Partitions: roundTripPartitions}); err != nil {
		return err
	}
	defer measure.DeleteTopic(cfg.Brokers, topic, log)

	producer, err := kafka.NewProducer(broker.ProducerConfig(cfg.Brokers))
	if err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	defer producer.Close()
	go func() {
		for range producer.Events() { // delivery reports: a lost message shows as a round trip that never ends
		}
	}()
	consumer, err := kafka.NewConsumer(broker.ConsumerConfig(cfg.Brokers, measure.UniqueName("loadbench")))
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	tps := make([]kafka.TopicPartition, roundTripPartitions)
	for p := range tps {
		tps[p] = kafka.TopicPartition{Topic: &topic, Partition: int32(p), Offset: kafka.OffsetBeginning}
	}
	if err := consumer.Assign(tps); err != nil {
		_ = consumer.Close()
		return fmt.Errorf("assign: %w", err)
	}
	var waiting sync.Map // message key → chan struct{}
	stop := make(chan struct{})
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if m, ok := consumer.Poll(20).(*kafka.Message); ok && m.TopicPartition.Error == nil {
				if ch, ok := waiting.LoadAndDelete(string(m.Key)); ok {
					close(ch.(chan struct{}))
				}
			}
		}
	}()
	defer func() {
		close(stop)
		<-consumed
		_ = consumer.Close()
	}()

	// The consumer's first fetch takes a while after Assign: the warm-up
	// absorbs it.
	w := measure.NewWindow(2*time.Second, cfg.CeilingTime)
	cpu := measure.WatchCPU(ctx, w, classify)
	t, err := measure.ClosedLoop(ctx, cfg.Writers, w, func() func(context.Context) error {
		return func(ctx context.Context) error {
			key := uuid.NewString()
			arrived := make(chan struct{})
			waiting.Store(key, arrived)
			err := producer.Produce(&kafka.Message{
				TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
				Key:            []byte(key), Value: make([]byte, 300), // about an event's size
			}, nil)
			if err != nil {
				return err
			}
			select {
			case <-arrived:
				return nil
			case <-time.After(30 * time.Second):
				return errors.New("a produced message did not reach the consumer within 30s")
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	})
	if err != nil {
		return err
	}
	c.KafkaPerSec, c.KafkaCPU = t.PerSec, cpu().Groups
	c.Kafka = Summary{Count: int64(t.Ops), P50: msOf(t.Latency.P50), P99: msOf(t.Latency.P99), Max: msOf(t.Latency.Max)}
	return nil
}
