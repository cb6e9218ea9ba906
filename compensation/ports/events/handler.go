// Package events turns the order and payment events the compensation
// service consumes from Kafka into its commands, each handled once: a batch
// of messages is one inbox transaction, in which one unit of work loads the
// sagas of every order the batch names in one query, each message decides
// in turn, and one save writes the decisions with the deadlines they set or
// void.
package events

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/compensation/app"
	"github.com/orderflow/orderflow/compensation/app/command"
	"github.com/orderflow/orderflow/compensation/domain"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/inbox"
	"github.com/orderflow/orderflow/schema"
)

// InboxName names the compensation service's inbox.
const InboxName = "compensation"

// Unit is a unit of work over sagas in the inbox's transaction.
type Unit interface {
	command.Sagas
	// Save writes everything recorded, and the payment deadlines it set or
	// voided, in the unit's transaction.
	Save(ctx context.Context) error
}

// Units begins a unit of work in tx, loading the sagas of orderIDs in one
// query (postgres.Sagas.Begin).
type Units func(ctx context.Context, tx pgx.Tx, orderIDs ...string) (Unit, error)

// NewHandler returns the consumer handler for the order and payment topics.
// Events compensation does not react to are acknowledged without a
// transaction. A message that fails its batch fails it whole; the consumer
// then hands the messages over one by one, so it fails alone. A batch whose
// save met a concurrent append (the order and the payment topics are
// consumed in parallel, so their batches often touch the same sagas) is
// redone whole by inbox.Batch.
func NewHandler(db inbox.Transactor, application app.Application, units Units) consumer.Handler {
	h := handler{commands: application.Commands, units: units}
	return consumer.Filter(func(msg consumer.Message) bool { return orderOf(msg.Envelope.Payload) != "" },
		inbox.Batch(db, InboxName, h.handle))
}

// orderOf returns the order an event the service reacts to is about, "" for
// the events it does not react to.
func orderOf(e schema.Event) string {
	switch e := e.(type) {
	case schema.OrderCreated:
		return e.OrderID
	case schema.OrderPaid:
		return e.OrderID
	case schema.OrderCancellationRequested:
		return e.OrderID
	case schema.PaymentCaptured:
		return e.OrderID
	case schema.PaymentDeclined:
		return e.OrderID
	case schema.PaymentFailed:
		return e.OrderID
	case schema.PaymentRefunded:
		return e.OrderID
	}
	return ""
}

type handler struct {
	commands app.Commands
	units    Units
}

func (h handler) handle(ctx context.Context, tx pgx.Tx, msgs []consumer.Message) error {
	orderIDs := make([]string, len(msgs))
	for i, msg := range msgs {
		orderIDs[i] = orderOf(msg.Envelope.Payload)
	}
	sagas, err := h.units(ctx, tx, orderIDs...)
	if err != nil {
		return err
	}
	for _, msg := range msgs {
		if err := classify(msg.Envelope, h.react(ctx, sagas, msg.Envelope)); err != nil {
			return err
		}
	}
	return sagas.Save(ctx)
}

func (h handler) react(ctx context.Context, sagas command.Sagas, env schema.Envelope) error {
	cause := env.CausedBy()
	c := h.commands
	switch e := env.Payload.(type) {
	case schema.OrderCreated:
		return c.StartSaga.Handle(ctx, sagas, command.StartSaga{
			OrderID: e.OrderID, Amount: e.Total, CreatedAt: env.OccurredAt, Cause: cause})
	case schema.OrderPaid:
		return c.SettleSaga.Handle(ctx, sagas, command.SettleSaga{OrderID: e.OrderID, Cause: cause})
	case schema.OrderCancellationRequested:
		return c.StartCancellation.Handle(ctx, sagas, command.StartCancellation{
			OrderID: e.OrderID, Reason: e.Reason, Cause: cause})
	case schema.PaymentCaptured:
		return c.RecordCapture.Handle(ctx, sagas, command.RecordCapture{OrderID: e.OrderID, Cause: cause,
			Capture: domain.Capture{PaymentID: e.PaymentID, ChargeID: e.ChargeID, Amount: e.Amount}})
	case schema.PaymentDeclined:
		return c.RecordPaymentFailure.Handle(ctx, sagas, command.RecordPaymentFailure{
			OrderID: e.OrderID, Reason: schema.ReasonPaymentDeclined, Cause: cause})
	case schema.PaymentFailed:
		return c.RecordPaymentFailure.Handle(ctx, sagas, command.RecordPaymentFailure{
			OrderID: e.OrderID, Reason: schema.ReasonPaymentFailed, Cause: cause})
	case schema.PaymentRefunded:
		return c.RecordRefund.Handle(ctx, sagas, command.RecordRefund{
			OrderID: e.OrderID, PaymentID: e.PaymentID, RefundID: e.RefundID, Cause: cause})
	}
	return nil
}

// classify tells the consumer which failures a retry can fix.
//
// An event for an order whose saga has not started depends on where it came
// from. A payment event may overtake its order's OrderCreated: they travel
// on different topics, and compensation consumes them in parallel. It is
// retried, with the consumer's backoff, until the OrderCreated has been
// handled. An order event cannot overtake it — one order's events share a
// partition of the order topic, handled in order — so a missing saga means
// its OrderCreated was dead-lettered; no retry can fix that, and waiting
// would block the partition for good, so the event is dead-lettered too.
//
// A broken invariant (a foreign payment, an event the schema refuses) is
// dead-lettered; anything else (Postgres unavailable, a concurrent append)
// is retried.
func classify(env schema.Envelope, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, domain.ErrNotStarted) && env.AggregateType == schema.AggregatePayment:
		return fmt.Errorf("%s arrived before its order was created, retrying: %w", env.Type, err)
	case errors.Is(err, domain.ErrNotStarted), errors.Is(err, domain.ErrUnknownPayment), errors.Is(err, schema.ErrInvalid):
		return consumer.Permanent(fmt.Errorf("%s: %w", env.Type, err))
	}
	return fmt.Errorf("%s: %w", env.Type, err)
}
