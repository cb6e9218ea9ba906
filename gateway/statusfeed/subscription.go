package statusfeed

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orderflow/orderflow/gateway/orderview"
	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/schema"
)

// state is one subscriber's copy of the order and what it owes the client.
type state struct {
	fold fold
	// live: caught up, so what changes from now on is sent; while the
	// order's history is read, it is not.
	live bool
	// started: the order as it was then has been queued.
	started bool
	// resumed: the client had the order up to version after (Resume), so
	// the order as it is is not sent first, and every status change above
	// after is, also while the order's history is read.
	resumed bool
	after   int
	outbox  []*model.Order
}

// applied is the fold's callback after each event it folded in.
func (st *state) applied(c orderview.Change) {
	switch {
	case st.resumed:
		if c.StatusChanged && st.fold.order.Version > st.after && orderview.Created(&st.fold.order) {
			st.outbox = append(st.outbox, orderview.Clone(&st.fold.order))
		}
	case !st.live:
	case !st.started:
		st.begin()
	case c.StatusChanged:
		st.outbox = append(st.outbox, orderview.Clone(&st.fold.order))
	}
}

// begin queues the order as it is now, once there is an order to show
// (unless the client resumed: it has seen the order already).
func (st *state) begin() {
	if !st.started && !st.resumed && orderview.Created(&st.fold.order) {
		st.started = true
		st.outbox = append(st.outbox, orderview.Clone(&st.fold.order))
	}
}

// follow serves one subscriber: the order's history first if it has one to
// read, then the events the hub hands over, until CANCELLED is sent or ctx
// ends.
func (f *Feed) follow(ctx context.Context, s *subscriber, st state, history jetstream.Consumer, out chan<- *model.Order) {
	defer close(out)
	defer func() { f.hub.leave(s) }() // s is replaced by a re-sync
	if history != nil {
		if err := f.readHistory(ctx, history, &st); err != nil {
			if ctx.Err() == nil {
				f.log.Warn("order status feed ended", "order_id", s.id, "err", err)
			}
			return
		}
		st.live = true
	}
	st.begin()
	for {
		for _, o := range st.outbox {
			select {
			case out <- o:
			case <-ctx.Done():
				return
			}
			if o.Status == model.OrderStatusCancelled {
				return
			}
		}
		st.outbox = st.outbox[:0]
		if st.fold.order.Status == model.OrderStatusCancelled {
			return // nothing more to come: the client resumed after CANCELLED
		}
		select {
		case env, ok := <-s.events:
			if !ok { // the hub dropped this subscriber: it fell behind
				if s = f.resync(ctx, s.id, &st); s == nil {
					return
				}
				continue
			}
			st.fold.apply(env, st.applied)
		case <-ctx.Done():
			return
		}
	}
}

// resync joins the hub again and folds the order's whole history into st,
// which queues every status change st had not seen; the fold ignores what it
// has already. It retries until ctx ends (then it returns nil).
func (f *Feed) resync(ctx context.Context, orderID string, st *state) *subscriber {
	backoff := 200 * time.Millisecond
	for {
		s, _ := f.hub.join(orderID)
		cons, err := f.openHistory(ctx, orderID)
		if err == nil {
			if err = f.readHistory(ctx, cons, st); err == nil {
				return s
			}
		}
		f.hub.leave(s)
		if ctx.Err() != nil {
			return nil
		}
		f.log.Warn("cannot re-sync a subscriber; retrying", "order_id", orderID, "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// openHistory makes an ordered consumer of the order's and its payment's
// events, from the stream's beginning.
func (f *Feed) openHistory(ctx context.Context, orderID string) (jetstream.Consumer, error) {
	return f.js.OrderedConsumer(ctx, f.cfg.Stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{
			f.cfg.SubjectPrefix + schema.NATSSubject(orderID, schema.AggregateOrder),
			f.cfg.SubjectPrefix + schema.NATSSubject(orderID, schema.AggregatePayment),
		},
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		InactiveThreshold: f.cfg.InactiveThreshold,
	})
}

// readHistory folds what cons holds up to the stream's end as it was when
// cons was made (the message just read has nothing pending after it), then
// deletes cons.
func (f *Feed) readHistory(ctx context.Context, cons jetstream.Consumer, st *state) error {
	f.histories.Add(1)
	defer f.release(cons)
	if info := cons.CachedInfo(); info != nil && info.NumPending == 0 {
		return nil
	}
	it, err := cons.Messages()
	if err != nil {
		return err
	}
	defer it.Stop()
	defer context.AfterFunc(ctx, it.Stop)() // as in hub.consume
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return err
		}
		if env, err := f.codec.Decode(msg.Data()); err != nil {
			f.log.Warn("skipping undecodable event", "subject", msg.Subject(), "err", err)
		} else {
			st.fold.apply(env, st.applied)
		}
		if meta, err := msg.Metadata(); err == nil && meta.NumPending == 0 {
			return nil
		}
	}
}

// release deletes a consumer of the feed's. If the server cannot be reached, the
// consumer's inactivity threshold removes it later.
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
