// Package consumer runs a Kafka consumer group loop for orderflow events.
//
// Guarantees: a message's offset is stored only after its handler succeeded
// or it was dead-lettered (at-least-once); each partition is handled by its
// own worker, in order, so one slow order does not stall the others (a
// partition whose queue is full is paused, not waited for); a transient
// error is retried with capped exponential backoff, without moving past the
// message; a message that can never be handled (undecodable, unknown type,
// or a handler error marked Permanent) is published to the dead-letter topic
// with the reason and its origin, and the partition moves on. Shutdown and
// revoke finish the handler call in hand (not the rest of a failed batch,
// which is delivered again), commit the stored offsets and flush the
// dead-letter producer.
//
// Handlers take messages in batches: a worker hands its handler every
// message that waited in its partition's queue (up to MaxBatch), so under
// load one transaction, one commit and one round of I/O serve many messages,
// while a lone message is handled at once. A batch's offsets are stored once
// the handler returned nil for all of it. A batch that fails is handed to
// the handler again one message at a time, so the message at fault is
// retried or dead-lettered alone and the others go through; each of those
// offsets is stored as its message is done.
//
// Config.StopAtEnd reads to the end instead, for rebuilding a derived store:
// the consumer joins no group — it assigns itself every partition of its
// topics from the first offset, whatever any group committed — and Run
// returns nil once every partition's messages up to the end it had at start
// were handled. It commits nothing, so the same Config rebuilds again from
// the beginning next time, and two rebuilds never split the partitions
// between them as members of one group would. Group then only names the
// reader (librdkafka needs one, and the dead-letter headers carry it).
//
// Config.Metrics counts each message once as it is done with (ok,
// retried, dead_lettered, skipped), times each handler call, and every few
// seconds measures each assigned partition's lag from the last offset its
// worker finished — so a partition stuck on a failing message shows a lag
// that does not go down, while the others' drain.
//
// Pair it with the inbox package for effectively-once effects.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/orderflow/orderflow/platform/backoff"
	"github.com/orderflow/orderflow/platform/broker"
	"github.com/orderflow/orderflow/platform/logging"
	"github.com/orderflow/orderflow/platform/tracing"
	"github.com/orderflow/orderflow/schema"
)

// Message is one decoded event with where it came from.
type Message struct {
	Envelope  schema.Envelope
	Topic     string
	Partition int32
	Offset    int64
	// Value and Headers are the message as Kafka holds it, for handlers that
	// pass it on unchanged (the JetStream mirror) instead of encoding again.
	Value   []byte
	Headers []schema.MessageHeader
}

// Handler handles messages of one partition, in the order Kafka holds them.
// A nil error stores the offsets of all of them. After an error — of any
// kind — the consumer hands the same messages to the handler again one at a
// time: then an error marked Permanent dead-letters that message, and any
// other error is retried with backoff. A handler must therefore leave no
// effect behind when it fails (its effects commit in one transaction, or not
// at all), or its effects must be idempotent (the inbox makes them so).
type Handler func(ctx context.Context, msgs []Message) error

// PerMessage adapts a function that handles one message at a time into a
// Handler: it stops at the first error, which the consumer then treats as
// above. Use it for handlers whose effects are idempotent per message.
func PerMessage(h func(ctx context.Context, msg Message) error) Handler {
	return func(ctx context.Context, msgs []Message) error {
		for _, msg := range msgs {
			if err := h(ctx, msg); err != nil {
				return err
			}
		}
		return nil
	}
}

// Filter returns a Handler that gives h only the messages keep accepts, and
// none of its time to a batch without any.
func Filter(keep func(Message) bool, h Handler) Handler {
	return func(ctx context.Context, msgs []Message) error {
		kept := msgs[:0:0]
		for _, msg := range msgs {
			if keep(msg) {
				kept = append(kept, msg)
			}
		}
		if len(kept) == 0 {
			return nil
		}
		return h(ctx, kept)
	}
}

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that no retry can fix (a broken invariant), so
// the message goes to the dead-letter topic instead of blocking its partition.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// Dead-letter headers added to the original message's headers.
const (
	HeaderDLQReason    = "dlq-reason"
	HeaderDLQTopic     = "dlq-original-topic"
	HeaderDLQPartition = "dlq-original-partition"
	HeaderDLQOffset    = "dlq-original-offset"
	HeaderDLQGroup     = "dlq-consumer-group"
)

// Config configures a consumer.
type Config struct {
	Brokers         string
	Group           string
	Topics          []string
	DeadLetterTopic string
	// RetryInitial and RetryMax bound the backoff between attempts of a
	// transiently failing message.
	RetryInitial time.Duration
	RetryMax     time.Duration
	// HandlerTimeout bounds one attempt of the handler.
	HandlerTimeout time.Duration
	// QueueSize is how many fetched messages may wait per partition.
	QueueSize int
	// MaxBatch is the most messages handed to the handler at once.
	MaxBatch int
	// Types, if set, are the only event types the handler is given: other
	// messages (told by their event-type header) are passed over without
	// being decoded, and their offsets stored.
	Types []string
	// StopAtEnd makes Run read every partition of Topics from its first
	// offset up to the end it had when Run started, without joining Group or
	// committing offsets, and return once all of it was handled (see the
	// package comment).
	StopAtEnd bool
	// Metrics receives the consumer's series; the consumers of a process
	// share one (NewMetrics). Nil: series nobody serves.
	Metrics *Metrics
	// LagInterval is how often the lag of the assigned partitions is
	// measured (one watermark query per partition). Default 5s.
	LagInterval time.Duration
	// Parking, if set, bounds the retries of a transiently failing message:
	// past ParkAfterAttempts failed attempts, or once retrying would take it
	// past ParkAfter since the first one, the message is parked and its key
	// held (see Parking). Dead letters are recorded there too. Nil: a
	// transiently failing message is retried until it succeeds.
	Parking           Parking
	ParkAfter         time.Duration // default 1m
	ParkAfterAttempts int           // default 10
	// ReplayInterval is how often the consumer looks for replays due
	// (besides when WakeReplays is called). Default 2s.
	ReplayInterval time.Duration
}

func (c *Config) setDefaults() {
	if c.DeadLetterTopic == "" {
		c.DeadLetterTopic = schema.TopicDeadLetter
	}
	if c.RetryInitial == 0 {
		c.RetryInitial = 100 * time.Millisecond
	}
	if c.RetryMax == 0 {
		c.RetryMax = 5 * time.Second
	}
	if c.HandlerTimeout == 0 {
		c.HandlerTimeout = 60 * time.Second
	}
	if c.QueueSize == 0 {
		c.QueueSize = 256
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 256
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(nil)
	}
	if c.LagInterval == 0 {
		c.LagInterval = 5 * time.Second
	}
	if c.ParkAfter == 0 {
		c.ParkAfter = time.Minute
	}
	if c.ParkAfterAttempts == 0 {
		c.ParkAfterAttempts = 10
	}
	if c.ReplayInterval == 0 {
		c.ReplayInterval = 2 * time.Second
	}
}

// Validate reports a missing setting.
func (c Config) Validate() error {
	switch {
	case c.Brokers == "":
		return errors.New("consumer: brokers are required")
	case c.Group == "":
		return errors.New("consumer: group is required")
	case len(c.Topics) == 0:
		return errors.New("consumer: at least one topic is required")
	}
	return nil
}

// Consumer is a running consumer group member.
type Consumer struct {
	cfg     Config
	codec   *schema.Codec
	handler Handler
	log     *slog.Logger

	kc  *kafka.Consumer
	dlq *kafka.Producer

	types map[string]bool // nil: every type
	// workers are changed by Run's goroutine only (rebalances run inside
	// its Poll), which reads them without the lock; the lag watcher reads
	// them under it.
	workers   map[partition]*worker
	workersMu sync.RWMutex
	lagMu     sync.Mutex // orders lag gauge updates with their removal
	wake      chan struct{}
	ready     chan struct{}
	once      sync.Once
}

// New connects a consumer; Run starts it.
func New(cfg Config, codec *schema.Codec, handler Handler, log *slog.Logger) (*Consumer, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	kcfg := broker.ConsumerConfig(cfg.Brokers, cfg.Group)
	if cfg.StopAtEnd {
		// Nothing is committed, and the end of a partition whose last
		// offsets are transaction markers is told by an EOF event.
		_ = kcfg.SetKey("enable.auto.commit", false)
		_ = kcfg.SetKey("enable.partition.eof", true)
	}
	kc, err := kafka.NewConsumer(kcfg)
	if err != nil {
		return nil, fmt.Errorf("new consumer: %w", err)
	}
	dlq, err := kafka.NewProducer(broker.ProducerConfig(cfg.Brokers))
	if err != nil {
		kc.Close()
		return nil, fmt.Errorf("new dead-letter producer: %w", err)
	}
	var types map[string]bool
	if len(cfg.Types) > 0 {
		types = make(map[string]bool, len(cfg.Types))
		for _, t := range cfg.Types {
			types[t] = true
		}
	}
	return &Consumer{
		cfg: cfg, codec: codec, handler: traced(cfg.Group, handler), types: types,
		log:     log.With("consumer_group", cfg.Group),
		kc:      kc,
		dlq:     dlq,
		workers: map[partition]*worker{},
		wake:    make(chan struct{}, 1),
		ready:   make(chan struct{}),
	}, nil
}

// Assigned is closed once the consumer has received its first partition
// assignment: tests wait on it before producing.
func (c *Consumer) Assigned() <-chan struct{} { return c.ready }

// Run consumes until ctx is done, then shuts down gracefully. It closes the
// consumer; a Consumer runs once. With StopAtEnd it returns nil once every
// partition was read to its end, and ctx's error if ctx ends first.
func (c *Consumer) Run(ctx context.Context) error {
	defer c.close()
	if c.cfg.StopAtEnd {
		return c.runToEnd(ctx)
	}
	if err := c.kc.SubscribeTopics(c.cfg.Topics, c.rebalance); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	lagCtx, stopLag := context.WithCancel(ctx)
	lagDone := make(chan struct{})
	go func() {
		defer close(lagDone)
		c.watchLag(lagCtx)
	}()
	defer func() { stopLag(); <-lagDone }() // before close: it uses the consumer
	if c.cfg.Parking != nil {
		replaysDone := make(chan struct{})
		go func() {
			defer close(replaysDone)
			c.watchReplays(lagCtx)
		}()
		defer func() { stopLag(); <-replaysDone }()
	}
	c.log.Info("consumer started", "topics", c.cfg.Topics)
	for ctx.Err() == nil {
		switch ev := c.kc.Poll(100).(type) {
		case *kafka.Message:
			if ev.TopicPartition.Error != nil {
				c.log.Warn("fetch error", "err", ev.TopicPartition.Error)
				continue
			}
			if w := c.workers[partitionKey(ev.TopicPartition)]; w != nil { // else not assigned any more: it will be redelivered
				c.enqueue(w, ev)
			}
		case kafka.Error:
			if ev.IsFatal() {
				return fmt.Errorf("kafka fatal error: %w", ev)
			}
			c.log.Warn("kafka error", "err", ev)
		}
		c.refill()
	}
	c.stopWorkers(nil)
	c.commit()
	return nil
}

// enqueue queues m for its worker without waiting: if the queue is full, m
// waits in the worker's overflow and the partition is paused, so that a
// partition stuck on a retrying message holds up neither the others nor
// this loop (which must keep polling to serve rebalances).
func (c *Consumer) enqueue(w *worker, m *kafka.Message) {
	if len(w.overflow) == 0 && w.offer(m) {
		return
	}
	// A message fetched before the pause took effect still comes in order.
	w.overflow = append(w.overflow, m)
	if !w.paused {
		if err := c.kc.Pause([]kafka.TopicPartition{w.tp}); err != nil {
			c.log.Warn("pause partition", "partition", w.tp.Partition, "err", err)
		}
		w.paused = true
	}
}

// refill moves overflowing messages into their queues as room frees up, and
// resumes a paused partition once its overflow is gone: fetching restarts
// after the last message Poll returned, so nothing is skipped or repeated.
func (c *Consumer) refill() {
	for _, w := range c.workers {
		for len(w.overflow) > 0 && w.offer(w.overflow[0]) {
			w.overflow[0] = nil
			w.overflow = w.overflow[1:]
		}
		if len(w.overflow) == 0 && w.paused {
			c.resume(w)
		}
	}
}

func (c *Consumer) resume(w *worker) {
	if err := c.kc.Resume([]kafka.TopicPartition{w.tp}); err != nil {
		c.log.Warn("resume partition", "partition", w.tp.Partition, "err", err)
	}
	w.paused = false
}

func (c *Consumer) close() {
	if err := c.kc.Close(); err != nil {
		c.log.Warn("close consumer", "err", err)
	}
	c.dlq.Flush(10_000)
	c.dlq.Close()
	c.log.Info("consumer stopped")
}

// rebalance starts a worker per assigned partition, and on revoke stops the
// revoked partitions' workers (each finishes its message in hand) and commits
// their offsets before the partitions move to another member.
func (c *Consumer) rebalance(kc *kafka.Consumer, ev kafka.Event) error {
	switch e := ev.(type) {
	case kafka.AssignedPartitions:
		if err := kc.Assign(e.Partitions); err != nil {
			return err
		}
		for _, tp := range e.Partitions {
			c.startWorker(tp)
		}
		c.log.Info("partitions assigned", "count", len(e.Partitions))
		c.once.Do(func() { close(c.ready) })
	case kafka.RevokedPartitions:
		c.stopWorkers(e.Partitions)
		c.commit()
		if err := kc.Unassign(); err != nil {
			return err
		}
		c.log.Info("partitions revoked", "count", len(e.Partitions))
	}
	return nil
}

// partition identifies a topic partition by value (kafka.TopicPartition holds
// the topic by pointer, which makes it useless as a map key).
type partition struct {
	topic string
	id    int32
}

func partitionKey(tp kafka.TopicPartition) partition {
	return partition{topic: *tp.Topic, id: tp.Partition}
}

func (c *Consumer) startWorker(tp kafka.TopicPartition) {
	key := partitionKey(tp)
	if _, ok := c.workers[key]; ok {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{c: c, tp: kafka.TopicPartition{Topic: &key.topic, Partition: key.id},
		queue: make(chan *kafka.Message, c.cfg.QueueSize), stop: cancel, done: make(chan struct{}),
		replayDue: make(chan struct{}, 1),
		m:         c.cfg.Metrics.partition(c.cfg.Group, key.topic)}
	w.handled.Store(-1)
	c.workersMu.Lock()
	c.workers[key] = w
	c.workersMu.Unlock()
	go w.run(ctx)
}

// stopWorkers stops the workers of partitions (all of them when nil) and
// waits for each to finish the handler call in hand. Queued messages are
// dropped: their offsets were not stored, so they are delivered again.
func (c *Consumer) stopWorkers(partitions []kafka.TopicPartition) {
	var stopped []*worker
	for key, w := range c.workers {
		if partitions != nil && !contains(partitions, key) {
			continue
		}
		w.stop()
		if w.paused { // a pause would outlive the assignment
			c.resume(w)
		}
		w.overflow = nil
		stopped = append(stopped, w)
		c.workersMu.Lock()
		delete(c.workers, key)
		c.workersMu.Unlock()
	}
	for _, w := range stopped {
		<-w.done
		c.forgetLag(w)
	}
}

func contains(tps []kafka.TopicPartition, key partition) bool {
	for _, tp := range tps {
		if partitionKey(tp) == key {
			return true
		}
	}
	return false
}

func (c *Consumer) commit() {
	if _, err := c.kc.Commit(); err != nil {
		var kerr kafka.Error
		if errors.As(err, &kerr) && kerr.Code() == kafka.ErrNoOffset {
			return
		}
		c.log.Warn("commit offsets", "err", err)
	}
}

// worker handles one partition's messages in order. Its queue is fed by
// Run's goroutine, which alone touches overflow and paused; closing the
// queue (StopAtEnd) makes the worker finish what is queued and return.
type worker struct {
	c     *Consumer
	tp    kafka.TopicPartition
	queue chan *kafka.Message
	stop  context.CancelFunc
	done  chan struct{}

	overflow []*kafka.Message
	paused   bool

	// held maps each key the partition holds (Parking) to the offset of
	// its first parked message; the worker's goroutine alone uses it, and
	// heldCount tells its size to the replay watcher.
	held      map[string]int64
	heldCount atomic.Int64
	replayDue chan struct{}

	m partitionMetrics
	// handled is the offset after the last message done with (handled,
	// skipped or dead-lettered), -1 before the first: the lag is measured
	// from it.
	handled   atomic.Int64
	forgotten bool // the lag gauge was removed (guarded by Consumer.lagMu)
}

// offer queues m if there is room.
func (w *worker) offer(m *kafka.Message) bool {
	select {
	case w.queue <- m:
		return true
	default:
		return false
	}
}

func (w *worker) run(ctx context.Context) {
	defer close(w.done)
	parking := w.c.cfg.Parking != nil
	if parking && !w.loadHeld(ctx) {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.replayDue:
			if parking && !w.replay(ctx) {
				return
			}
		case m, ok := <-w.queue:
			if !ok || ctx.Err() != nil { // stopped: what is queued comes again
				return
			}
			if !w.processBatch(ctx, w.drain(m)) {
				return
			}
		}
	}
}

// drain returns first and the messages queued behind it, up to MaxBatch.
func (w *worker) drain(first *kafka.Message) []*kafka.Message {
	batch := []*kafka.Message{first}
	for len(batch) < w.c.cfg.MaxBatch {
		select {
		case m, ok := <-w.queue:
			if !ok {
				return batch
			}
			batch = append(batch, m)
		default:
			return batch
		}
	}
	return batch
}

// wants reports whether the handler is to be given m: every message unless
// Types is set, else those whose event-type header is listed, and those
// without the header (decoded as any other: dead-lettered if they cannot be).
func (c *Consumer) wants(m *kafka.Message) bool {
	if c.types == nil {
		return true
	}
	for _, h := range m.Headers {
		if h.Key == schema.HeaderEventType {
			return c.types[string(h.Value)]
		}
	}
	return true
}

// processBatch hands ms to the handler at once and stores the last offset.
// If that fails, or a message cannot be decoded, it processes them one by
// one instead, so only the message at fault is retried or dead-lettered. It
// returns false if it was stopped before it was done.
func (w *worker) processBatch(ctx context.Context, ms []*kafka.Message) bool {
	c := w.c
	last := ms[len(ms)-1]
	wanted := make([]*kafka.Message, 0, len(ms))
	for _, m := range ms {
		if c.wants(m) {
			wanted = append(wanted, m)
		}
	}
	if skipped := len(ms) - len(wanted); skipped > 0 {
		w.m.skipped.Add(float64(skipped))
	}
	switch len(wanted) {
	case 0:
		w.store(last)
		return true
	case 1:
		if !w.process(ctx, wanted[0]) {
			return false
		}
		w.store(last)
		return true
	}
	for _, m := range wanted {
		if _, held := w.holder(m); held { // parked behind an earlier message: one by one
			return w.oneByOne(ctx, wanted, last)
		}
	}
	msgs := make([]Message, len(wanted))
	for i, m := range wanted {
		msg, err := w.decode(m)
		if err != nil {
			return w.oneByOne(ctx, wanted, last)
		}
		msgs[i] = msg
	}
	if err := w.handle(context.WithoutCancel(ctx), msgs); err != nil {
		c.log.DebugContext(ctx, "batch failed, handling its messages one by one", "messages", len(msgs), "err", err)
		return w.oneByOne(ctx, wanted, last)
	}
	w.m.ok.Add(float64(len(msgs)))
	w.store(last)
	return true
}

// oneByOne processes ms one at a time, then stores last's offset. Stopped,
// it leaves the rest: their offsets are not stored, so they come again.
func (w *worker) oneByOne(ctx context.Context, ms []*kafka.Message, last *kafka.Message) bool {
	for _, m := range ms {
		if ctx.Err() != nil || !w.process(ctx, m) {
			return false
		}
	}
	w.store(last)
	return true
}

// decode turns a Kafka message into a Message.
func (w *worker) decode(m *kafka.Message) (Message, error) {
	env, err := w.c.codec.Decode(m.Value)
	if err != nil {
		return Message{}, err
	}
	msg := Message{Envelope: env, Topic: *m.TopicPartition.Topic, Partition: m.TopicPartition.Partition,
		Offset: int64(m.TopicPartition.Offset), Value: m.Value, Headers: headersOf(m)}
	return msg, nil
}

// process handles m until it succeeds, is dead-lettered or is parked,
// then stores its offset. A message whose key is held (Parking) is parked
// behind the first one without being handled. It returns false if it was
// stopped before it was done.
func (w *worker) process(ctx context.Context, m *kafka.Message) bool {
	msg, err := w.decode(m)
	if err != nil {
		return w.deadLetter(ctx, m, reasonUndecodable, fmt.Sprintf("undecodable: %v", err), 0)
	}
	if first, held := w.holder(m); held {
		return w.park(ctx, m, fmt.Sprintf("held behind its order's parked message at offset %d", first), 0)
	}
	res, attempts, err := w.attempt(ctx, msg)
	switch res {
	case handled:
		if attempts == 0 {
			w.m.ok.Inc()
		} else {
			w.m.retried.Inc()
		}
		w.store(m)
		return true
	case failed:
		reason := reasonPermanent
		if errors.Is(err, errPanicked) {
			reason = reasonPanic
		}
		return w.deadLetter(ctx, m, reason, err.Error(), attempts)
	case overBudget:
		return w.park(ctx, m, err.Error(), attempts)
	default:
		return false
	}
}

// logContext is the context a message is handled in: its trace, and the
// order and event in every log line.
func logContext(ctx context.Context, msg Message) context.Context {
	env := msg.Envelope
	return logging.With(tracing.WithTraceParent(context.WithoutCancel(ctx), traceParentOf(msg)),
		"order_id", env.CorrelationID, "correlation_id", env.CorrelationID,
		"event_id", env.ID, "event_type", env.Type)
}

// errPanicked is the cause of the permanent error a handler's panic becomes.
var errPanicked = errors.New("handler panicked")

// handle runs the handler once, turning a panic into a permanent error so a
// bug in one handler cannot kill the process in a loop. It times the call:
// one observation per call, not per message, keeps the hot path cheap.
func (w *worker) handle(ctx context.Context, msgs []Message) (err error) {
	ctx, cancel := context.WithTimeout(ctx, w.c.cfg.HandlerTimeout)
	defer cancel()
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			err = Permanent(fmt.Errorf("%w: %v", errPanicked, r))
		}
		w.m.duration.Observe(time.Since(start).Seconds())
		w.m.batch.Observe(float64(len(msgs)))
	}()
	return w.c.handler(ctx, msgs)
}

func (w *worker) store(m *kafka.Message) {
	if w.c.cfg.StopAtEnd { // nothing is committed
		return
	}
	w.handled.Store(int64(m.TopicPartition.Offset) + 1)
	if _, err := w.c.kc.StoreMessage(m); err != nil {
		// The partition was revoked meanwhile; the next owner redelivers,
		// and the inbox makes that harmless.
		w.c.log.Warn("store offset", "err", err)
	}
}

// deadLetter publishes m to the dead-letter topic, records it in the
// parking store if there is one, and stores its offset. It retries until
// done or stopped. kind is the reason's label in the dead-letter series.
func (w *worker) deadLetter(ctx context.Context, m *kafka.Message, kind, reason string, attempts int) bool {
	if !w.publishDeadLetter(ctx, m, reason) {
		return false
	}
	if w.c.cfg.Parking != nil && !w.setAside(ctx, m, true, reason, attempts) {
		return false
	}
	w.m.deadLetter(kind)
	w.store(m)
	return true
}

// publishDeadLetter publishes m to the dead-letter topic with the reason
// and its origin, retrying until Kafka acknowledged it or the worker is
// stopped.
func (w *worker) publishDeadLetter(ctx context.Context, m *kafka.Message, reason string) bool {
	c := w.c
	headers := append([]kafka.Header(nil), m.Headers...)
	headers = append(headers,
		kafka.Header{Key: HeaderDLQReason, Value: []byte(reason)},
		kafka.Header{Key: HeaderDLQTopic, Value: []byte(*m.TopicPartition.Topic)},
		kafka.Header{Key: HeaderDLQPartition, Value: []byte(strconv.Itoa(int(m.TopicPartition.Partition)))},
		kafka.Header{Key: HeaderDLQOffset, Value: []byte(strconv.FormatInt(int64(m.TopicPartition.Offset), 10))},
		kafka.Header{Key: HeaderDLQGroup, Value: []byte(c.cfg.Group)},
	)
	topic := c.cfg.DeadLetterTopic
	delay := c.cfg.RetryInitial
	for {
		delivery := make(chan kafka.Event, 1)
		err := c.dlq.Produce(&kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key:            m.Key, Value: m.Value, Headers: headers,
		}, delivery)
		if err == nil {
			if dm, ok := (<-delivery).(*kafka.Message); ok && dm.TopicPartition.Error == nil {
				c.log.Error("message dead-lettered", "reason", reason, "topic", *m.TopicPartition.Topic,
					"partition", m.TopicPartition.Partition, "offset", m.TopicPartition.Offset)
				return true
			} else if ok {
				err = dm.TopicPartition.Error
			}
		}
		c.log.Warn("dead-letter publish failed, will retry", "err", err)
		if !backoff.Sleep(ctx, backoff.Jitter(delay)) {
			return false
		}
		delay = min(delay*2, c.cfg.RetryMax)
	}
}
