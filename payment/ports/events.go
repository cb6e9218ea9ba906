package ports

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/payment/adapters/postgres"
	"github.com/orderflow/orderflow/payment/app"
	"github.com/orderflow/orderflow/payment/app/command"
	"github.com/orderflow/orderflow/payment/domain"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/inbox"
	"github.com/orderflow/orderflow/schema"
)

// ConsumerName names the payment service's inbox.
const ConsumerName = "payment"

// Types are the events the service reacts to: the consumer passes over the
// others without decoding them.
func Types() []string { return []string{schema.TypeOrderCreated, schema.TypeRefundRequested} }

// Units begins a unit of work over payments in a transaction the inbox
// opened (the payment repository).
type Units interface {
	Begin(ctx context.Context, tx pgx.Tx, ids ...string) (*postgres.Unit, error)
}

// EventHandler reacts to a batch of events. The batch's OrderCreated
// messages request their payments in one inbox transaction — one unit of
// work loads every payment they name in one query, one save records every
// PaymentRequested (and every charge owed) — and once that committed, the
// payments are charged in the background, so the partition moves on while
// the PSP answers. The batch's RefundRequested messages are refunded
// together (see command.RefundPaymentHandler). Other events are skipped.
//
// A message that breaks the batch fails it whole; the consumer then hands
// the messages over one by one, so it fails (or is dead-lettered) alone.
func EventHandler(db inbox.Transactor, units Units, cmds app.Commands) consumer.Handler {
	return func(ctx context.Context, msgs []consumer.Message) error {
		var orders, refunds []consumer.Message
		for _, msg := range msgs {
			switch msg.Envelope.Payload.(type) {
			case schema.OrderCreated:
				orders = append(orders, msg)
			case schema.RefundRequested:
				refunds = append(refunds, msg)
			}
		}
		if len(orders) > 0 {
			if err := requestPayments(ctx, db, units, cmds, orders); err != nil {
				return err
			}
		}
		if len(refunds) > 0 {
			return refundPayments(ctx, cmds, refunds)
		}
		return nil
	}
}

func requestPayments(ctx context.Context, db inbox.Transactor, units Units, cmds app.Commands, msgs []consumer.Message) error {
	var owed []command.Owed
	err := inbox.Batch(db, ConsumerName, func(ctx context.Context, tx pgx.Tx, fresh []consumer.Message) error {
		owed = owed[:0]
		ids := make([]string, len(fresh))
		for i, msg := range fresh {
			ids[i] = domain.PaymentID(msg.Envelope.Payload.(schema.OrderCreated).OrderID)
		}
		payments, err := units.Begin(ctx, tx, ids...)
		if err != nil {
			return err
		}
		for _, msg := range fresh {
			o, ok, err := cmds.RequestPayment.Handle(ctx, payments, command.RequestPayment{
				Order: msg.Envelope.Payload.(schema.OrderCreated), Cause: msg.Envelope.CausedBy()})
			if err != nil {
				return classify(err)
			}
			if ok {
				owed = append(owed, o)
			}
		}
		_, err = payments.Save(ctx)
		return err
	})(ctx, msgs)
	if err != nil {
		return err
	}
	cmds.ChargePayment.Start(ctx, owed...)
	return nil
}

func refundPayments(ctx context.Context, cmds app.Commands, msgs []consumer.Message) error {
	reqs := make([]command.RefundPayment, len(msgs))
	for i, msg := range msgs {
		e := msg.Envelope.Payload.(schema.RefundRequested)
		reqs[i] = command.RefundPayment{PaymentID: e.PaymentID, ChargeID: e.ChargeID, Amount: e.Amount,
			Cause: msg.Envelope.CausedBy()}
	}
	return classify(cmds.RefundPayment.Handle(ctx, reqs))
}

// classify marks the errors no retry can fix as permanent, so the message
// goes to the dead-letter topic with the reason instead of blocking its
// partition: a broken payment rule, a payment that does not exist, a PSP
// that refused the call outright. Anything else (the database, a PSP that is
// down or slow) is retried.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var rejected *command.PSPRejectedError
	if errors.Is(err, domain.ErrIllegalTransition) || errors.Is(err, domain.ErrInvalid) ||
		errors.Is(err, domain.ErrNotFound) || errors.As(err, &rejected) {
		return consumer.Permanent(err)
	}
	return err
}
