// Package statusfeed follows orders' status through NATS JetStream, for the
// orderStatusChanged subscription. A feed reads the mirrored stream once per
// gateway process (Run: one ordered consumer over every subject, started a
// minute in the past) and fans each order's events out in memory to that
// order's subscribers; it keeps the folded view of the orders it saw
// recently, so that a subscriber usually starts from memory without asking
// any server. No state is shared between gateway replicas: each one's feed
// reads the same stream, so any replica serves any subscriber.
//
// A subscriber joins the feed's order before the order's current state is
// read, so nothing published meanwhile is missed. The current state comes
//   - from memory, when the feed saw the order from its first event;
//   - from the events still to come, when none of the order's events are in
//     the stream before the feed's position (an order this gateway just
//     created, or the stream's first event of the order is later), after one
//     look at the stream (and, if it holds nothing yet, one existence check);
//   - otherwise from the order's history in the stream (an ordered consumer
//     per subscription, deleted once caught up), merged with what the feed
//     handed over meanwhile.
//
// Each subscriber folds its own copy with orderview, each stream (order,
// payment) in version order, so a repeat in the stream is never sent twice and
// no status change is skipped. It sends the order as it is, then the order
// after each event that changes its status, and closes after CANCELLED. The
// feed never waits for a subscriber: one whose buffer is full is dropped and
// re-syncs from the order's history, sending the changes it had not sent yet.
//
// A client cut off from its gateway resumes on any replica (Resume) with the
// version of the last order it was sent: it is sent every status change
// after that version, as the order was right after it, then the live ones,
// and nothing it had. A resume that missed nothing, at the version the hub
// holds the whole order at, is served from memory; any other reads the
// order's history first.
package statusfeed

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/schema"
)

// KnownOrders tells whether an order exists. The feed asks it only for an
// order JetStream has no event of yet: created but not mirrored yet, or not
// an order at all.
type KnownOrders interface {
	Exists(ctx context.Context, orderID string) (bool, error)
}

// ExistsFunc adapts a function to KnownOrders.
type ExistsFunc func(ctx context.Context, orderID string) (bool, error)

// Exists calls f.
func (f ExistsFunc) Exists(ctx context.Context, orderID string) (bool, error) { return f(ctx, orderID) }

// Config names the stream the mirror writes and bounds the feed's memory.
type Config struct {
	// Stream defaults to schema.NATSStream.
	Stream string
	// SubjectPrefix is the mirror's subject prefix ("" in production).
	SubjectPrefix string
	// InactiveThreshold is how long the server keeps a consumer of a
	// gateway that vanished without releasing it (a crash); default 1 minute.
	InactiveThreshold time.Duration
	// Lookback is how far in the past the feed starts reading, to know the
	// orders in flight when it starts; default 1 minute. It is also the
	// clock difference between the order service and NATS that Created
	// tolerates.
	Lookback time.Duration
	// MaxOrders bounds the orders kept in memory without subscribers, the
	// least recently active forgotten first; default 20,000 (a few KiB each).
	MaxOrders int
	// Retain is how long an order without subscribers is kept after its
	// last event; default 5 minutes.
	Retain time.Duration
	// SubscriberBuffer is how many events wait for a slow subscriber before
	// it is dropped and re-syncs from the stream; default 64 (an order has
	// about ten).
	SubscriberBuffer int
	// ReadyTimeout is how long Follow waits for a feed that has not started
	// reading the stream yet; default 5 seconds.
	ReadyTimeout time.Duration
}

func (c *Config) setDefaults() {
	if c.Stream == "" {
		c.Stream = schema.NATSStream
	}
	if c.InactiveThreshold == 0 {
		c.InactiveThreshold = time.Minute
	}
	if c.Lookback == 0 {
		c.Lookback = time.Minute
	}
	if c.MaxOrders == 0 {
		c.MaxOrders = 20_000
	}
	if c.Retain == 0 {
		c.Retain = 5 * time.Minute
	}
	if c.SubscriberBuffer == 0 {
		c.SubscriberBuffer = 64
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = 5 * time.Second
	}
}

// Feed implements graph.StatusFeed.
type Feed struct {
	js    jetstream.JetStream
	known KnownOrders
	cfg   Config
	codec *schema.Codec
	log   *slog.Logger
	hub   *hub

	lookups, histories, overflows atomic.Int64
}

// New returns a feed reading the stream through js; Run starts it.
func New(js jetstream.JetStream, known KnownOrders, cfg Config, log *slog.Logger) *Feed {
	cfg.setDefaults()
	f := &Feed{js: js, known: known, cfg: cfg, codec: schema.NewCodec(schema.NewRegistry()),
		log: log.With("component", "statusfeed")}
	f.hub = newHub(js, cfg, f)
	return f
}

// Run reads the stream for the feed's subscribers until ctx ends. It waits
// for the stream if the mirror has not made it yet, and resumes where it
// was after NATS restarts. A Feed runs once.
func (f *Feed) Run(ctx context.Context) error { return f.hub.run(ctx) }

// Created tells the feed that this gateway created the order, so that its
// subscribers need no lookup before its first event is mirrored.
func (f *Feed) Created(orderID string, createdAt time.Time) { f.hub.created(orderID, createdAt) }

// Ready is closed once the feed reads the stream.
func (f *Feed) Ready() <-chan struct{} { return f.hub.live }

// Stats counts what the feed did since it started.
type Stats struct {
	// Position is the stream sequence of the last message the feed read.
	Position uint64
	// Orders and Subscribers are held in memory now.
	Orders, Subscribers int
	// Lookups counts subscriptions that looked at the stream for the
	// order's first event; Histories those that read the order's history
	// with a consumer of their own (some after an Overflow).
	Lookups, Histories, Overflows int64
}

// Stats returns the feed's counters.
func (f *Feed) Stats() Stats {
	pos, orders, subs := f.hub.size()
	return Stats{Position: pos, Orders: orders, Subscribers: subs, Lookups: f.lookups.Load(),
		Histories: f.histories.Load(), Overflows: f.overflows.Load()}
}

// Follow returns a channel that first carries the order as it is now, then
// the order after each later status change, and is closed after CANCELLED,
// when ctx ends, or if the stream cannot be read any more. An order nobody
// knows is a NOT_FOUND *model.Error.
func (f *Feed) Follow(ctx context.Context, orderID string) (<-chan *model.Order, error) {
	s, j, err := f.join(ctx, orderID)
	if err != nil {
		return nil, err
	}
	st := state{fold: j.fold, live: true}
	var history jetstream.Consumer
	if !j.complete && !j.recorded {
		whole, err := f.wholeAhead(ctx, orderID, j.pos)
		if err != nil {
			f.hub.leave(s)
			return nil, err
		}
		if !whole {
			if history, err = f.openHistory(ctx, orderID); err != nil {
				f.hub.leave(s)
				f.log.WarnContext(ctx, "cannot read the order's history", "order_id", orderID, "err", err)
				return nil, unavailable()
			}
			st = state{} // folded from the history, then what the hub hands over
		}
	}
	out := make(chan *model.Order)
	go f.follow(ctx, s, st, history, out)
	return out, nil
}

// join makes the caller a subscriber of the order, once the hub reads the
// stream.
func (f *Feed) join(ctx context.Context, orderID string) (*subscriber, joined, error) {
	if orderID == "" || strings.ContainsAny(orderID, ".*> \t\r\n") {
		return nil, joined{}, model.OrderNotFound(orderID) // cannot be a subject token, so cannot be an order
	}
	if err := f.hub.waitLive(ctx); err != nil {
		f.log.WarnContext(ctx, "status feed not reading the stream yet", "order_id", orderID, "err", err)
		return nil, joined{}, unavailable()
	}
	s, j := f.hub.join(orderID)
	return s, j, nil
}

// wholeAhead reports whether every event of the order reaches a subscriber
// that joined at hub position pos: the order's first event in the stream is
// after pos, or there is none yet and the order exists.
func (f *Feed) wholeAhead(ctx context.Context, orderID string, pos uint64) (bool, error) {
	f.lookups.Add(1)
	st, _ := f.hub.position()
	first, err := st.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(f.cfg.SubjectPrefix+schema.NATSOrderSubject(orderID)))
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		if err := f.exists(ctx, orderID); err != nil {
			return false, err
		}
		return true, nil // mirrored from now on, so after pos
	case err != nil:
		f.log.WarnContext(ctx, "cannot look up the order in the stream", "order_id", orderID, "err", err)
		return false, unavailable()
	}
	return first.Sequence > pos, nil
}

// exists asks KnownOrders about an order the stream has no event of: nil
// if it exists, else NOT_FOUND, or UNAVAILABLE if it cannot tell.
func (f *Feed) exists(ctx context.Context, orderID string) error {
	known, err := f.known.Exists(ctx, orderID)
	if err != nil {
		if e, ok := model.AsError(err); ok {
			return e
		}
		f.log.WarnContext(ctx, "cannot tell whether the order exists", "order_id", orderID, "err", err)
		return unavailable()
	}
	if !known {
		return model.OrderNotFound(orderID)
	}
	return nil
}

func unavailable() error {
	return model.Unavailable("order status updates are unavailable at the moment; try again shortly")
}
