package statusfeed

import (
	"container/list"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orderflow/orderflow/gateway/orderview"
	"github.com/orderflow/orderflow/schema"
)

// hub reads the whole stream with one ordered consumer and hands each order's
// events to the subscribers of that order. It keeps the folded view of the
// orders it saw recently, so that most subscribers start from memory.
//
// The consumer starts Lookback in the past and, once started, delivers every
// message from the stream sequence floor on, in stream order, resuming after
// the last one it delivered when NATS restarts or the consumer is reset.
type hub struct {
	js    jetstream.JetStream
	cfg   Config
	codec *schema.Codec
	feed  *Feed

	live chan struct{} // closed once the consumer exists

	mu     sync.Mutex
	stream jetstream.Stream // for lookups; set when live
	liveAt time.Time
	floor  uint64 // the first stream sequence the hub delivers
	pos    uint64 // the last stream sequence it delivered (floor-1 before the first)
	orders map[string]*entry
	idle   list.List // entries without subscribers, least recently touched first
}

// entry is what the hub knows of one order.
type entry struct {
	id   string
	fold fold
	// recorded: the order was created through this gateway after the hub
	// started, so all its events come through the hub.
	recorded bool
	subs     []*subscriber
	touched  time.Time
	elem     *list.Element // in hub.idle while subs is empty
}

// subscriber is one Follow's end of the hub: the hub pushes the order's
// events into events without ever waiting. When events is full the hub
// drops the subscriber (overflowed, then events closed) and the subscriber
// re-syncs from the order's history.
type subscriber struct {
	id         string
	events     chan schema.Envelope
	overflowed atomic.Bool
}

// joined is the state of an order when a subscriber joined.
type joined struct {
	fold     fold
	complete bool   // fold is the whole order up to pos
	recorded bool   // created here after the hub started: fold will be whole
	pos      uint64 // the hub's position then: later events reach the subscriber
}

func newHub(js jetstream.JetStream, cfg Config, feed *Feed) *hub {
	return &hub{js: js, cfg: cfg, codec: schema.NewCodec(schema.NewRegistry()), feed: feed,
		live: make(chan struct{}), orders: map[string]*entry{}}
}

// run reads the stream until ctx ends, starting again after any failure.
func (h *hub) run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		err := h.consume(ctx)
		if ctx.Err() != nil {
			return nil
		}
		h.feed.log.Warn("status hub stopped reading the stream; starting again", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (h *hub) consume(ctx context.Context) error {
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{h.cfg.SubjectPrefix + schema.NATSSubjectAll},
		InactiveThreshold: h.cfg.InactiveThreshold,
	}
	h.mu.Lock()
	started := h.stream != nil
	if started {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, h.pos+1
	} else {
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, new(time.Now().Add(-h.cfg.Lookback))
	}
	h.mu.Unlock()

	st, err := h.js.Stream(ctx, h.cfg.Stream)
	if err != nil {
		return err // the mirror makes the stream: not there yet
	}
	cons, err := h.js.OrderedConsumer(ctx, h.cfg.Stream, cfg)
	if err != nil {
		return err
	}
	defer h.feed.release(cons)
	if !started {
		info := cons.CachedInfo()
		if info == nil {
			return errors.New("ordered consumer without info")
		}
		h.mu.Lock()
		h.stream, h.liveAt = st, time.Now()
		h.floor = info.Delivered.Stream + 1 // where the start time put it
		h.pos = h.floor - 1
		h.mu.Unlock()
		close(h.live)
	}
	it, err := cons.Messages()
	if err != nil {
		return err
	}
	defer it.Stop()
	// Next waits out a consumer reset (NATS restarting) whatever ctx says;
	// stopping the iterator ends that wait too.
	defer context.AfterFunc(ctx, it.Stop)()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return err
		}
		h.deliver(msg)
	}
}

// deliver hands one message to its order's entry and subscribers.
func (h *hub) deliver(msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		h.feed.log.Warn("skipping a message without metadata", "subject", msg.Subject(), "err", err)
		return
	}
	var env schema.Envelope
	folds := !strings.HasSuffix(msg.Subject(), "."+schema.AggregateCompensation) // nothing to fold: not decoded
	if folds {
		if env, err = h.codec.Decode(msg.Data()); err != nil {
			// The mirror only publishes what decoded; an older reader meeting
			// a newer event type skips it like the projector's dead letter.
			h.feed.log.Warn("skipping undecodable event", "subject", msg.Subject(), "err", err)
			folds = false
		}
	}
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pos = max(h.pos, meta.Sequence.Stream)
	if folds {
		e := h.entry(orderview.OrderID(env), now)
		e.fold.apply(env, nil)
		for i := 0; i < len(e.subs); {
			s := e.subs[i]
			select {
			case s.events <- env:
				i++
			default:
				e.subs = append(e.subs[:i], e.subs[i+1:]...)
				s.overflowed.Store(true)
				close(s.events)
				h.feed.overflows.Add(1)
			}
		}
		if len(e.subs) == 0 && e.elem == nil {
			e.elem = h.idle.PushBack(e)
		}
	}
	h.evict(now)
}

// entry returns the order's entry, made if new, and marks it touched. It
// is called with h.mu held.
func (h *hub) entry(id string, now time.Time) *entry {
	e, ok := h.orders[id]
	if !ok {
		e = &entry{id: id}
		h.orders[id] = e
	}
	e.touched = now
	if e.elem != nil {
		h.idle.MoveToBack(e.elem)
	} else if len(e.subs) == 0 {
		e.elem = h.idle.PushBack(e)
	}
	return e
}

// evict forgets the orders without subscribers that were not touched for
// Retain, and the least recently touched ones beyond MaxOrders. Orders with
// subscribers are kept whatever the bound: there are as many as the
// subscriptions. It is called with h.mu held.
func (h *hub) evict(now time.Time) {
	for front := h.idle.Front(); front != nil; front = h.idle.Front() {
		e := front.Value.(*entry)
		if len(h.orders) <= h.cfg.MaxOrders && now.Sub(e.touched) < h.cfg.Retain {
			return
		}
		h.idle.Remove(front)
		delete(h.orders, e.id)
	}
}

// waitLive waits until the hub reads the stream.
func (h *hub) waitLive(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.ReadyTimeout)
	defer cancel()
	select {
	case <-h.live:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// join adds a subscriber of the order. Every event the hub delivers from now
// on reaches it; the returned state is the order as the hub has it now.
func (h *hub) join(id string) (*subscriber, joined) {
	s := &subscriber{id: id, events: make(chan schema.Envelope, h.cfg.SubscriberBuffer)}
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.entry(id, time.Now())
	if e.elem != nil {
		h.idle.Remove(e.elem)
		e.elem = nil
	}
	e.subs = append(e.subs, s)
	return s, joined{fold: e.fold.clone(), complete: e.fold.complete(), recorded: e.recorded, pos: h.pos}
}

// leave removes a subscriber (if the hub has not dropped it already). An
// entry that holds nothing (an order the hub never saw) goes with its last
// subscriber.
func (h *hub) leave(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.orders[s.id]
	if !ok {
		return
	}
	for i, x := range e.subs {
		if x == s {
			e.subs = append(e.subs[:i], e.subs[i+1:]...)
			break
		}
	}
	if len(e.subs) > 0 {
		return
	}
	if e.fold.empty() && !e.recorded {
		delete(h.orders, e.id)
		return
	}
	e.touched = time.Now()
	e.elem = h.idle.PushBack(e)
	h.evict(e.touched)
}

// created records an order this gateway created. If it was created after
// the hub started, its events are all mirrored after the hub's start
// position (Lookback before that), so the hub sees them all: a subscriber
// needs no lookup. The margin between the two is what the clocks of the
// order service and NATS may disagree by.
func (h *hub) created(id string, createdAt time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stream == nil || !createdAt.After(h.liveAt) {
		return
	}
	now := time.Now()
	h.entry(id, now).recorded = true
	h.evict(now)
}

// position returns the hub's stream handle and the first sequence it reads.
func (h *hub) position() (jetstream.Stream, uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stream, h.floor
}

// size returns the hub's position and how many orders and subscribers it
// holds.
func (h *hub) size() (pos uint64, orders, subscribers int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.orders {
		subscribers += len(e.subs)
	}
	return h.pos, len(h.orders), subscribers
}
