// Package command holds the order service's use cases that change orders,
// one file each: the gateway's commands (create, cancel) and the reactions
// to other services' events. Each decides on a unit of work its caller
// opened — a group-committed batch of HTTP commands, or a batch of Kafka
// messages — so a decision sees those recorded before it in the same batch,
// and the whole batch is saved and committed at once.
package command

import (
	"context"
	"time"

	"github.com/orderflow/orderflow/order/domain"
	"github.com/orderflow/orderflow/schema"
)

// Orders is the unit of work the use cases decide on
// (*eventstore.Unit[domain.Order]).
type Orders interface {
	// Load loads the orders of ids the unit does not hold yet, in one query.
	Load(ctx context.Context, ids ...string) error
	// Fresh adds orders of ids just made up, without a query.
	Fresh(ids ...string)
	// Get returns an order as decided so far, and its version (0: no such
	// order).
	Get(ctx context.Context, id string) (domain.Order, int, error)
	// Record records events for an order; the next Get sees them.
	Record(ctx context.Context, id string, events ...schema.Envelope) error
}

// Clock tells the time envelopes are stamped with.
type Clock func() time.Time

// decide gets order id, lets fn choose what to record, records it caused by
// cause, and returns the order after it. A missing order is NOT_FOUND.
func decide(ctx context.Context, orders Orders, id string, cause schema.Cause, now Clock,
	fn func(o domain.Order) ([]schema.Event, error)) (domain.Order, error) {
	o, version, err := orders.Get(ctx, id)
	if err != nil {
		return domain.Order{}, err
	}
	if version == 0 {
		return domain.Order{}, domain.Errorf(domain.CodeNotFound, "order %s does not exist", id)
	}
	events, err := fn(o)
	if err != nil || len(events) == 0 {
		return o, err
	}
	if err := record(ctx, orders, id, events, cause, now); err != nil {
		return domain.Order{}, err
	}
	o, _, err = orders.Get(ctx, id)
	return o, err
}

// record wraps events in envelopes of order id and records them. The
// correlation id is always the order id: the Kafka key that keeps one
// order's events in order.
func record(ctx context.Context, orders Orders, id string, events []schema.Event, cause schema.Cause, now Clock) error {
	cause.CorrelationID = id
	envs := make([]schema.Envelope, len(events))
	for i, ev := range events {
		envs[i] = schema.New(schema.AggregateOrder, id, ev, cause, now())
	}
	return orders.Record(ctx, id, envs...)
}
