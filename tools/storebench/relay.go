package storebench

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"golang.org/x/sync/errgroup"

	"github.com/orderflow/orderflow/platform/broker"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/outbox"
	"github.com/orderflow/orderflow/schema"
	"github.com/orderflow/orderflow/tools/measure"
)

// measureRelay offers rate appends per second on a fixed schedule while an
// outbox relay with its default settings and the store's notifier run as in
// a service, publishing to a new topic, and a consumer of that topic notes
// when each event arrives.
func measureRelay(ctx context.Context, db *database, cfg Config, rate int, log *slog.Logger) (RelayLatency, error) {
	topic := measure.UniqueName("storebench")
	if err := broker.EnsureTopics(ctx, cfg.Brokers, broker.TopicSpec{Name: topic, Partitions: partitions}); err != nil {
		return RelayLatency{}, err
	}
	defer measure.DeleteTopic(cfg.Brokers, topic, log)
	received, stopReceiving, err := receive(cfg.Brokers, topic)
	if err != nil {
		return RelayLatency{}, err
	}
	defer stopReceiving()
	relay := outbox.New(outbox.Config{Brokers: cfg.Brokers}, db.Pool, log)
	store := newStore(db, topic, eventstore.WithLocalRelay(relay))
	stop := background(ctx, relay.Run, store.RunNotifier)
	defer stop() //nolint:errcheck // the phase's own error comes first

	w := measure.NewWindow(cfg.Warmup, cfg.Duration)
	profile := startProfile(ctx, db, w)
	events, err := offer(ctx, cfg.Writers, store, rate, w)
	prof := profile()
	if err != nil {
		return RelayLatency{}, err
	}
	for deadline := time.Now().Add(drainTimeout); received() < len(events) && time.Now().Before(deadline); {
		if !measure.SleepUntil(ctx, time.Now().Add(20*time.Millisecond)) {
			return RelayLatency{}, ctx.Err()
		}
	}
	time.Sleep(200 * time.Millisecond) // a late duplicate would show up here
	out := summarise(rate, w, events, stopReceiving())
	out.Profile = prof
	if st := relay.Stats(); st.Sessions != 1 {
		log.Warn("the relay restarted its producer session during the run", "sessions", st.Sessions)
	}
	return out, stop()
}

// sent is one appended event as the generator saw it.
type sent struct {
	eventID          string
	intended, commit time.Time // when the schedule said to send it, when Append returned
}

// offer appends events on a fixed schedule, rate per second from now until
// the window ends, with a pool of writers that take the schedule's slots in
// turn, and returns every event appended. The schedule does not wait for the
// writers: if they fall behind, the next slot is already due and its
// latency, counted from the slot's time, shows it.
func offer(ctx context.Context, writers int, store *eventstore.Store, rate int, w measure.Window) ([]sent, error) {
	start, interval := time.Now(), time.Second/time.Duration(rate)
	var next atomic.Int64
	results := make([][]sent, writers)
	g, ctx := errgroup.WithContext(ctx)
	for i := range writers {
		sw := &streamWriter{store: store}
		g.Go(func() error {
			for {
				at := start.Add(time.Duration(next.Add(1)-1) * interval)
				if !at.Before(w.End) {
					return nil
				}
				if !measure.SleepUntil(ctx, at) {
					return ctx.Err()
				}
				id, err := sw.appendOne(ctx)
				if err != nil {
					return err
				}
				results[i] = append(results[i], sent{eventID: id, intended: at, commit: time.Now()})
			}
		})
	}
	err := g.Wait()
	var all []sent
	for _, r := range results {
		all = append(all, r...)
	}
	return all, err
}

// summarise matches what the generator appended with what the consumer
// received.
func summarise(rate int, w measure.Window, events []sent, received []receipt) RelayLatency {
	out := RelayLatency{Offered: rate}
	first := make(map[string]receipt, len(received))
	for _, r := range received {
		if _, dup := first[r.eventID]; dup {
			out.Duplicates++
		} else {
			first[r.eventID] = r
		}
	}
	var toReceipt []time.Duration
	committed := 0
	for _, e := range events {
		if w.Contains(e.commit) {
			committed++
		}
		if !w.Contains(e.intended) {
			continue
		}
		out.Events++
		r, ok := first[e.eventID]
		if !ok {
			out.Missing++
			continue
		}
		toReceipt = append(toReceipt, r.at.Sub(e.commit))
	}
	out.Achieved = float64(committed) / w.Seconds()
	out.CommitToReceipt = measure.Summarise(toReceipt)
	return out
}

type receipt struct {
	eventID string
	at      time.Time
}

// receive reads topic from the start of every partition, with the consumer
// settings the services use, and notes when each event arrives. count says
// how many have; stop ends the consumer and returns them, and the same again
// if called again.
func receive(brokers, topic string) (count func() int, stop func() []receipt, err error) {
	c, err := kafka.NewConsumer(broker.ConsumerConfig(brokers, measure.UniqueName("storebench")))
	if err != nil {
		return nil, nil, fmt.Errorf("consumer: %w", err)
	}
	tps := make([]kafka.TopicPartition, partitions)
	for p := range tps {
		tps[p] = kafka.TopicPartition{Topic: &topic, Partition: int32(p), Offset: kafka.OffsetBeginning}
	}
	if err := c.Assign(tps); err != nil {
		_ = c.Close()
		return nil, nil, fmt.Errorf("assign: %w", err)
	}
	var n atomic.Int64
	var quit atomic.Bool
	done := make(chan []receipt, 1)
	go func() {
		var got []receipt
		for !quit.Load() {
			if m, ok := c.Poll(20).(*kafka.Message); ok && m.TopicPartition.Error == nil {
				rc := receipt{at: time.Now()}
				for _, h := range m.Headers {
					if h.Key == schema.HeaderEventID {
						rc.eventID = string(h.Value)
					}
				}
				got = append(got, rc)
				n.Add(1)
			}
		}
		done <- got
	}()
	return func() int { return int(n.Load()) }, sync.OnceValue(func() []receipt {
		quit.Store(true)
		got := <-done
		_ = c.Close()
		return got
	}), nil
}
