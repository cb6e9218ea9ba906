package loadbench

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/schema"
	"github.com/orderflow/orderflow/tools/measure"
)

// Hop is one stage of a PAID order's way, with how long it took over the
// orders of the run at half the knee. Every time is on this machine's one
// clock: the load's, Postgres's now() (an event's recorded_at is its
// transaction's start) and the Kafka producer's message timestamp.
type Hop struct {
	Name  string  `json:"name"`
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
}

// hopNames are the stages, in order.
var hopNames = []string{
	"scheduled start → OrderCreated transaction (gateway, order service)",
	"OrderCreated transaction → on Kafka (commit, order relay)",
	"on Kafka → PaymentRequested transaction (payment consumer)",
	"PaymentRequested → PaymentCaptured transaction (PSP charge)",
	"PaymentCaptured transaction → on Kafka (commit, payment relay)",
	"on Kafka → OrderPaid transaction (order consumer)",
	"OrderPaid transaction → on Kafka (commit, order relay)",
	"on Kafka → PAID pushed (mirror, JetStream, status feed, websocket)",
}

// event is what the breakdown needs of a stored event.
type event struct {
	id, typ, order string
	recorded       time.Time
	onKafka        time.Time
}

// measureHops splits the way of the PAID orders of s into stages, from the
// stores and the Kafka topics.
func measureHops(ctx context.Context, cfg Config, s *stepRun, log *slog.Logger) ([]Hop, error) {
	pushed := map[string]time.Time{} // order id → when PAID was pushed
	for _, o := range s.orders {
		if s.received[o] && o.status == "PAID" && s.window.Contains(o.intended) {
			pushed[o.id] = o.intended.Add(o.final)
		}
	}
	if len(pushed) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(pushed))
	for id := range pushed {
		ids = append(ids, id)
	}
	events := map[string]*event{} // by event id
	for _, dsn := range []string{cfg.Sources.OrderDSN, cfg.Sources.PaymentDSN} {
		if err := readEvents(ctx, dsn, ids, events); err != nil {
			return nil, fmt.Errorf("hops: %w", err)
		}
	}
	from := s.window.Start.Add(-time.Second)
	if err := readKafkaTimes(ctx, cfg.Brokers, schema.TopicsWithPrefix(cfg.TopicPrefix), from, events); err != nil {
		return nil, fmt.Errorf("hops: %w", err)
	}
	onKafka := 0
	for _, e := range events {
		if !e.onKafka.IsZero() {
			onKafka++
		}
	}
	byOrder := map[string]map[string]*event{}
	for _, e := range events {
		if byOrder[e.order] == nil {
			byOrder[e.order] = map[string]*event{}
		}
		byOrder[e.order][e.typ] = e
	}
	samples := make([][]time.Duration, len(hopNames))
	for _, o := range s.orders {
		es, ok := byOrder[o.id]
		at, paid := pushed[o.id]
		if !ok || !paid {
			continue
		}
		created, requested := es[schema.TypeOrderCreated], es[schema.TypePaymentRequested]
		captured, orderPaid := es[schema.TypePaymentCaptured], es[schema.TypeOrderPaid]
		if created == nil || requested == nil || captured == nil || orderPaid == nil ||
			created.onKafka.IsZero() || captured.onKafka.IsZero() || orderPaid.onKafka.IsZero() {
			continue // not every event found (a topic read short): leave the order out
		}
		for i, d := range []time.Duration{
			created.recorded.Sub(o.intended),
			created.onKafka.Sub(created.recorded),
			requested.recorded.Sub(created.onKafka),
			captured.recorded.Sub(requested.recorded),
			captured.onKafka.Sub(captured.recorded),
			orderPaid.recorded.Sub(captured.onKafka),
			orderPaid.onKafka.Sub(orderPaid.recorded),
			at.Sub(orderPaid.onKafka),
		} {
			samples[i] = append(samples[i], d)
		}
	}
	if n := len(samples[0]); n < len(pushed) {
		log.Warn("stage breakdown: some orders left out, their events not all found", "orders", len(pushed), "kept", n,
			"events", len(events), "found_on_kafka", onKafka)
	}
	hops := make([]Hop, len(hopNames))
	for i, name := range hopNames {
		l := measure.Summarise(samples[i])
		hops[i] = Hop{Name: name, Count: l.Count, P50: msOf(l.P50), P99: msOf(l.P99)}
	}
	return hops, nil
}

func readEvents(ctx context.Context, dsn string, orderIDs []string, into map[string]*event) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT event_id::text, event_type, correlation_id, recorded_at FROM events
		WHERE correlation_id = ANY($1) AND event_type = ANY($2)`, orderIDs,
		[]string{schema.TypeOrderCreated, schema.TypePaymentRequested, schema.TypePaymentCaptured, schema.TypeOrderPaid})
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		e := &event{}
		if err := rows.Scan(&e.id, &e.typ, &e.order, &e.recorded); err != nil {
			return err
		}
		into[e.id] = e
	}
	return rows.Err()
}

// readKafkaTimes reads the topics from the offsets of time from to their
// ends, and notes each known event's message timestamp (when the relay
// produced it).
func readKafkaTimes(ctx context.Context, brokers string, topics schema.Topics, from time.Time, events map[string]*event) error {
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": brokers, "group.id": measure.UniqueName("loadbench"),
		"enable.auto.commit": false, "isolation.level": "read_committed"})
	if err != nil {
		return err
	}
	defer c.Close()
	var tps []kafka.TopicPartition
	ends := map[string]int64{} // topic/partition → high watermark
	for _, topic := range []string{topics.Order, topics.Payment} {
		md, err := c.GetMetadata(&topic, false, 10000)
		if err != nil {
			return err
		}
		for _, p := range md.Topics[topic].Partitions {
			_, high, err := c.QueryWatermarkOffsets(topic, p.ID, 10000)
			if err != nil {
				return err
			}
			ends[fmt.Sprint(topic, "/", p.ID)] = high
			tps = append(tps, kafka.TopicPartition{Topic: &topic, Partition: p.ID, Offset: kafka.Offset(from.UnixMilli())})
		}
	}
	tps, err = c.OffsetsForTimes(tps, 10000)
	if err != nil {
		return err
	}
	tps = slices.DeleteFunc(tps, func(tp kafka.TopicPartition) bool { // nothing since from
		return tp.Offset < 0 || int64(tp.Offset) >= ends[fmt.Sprint(*tp.Topic, "/", tp.Partition)]
	})
	if err := c.Assign(tps); err != nil {
		return err
	}
	pending := len(tps)
	for deadline := time.Now().Add(30 * time.Second); pending > 0 && time.Now().Before(deadline) && ctx.Err() == nil; {
		m, ok := c.Poll(100).(*kafka.Message)
		if !ok || m.TopicPartition.Error != nil {
			continue
		}
		for _, h := range m.Headers {
			if e := events[string(h.Value)]; h.Key == schema.HeaderEventID && e != nil {
				e.onKafka = m.Timestamp
			}
		}
		if int64(m.TopicPartition.Offset)+1 >= ends[fmt.Sprint(*m.TopicPartition.Topic, "/", m.TopicPartition.Partition)] {
			pending--
		}
	}
	return nil
}
