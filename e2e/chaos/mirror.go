package chaos

import (
	"context"
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

// storedEventIDs returns the id of every event in the given stores.
func storedEventIDs(ctx context.Context, dsns ...string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, dsn := range dsns {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return nil, err
		}
		rows, err := conn.Query(ctx, `SELECT event_id::text FROM events`)
		if err != nil {
			conn.Close(ctx)
			return nil, err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				conn.Close(ctx)
				return nil, err
			}
			out[id] = true
		}
		err = rows.Err()
		conn.Close(ctx)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// kafkaEventIDs counts the event ids on a deployment's event topics, read
// from the first offset of every partition to its end.
func kafkaEventIDs(ctx context.Context, prefix string) (map[string]int, error) {
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers": testenv.KafkaBrokers(), "group.id": testenv.UniqueName("chaos-reader"),
		"enable.auto.commit": false, "auto.offset.reset": "earliest",
	})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var parts []kafka.TopicPartition
	remaining := map[string]int64{} // "topic/partition" -> offsets still to read
	for _, topic := range schema.TopicsWithPrefix(prefix).Events() {
		md, err := c.GetMetadata(&topic, false, 10_000)
		if err != nil {
			return nil, fmt.Errorf("metadata %s: %w", topic, err)
		}
		for _, p := range md.Topics[topic].Partitions {
			low, high, err := c.QueryWatermarkOffsets(topic, p.ID, 10_000)
			if err != nil {
				return nil, fmt.Errorf("watermarks %s/%d: %w", topic, p.ID, err)
			}
			if high > low {
				parts = append(parts, kafka.TopicPartition{Topic: &topic, Partition: p.ID, Offset: kafka.Offset(low)})
				remaining[fmt.Sprintf("%s/%d", topic, p.ID)] = high
			}
		}
	}
	out := map[string]int{}
	if len(parts) == 0 {
		return out, nil
	}
	if err := c.Assign(parts); err != nil {
		return nil, err
	}
	for len(remaining) > 0 {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("read topics: %w (%d partitions unread)", ctx.Err(), len(remaining))
		}
		m, ok := c.Poll(200).(*kafka.Message)
		if !ok || m.TopicPartition.Error != nil {
			continue
		}
		out[testenv.Header(m, schema.HeaderEventID)]++
		key := fmt.Sprintf("%s/%d", *m.TopicPartition.Topic, m.TopicPartition.Partition)
		if int64(m.TopicPartition.Offset)+1 >= remaining[key] {
			delete(remaining, key)
		}
	}
	return out, nil
}

// jetStreamEventIDs counts the event ids of the messages in a stream (the
// mirror copies each Kafka record's headers).
func jetStreamEventIDs(ctx context.Context, stream string) (map[string]int, error) {
	nc, err := nats.Connect(testenv.NATSURL())
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	total := int(info.State.Msgs)
	if total == 0 {
		return out, nil
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	for read := 0; read < total; {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, err
		}
		n := 0
		for m := range batch.Messages() {
			out[m.Headers().Get(schema.HeaderEventID)]++
			n++
		}
		if err := batch.Error(); err != nil {
			return nil, err
		}
		if n == 0 && ctx.Err() != nil {
			return nil, fmt.Errorf("read stream: %w (%d of %d read)", ctx.Err(), read, total)
		}
		read += n
	}
	return out, nil
}

// MirrorCheck compares the stores, Kafka and JetStream event by event.
type MirrorCheck struct {
	Stored                int `json:"stored"`
	InKafka               int `json:"inKafka"`
	InJetStream           int `json:"inJetStream"`
	MissingInKafka        int `json:"missingInKafka"`        // stored, never published
	DuplicatesInKafka     int `json:"duplicatesInKafka"`     // published more than once
	MissingInJetStream    int `json:"missingInJetStream"`    // in Kafka, not mirrored
	DuplicatesInJetStream int `json:"duplicatesInJetStream"` // mirrored more than once
}

func checkMirror(stored map[string]bool, inKafka, inJS map[string]int) MirrorCheck {
	var m MirrorCheck
	m.Stored = len(stored)
	for id, n := range inKafka {
		m.InKafka += n
		if n > 1 {
			m.DuplicatesInKafka += n - 1
		}
		if inJS[id] == 0 {
			m.MissingInJetStream++
		}
	}
	for id := range stored {
		if inKafka[id] == 0 {
			m.MissingInKafka++
		}
	}
	for _, n := range inJS {
		m.InJetStream += n
		if n > 1 {
			m.DuplicatesInJetStream += n - 1
		}
	}
	return m
}
