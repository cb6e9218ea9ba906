package consumer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/orderflow/orderflow/platform/backoff"
	"github.com/orderflow/orderflow/schema"
)

// Parking is where a consumer sets messages aside: platform/parking keeps
// them in the service's Postgres. With a Parking (Config.Parking), a message
// that keeps failing transiently past the retry budget (Config.ParkAfter,
// Config.ParkAfterAttempts) is parked instead of holding up its partition,
// and its key (the order) is held: the key's later messages on the
// partition are parked behind it, in order, while other keys proceed. Dead
// letters are recorded there too, besides the dead-letter topic.
//
// The worker of a partition carries out the replays asked of it (state
// replaying in the store), between its batches, through the handler, and
// lets a message parked only because of its predecessor flow as soon as
// none is left before it. A partition's held keys are read from the store
// before its worker handles its first message, so neither a restart nor a
// rebalance lets an order's later event overtake its parked one.
type Parking interface {
	// SetAside records a message set aside by a consumer group, idempotently
	// per group, topic, partition and offset (a message delivered again
	// after a crash updates its row). It is durable when it returns.
	SetAside(ctx context.Context, m SetAside) error
	// HeldKeys returns the keys a partition holds — those with a parked
	// message waiting or replaying — each with the offset of its first such
	// message.
	HeldKeys(ctx context.Context, group, topic string, partition int32) (map[string]int64, error)
	// ReplayPartitions returns the partitions of group that have replays due.
	ReplayPartitions(ctx context.Context, group string) ([]TopicPartition, error)
	// Replays returns a partition's replays due, in offset order: messages
	// whose replay was asked for, and parked messages that never failed
	// themselves once no earlier message of their key is parked; never two
	// of one key.
	Replays(ctx context.Context, group, topic string, partition int32) ([]Replay, error)
	// Replayed records how a replay ended.
	Replayed(ctx context.Context, id int64, outcome ReplayOutcome) error
}

// TopicPartition names a partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// SetAside is a message a consumer set aside, with why.
type SetAside struct {
	DeadLetter bool // else parked
	Group      string
	Topic      string
	Partition  int32
	Offset     int64
	Key        string
	Value      []byte
	Headers    []schema.MessageHeader
	Reason     string
	// Attempts is how many times the handler failed on it; 0 for a message
	// parked behind an earlier one of its key.
	Attempts int
}

// Replay is a message set aside whose replay is due.
type Replay struct {
	ID         int64
	DeadLetter bool
	Key        string
	Offset     int64
	Value      []byte
	Headers    []schema.MessageHeader
}

// ReplayOutcome is how a replay ended: Err nil, handled; else set aside
// again with Err as the reason — as a dead letter if Permanent.
type ReplayOutcome struct {
	Err       error
	Attempts  int
	Permanent bool
}

// result is how the handling of one message ended.
type result int

const (
	handled    result = iota
	failed            // permanently: dead-letter it
	overBudget        // transiently, past the retry budget: park it
	stopped           // the worker was stopped first
)

// attempt hands msg to the handler until it is handled, fails permanently,
// or — with parking on — keeps failing past the retry budget; without
// parking it retries until stopped. It returns the result, the number of
// failed attempts and the last error.
func (w *worker) attempt(ctx context.Context, msg Message) (result, int, error) {
	c := w.c
	hctx := logContext(ctx, msg)
	start := time.Now()
	delay := c.cfg.RetryInitial
	for attempt := 1; ; attempt++ {
		err := w.handle(hctx, []Message{msg})
		if err == nil {
			return handled, attempt - 1, nil
		}
		if IsPermanent(err) {
			return failed, attempt, err
		}
		w.m.retries.Inc()
		if c.cfg.Parking != nil && (attempt >= c.cfg.ParkAfterAttempts || time.Since(start)+delay > c.cfg.ParkAfter) {
			return overBudget, attempt, err
		}
		c.log.WarnContext(hctx, "handler failed, will retry", "attempt", attempt, "retry_in", delay.String(),
			"err", err)
		if !backoff.Sleep(ctx, backoff.Jitter(delay)) {
			return stopped, attempt, err
		}
		delay = min(delay*2, c.cfg.RetryMax)
	}
}

// holder returns the offset of the parked message that holds m's key, if
// one does.
func (w *worker) holder(m *kafka.Message) (int64, bool) {
	if len(w.held) == 0 {
		return 0, false
	}
	off, ok := w.held[string(m.Key)]
	return off, ok
}

// park sets m aside as parked, holds its key, and stores its offset. It
// retries the store until it is durable or the worker is stopped.
func (w *worker) park(ctx context.Context, m *kafka.Message, reason string, attempts int) bool {
	c := w.c
	if !w.setAside(ctx, m, false, reason, attempts) {
		return false
	}
	key := string(m.Key)
	if _, ok := w.held[key]; !ok {
		w.held[key] = int64(m.TopicPartition.Offset)
		w.setHeld()
	}
	c.log.Warn("message parked: its order's later messages on this partition wait behind it",
		"key", key, "topic", *m.TopicPartition.Topic, "partition", m.TopicPartition.Partition,
		"offset", m.TopicPartition.Offset, "attempts", attempts, "reason", reason)
	w.m.parked.Inc()
	if attempts > 0 {
		w.m.parkedBudget.Inc()
	} else {
		w.m.parkedHeld.Inc()
	}
	w.store(m)
	return true
}

// setAside records m in the parking store, retrying until it is durable.
func (w *worker) setAside(ctx context.Context, m *kafka.Message, deadLetter bool, reason string, attempts int) bool {
	c := w.c
	rec := SetAside{DeadLetter: deadLetter, Group: c.cfg.Group, Topic: *m.TopicPartition.Topic,
		Partition: m.TopicPartition.Partition, Offset: int64(m.TopicPartition.Offset), Key: string(m.Key),
		Value: m.Value, Headers: headersOf(m), Reason: reason, Attempts: attempts}
	delay := c.cfg.RetryInitial
	for {
		err := c.cfg.Parking.SetAside(ctx, rec)
		if err == nil {
			return true
		}
		c.log.Warn("could not record a message set aside, will retry", "offset", rec.Offset, "err", err)
		if !backoff.Sleep(ctx, backoff.Jitter(delay)) {
			return false
		}
		delay = min(delay*2, c.cfg.RetryMax)
	}
}

// loadHeld reads the partition's held keys from the store, retrying until
// it has them or the worker is stopped.
func (w *worker) loadHeld(ctx context.Context) bool {
	c := w.c
	delay := c.cfg.RetryInitial
	for {
		held, err := c.cfg.Parking.HeldKeys(ctx, c.cfg.Group, *w.tp.Topic, w.tp.Partition)
		if err == nil {
			w.held = held
			w.setHeld()
			return true
		}
		c.log.Warn("could not read the partition's parked keys, will retry", "partition", w.tp.Partition, "err", err)
		if !backoff.Sleep(ctx, backoff.Jitter(delay)) {
			return false
		}
		delay = min(delay*2, c.cfg.RetryMax)
	}
}

func (w *worker) setHeld() {
	w.heldCount.Store(int64(len(w.held)))
	w.c.setHeldGauge(w, len(w.held))
}

// replay carries out the partition's due replays, round after round (a
// message parked behind another becomes due once that one is done), then
// reads the held keys again. It returns false if it was stopped.
func (w *worker) replay(ctx context.Context) bool {
	c := w.c
	for ctx.Err() == nil {
		due, err := c.cfg.Parking.Replays(ctx, c.cfg.Group, *w.tp.Topic, w.tp.Partition)
		if err != nil {
			c.log.Warn("could not read the partition's replays; they are tried again later", "err", err)
			break
		}
		if len(due) == 0 {
			break
		}
		for _, r := range due {
			if !w.replayOne(ctx, r) {
				return false
			}
		}
	}
	return ctx.Err() == nil && w.loadHeld(ctx)
}

// replayOne hands one replay to the handler and records how it ended.
func (w *worker) replayOne(ctx context.Context, r Replay) bool {
	c := w.c
	m := r.message(w.tp)
	var out ReplayOutcome
	msg, err := w.decode(m)
	if err != nil {
		out = ReplayOutcome{Err: fmt.Errorf("undecodable: %w", err), Permanent: true}
	} else {
		res, attempts, err := w.attempt(ctx, msg)
		if res == stopped {
			return false
		}
		out = ReplayOutcome{Err: err, Attempts: attempts, Permanent: res == failed}
	}
	if out.Permanent && !w.publishDeadLetter(ctx, m, out.Err.Error()) {
		return false
	}
	delay := c.cfg.RetryInitial
	for {
		err := c.cfg.Parking.Replayed(ctx, r.ID, out)
		if err == nil {
			break
		}
		c.log.Warn("could not record a replay's outcome, will retry", "id", r.ID, "err", err)
		if !backoff.Sleep(ctx, backoff.Jitter(delay)) {
			return false
		}
		delay = min(delay*2, c.cfg.RetryMax)
	}
	outcome := ReplayHandled
	switch {
	case out.Permanent:
		outcome = ReplayDeadLettered
	case out.Err != nil:
		outcome = ReplayParked
	}
	w.m.replays.WithLabelValues(w.m.group, w.m.topic, outcome).Inc()
	c.log.Info("message replayed", "id", r.ID, "key", r.Key, "offset", r.Offset, "outcome", outcome, "err", out.Err)
	return true
}

// message is the Kafka message a replay hands the handler again.
func (r Replay) message(tp kafka.TopicPartition) *kafka.Message {
	m := &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: tp.Topic, Partition: tp.Partition, Offset: kafka.Offset(r.Offset)},
		Key: []byte(r.Key), Value: r.Value, Headers: make([]kafka.Header, len(r.Headers))}
	for i, h := range r.Headers {
		m.Headers[i] = kafka.Header{Key: h.Key, Value: []byte(h.Value)}
	}
	return m
}

func headersOf(m *kafka.Message) []schema.MessageHeader {
	hs := make([]schema.MessageHeader, len(m.Headers))
	for i, h := range m.Headers {
		hs[i] = schema.MessageHeader{Key: h.Key, Value: string(h.Value)}
	}
	return hs
}

// watchReplays pokes, every ReplayInterval and whenever WakeReplays is
// called, the workers that have replays due or hold keys (a discard may
// have freed one), until ctx ends. It costs one query per interval, and
// nothing per message.
func (c *Consumer) watchReplays(ctx context.Context) {
	t := time.NewTicker(c.cfg.ReplayInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.wake:
		}
		due, err := c.cfg.Parking.ReplayPartitions(ctx, c.cfg.Group)
		if err != nil && !errors.Is(err, context.Canceled) {
			c.log.Debug("replays: could not read the partitions with replays due", "err", err)
		}
		c.workersMu.RLock()
		for key, w := range c.workers {
			if w.heldCount.Load() > 0 || containsPartition(due, key) {
				w.pokeReplay()
			}
		}
		c.workersMu.RUnlock()
	}
}

func containsPartition(tps []TopicPartition, key partition) bool {
	for _, tp := range tps {
		if tp.Topic == key.topic && tp.Partition == key.id {
			return true
		}
	}
	return false
}

// WakeReplays makes the consumer look for due replays now instead of at
// its next interval: the triage API calls it after asking for a replay or
// discarding a message. Without a Parking it does nothing.
func (c *Consumer) WakeReplays() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (w *worker) pokeReplay() {
	select {
	case w.replayDue <- struct{}{}:
	default:
	}
}

// setHeldGauge sets the held keys gauge of w's partition, unless w was
// stopped meanwhile (see setLag).
func (c *Consumer) setHeldGauge(w *worker, n int) {
	c.lagMu.Lock()
	defer c.lagMu.Unlock()
	if !w.forgotten {
		c.cfg.Metrics.held.WithLabelValues(c.cfg.Group, *w.tp.Topic, strconv.Itoa(int(w.tp.Partition))).Set(float64(n))
	}
}
