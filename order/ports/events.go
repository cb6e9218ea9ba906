// Package ports adapts the outside world to the order use cases: the HTTP
// command API the gateway calls, and the Kafka events the service reacts to.
package ports

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/order/app"
	"github.com/orderflow/orderflow/order/app/command"
	"github.com/orderflow/orderflow/order/domain"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/inbox"
	"github.com/orderflow/orderflow/schema"
)

// ConsumerName names the order service's inbox.
const ConsumerName = "order"

// Units begins a unit of work over orders in a transaction the inbox opened
// (the order repository).
type Units interface {
	Begin(ctx context.Context, tx pgx.Tx, ids ...string) (*eventstore.Unit[domain.Order], error)
}

// EventHandler reacts to a batch of events in one inbox transaction: one
// unit of work loads every order the new messages name in one query, each
// message decides in turn (seeing the decisions of earlier messages on the
// same order), and one save appends them all. Other events are skipped
// without a transaction. A message that breaks the batch fails it whole; the
// consumer then hands the messages over one by one, so it fails alone.
func EventHandler(db inbox.Transactor, units Units, cmds app.Commands) consumer.Handler {
	handle := inbox.Batch(db, ConsumerName, func(ctx context.Context, tx pgx.Tx, msgs []consumer.Message) error {
		ids := make([]string, len(msgs))
		for i, msg := range msgs {
			ids[i] = orderOf(msg.Envelope.Payload)
		}
		orders, err := units.Begin(ctx, tx, ids...)
		if err != nil {
			return err
		}
		for _, msg := range msgs {
			if err := classify(react(ctx, cmds, orders, msg.Envelope)); err != nil {
				return err
			}
		}
		_, err = orders.Save(ctx)
		return err
	})
	return consumer.Filter(func(msg consumer.Message) bool { return orderOf(msg.Envelope.Payload) != "" }, handle)
}

// orderOf returns the order an event the service reacts to is about, "" for
// the events it does not react to.
func orderOf(e schema.Event) string {
	switch e := e.(type) {
	case schema.PaymentCaptured:
		return e.OrderID
	case schema.CancellationDecided:
		return e.OrderID
	case schema.CancellationCompleted:
		return e.OrderID
	}
	return ""
}

func react(ctx context.Context, cmds app.Commands, orders command.Orders, in schema.Envelope) error {
	cause := in.CausedBy()
	switch e := in.Payload.(type) {
	case schema.PaymentCaptured:
		return cmds.MarkPaid.Handle(ctx, orders, command.MarkPaid{
			OrderID: e.OrderID, PaymentID: e.PaymentID, Amount: e.Amount, Cause: cause})
	case schema.CancellationDecided:
		return cmds.DecideCancellation.Handle(ctx, orders, command.DecideCancellation{
			OrderID: e.OrderID, Reason: e.Reason, Cause: cause})
	case schema.CancellationCompleted:
		return cmds.CompleteCancellation.Handle(ctx, orders, command.CompleteCancellation{
			OrderID: e.OrderID, Reason: e.Reason, Refunded: e.Refunded, Cause: cause})
	}
	return nil
}

// classify marks errors no retry can fix — an event for an order that does
// not exist, or one that would break the order's status rules — as permanent,
// so they are dead-lettered with their reason instead of blocking.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, domain.ErrIllegalTransition) || domain.ErrorCode(err) == domain.CodeNotFound {
		return consumer.Permanent(err)
	}
	return err
}
