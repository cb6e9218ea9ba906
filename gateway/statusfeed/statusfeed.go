// Package statusfeed follows one order's status through NATS JetStream, for
// the orderStatusChanged subscription. Each subscription reads the order's
// events from the mirrored stream with its own ordered consumer and folds
// them with orderview, so no state is shared between subscriptions or
// gateway replicas: any replica serves any subscriber, and a subscriber that
// comes late (or mid-flight) reads the same history as one that was there
// from the start.
//
// The feed sends the order as it is once it has caught up with the stream
// (the message just read has nothing pending after it), then the order after
// each event that changes its status, and closes after CANCELLED. Events are
// applied once each by version, so a repeat in the stream is never sent
// twice, and every status change is in the stream, so none is missed.
package statusfeed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orderflow/orderflow/gateway/orderview"
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

// Config names the stream the mirror writes.
type Config struct {
	// Stream defaults to schema.NATSStream.
	Stream string
	// SubjectPrefix is the mirror's subject prefix ("" in production).
	SubjectPrefix string
	// InactiveThreshold is how long the server keeps the consumer of a
	// subscriber that vanished without releasing it (a crashed gateway);
	// default 1 minute.
	InactiveThreshold time.Duration
}

// Feed implements graph.StatusFeed.
type Feed struct {
	js    jetstream.JetStream
	known KnownOrders
	cfg   Config
	codec *schema.Codec
	log   *slog.Logger
}

// New returns a feed reading the stream through js.
func New(js jetstream.JetStream, known KnownOrders, cfg Config, log *slog.Logger) *Feed {
	if cfg.Stream == "" {
		cfg.Stream = schema.NATSStream
	}
	if cfg.InactiveThreshold == 0 {
		cfg.InactiveThreshold = time.Minute
	}
	return &Feed{js: js, known: known, cfg: cfg, codec: schema.NewCodec(schema.NewRegistry()),
		log: log.With("component", "statusfeed")}
}

// Follow returns a channel that first carries the order as it is now, then
// the order after each later status change, and is closed after CANCELLED,
// when ctx ends, or if the stream cannot be read any more. An order nobody
// knows is a NOT_FOUND *model.Error.
func (f *Feed) Follow(ctx context.Context, orderID string) (<-chan *model.Order, error) {
	if orderID == "" || strings.ContainsAny(orderID, ".*> \t\r\n") {
		return nil, notFound(orderID) // cannot be a subject token, so cannot be an order
	}
	cons, err := f.js.OrderedConsumer(ctx, f.cfg.Stream, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{f.cfg.SubjectPrefix + schema.NATSOrderSubject(orderID)},
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		InactiveThreshold: f.cfg.InactiveThreshold,
	})
	if err != nil {
		f.log.WarnContext(ctx, "cannot follow order", "order_id", orderID, "err", err)
		return nil, model.Unavailable("order status updates are unavailable at the moment; try again shortly")
	}
	// The consumer's pending count at creation says whether the stream holds
	// anything of this order. Events mirrored from now on reach the consumer
	// anyway, so asking only when it holds nothing leaves no gap.
	if info := cons.CachedInfo(); info == nil || info.NumPending == 0 {
		known, err := f.known.Exists(ctx, orderID)
		if err != nil {
			f.release(cons)
			if e, ok := model.AsError(err); ok {
				return nil, e
			}
			f.log.WarnContext(ctx, "cannot tell whether the order exists", "order_id", orderID, "err", err)
			return nil, model.Unavailable("order status updates are unavailable at the moment; try again shortly")
		}
		if !known {
			f.release(cons)
			return nil, notFound(orderID)
		}
	}
	it, err := cons.Messages()
	if err != nil {
		f.release(cons)
		f.log.WarnContext(ctx, "cannot follow order", "order_id", orderID, "err", err)
		return nil, model.Unavailable("order status updates are unavailable at the moment; try again shortly")
	}
	out := make(chan *model.Order)
	go f.follow(ctx, orderID, cons, it, out)
	return out, nil
}

func notFound(orderID string) error {
	return model.NotFound(fmt.Sprintf("order %s does not exist", orderID))
}

// follow folds the order's events and sends what the subscriber is owed.
func (f *Feed) follow(ctx context.Context, orderID string, cons jetstream.Consumer, it jetstream.MessagesContext, out chan<- *model.Order) {
	defer close(out)
	defer f.release(cons)
	defer it.Stop()

	var (
		order   model.Order
		started bool // the current order was sent
	)
	send := func() bool {
		select {
		case out <- orderview.Clone(&order):
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() == nil {
				f.log.Warn("order status feed ended", "order_id", orderID, "err", err)
			}
			return
		}
		var change orderview.Change
		if env, err := f.codec.Decode(msg.Data()); err != nil {
			// The mirror only publishes what decoded; an older reader meeting
			// a newer event type skips it like the projector's dead letter.
			f.log.Warn("skipping undecodable event", "order_id", orderID, "subject", msg.Subject(), "err", err)
		} else {
			change = orderview.Apply(&order, env)
		}
		if !orderview.Created(&order) {
			continue // only payment events so far: OrderCreated is on its way
		}
		switch {
		case !started:
			meta, err := msg.Metadata()
			if err != nil || meta.NumPending > 0 {
				continue // still catching up: later events are part of "now"
			}
			started = true
		case !change.StatusChanged:
			continue
		}
		if !send() || order.Status == model.OrderStatusCancelled {
			return
		}
	}
}

// release deletes the subscription's consumer. If the server cannot be
// reached, the consumer's inactivity threshold removes it later.
func (f *Feed) release(cons jetstream.Consumer) {
	info := cons.CachedInfo()
	if info == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.js.DeleteConsumer(ctx, f.cfg.Stream, info.Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		f.log.Debug("release consumer", "consumer", info.Name, "err", err)
	}
}
