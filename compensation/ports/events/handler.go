// Package events turns the order and payment events the compensation
// service consumes from Kafka into its commands, each handled once: the
// inbox row and the saga's new events commit in one transaction.
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

// SagasIn returns the saga repository working in tx.
type SagasIn func(tx pgx.Tx) command.SagaRepository

// NewHandler returns the consumer handler for the order and payment topics.
// Events compensation does not react to are acknowledged without a
// transaction.
func NewHandler(db inbox.Transactor, application app.Application, sagas SagasIn) consumer.Handler {
	h := handler{commands: application.Commands, sagas: sagas}
	return consumer.Filter(func(msg consumer.Message) bool { return reactsTo(msg.Envelope.Payload) },
		inbox.Handler(db, InboxName, h.handle))
}

func reactsTo(e schema.Event) bool {
	switch e.(type) {
	case schema.OrderCreated, schema.OrderPaid, schema.OrderCancellationRequested,
		schema.PaymentCaptured, schema.PaymentDeclined, schema.PaymentFailed, schema.PaymentRefunded:
		return true
	}
	return false
}

type handler struct {
	commands app.Commands
	sagas    SagasIn
}

func (h handler) handle(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
	env := msg.Envelope
	sagas := h.sagas(tx)
	cause := env.CausedBy()
	c := h.commands
	var err error
	switch e := env.Payload.(type) {
	case schema.OrderCreated:
		err = c.StartSaga.Handle(ctx, sagas, command.StartSaga{
			OrderID: e.OrderID, Amount: e.Total, CreatedAt: env.OccurredAt, Cause: cause})
	case schema.OrderPaid:
		err = c.SettleSaga.Handle(ctx, sagas, command.SettleSaga{OrderID: e.OrderID, Cause: cause})
	case schema.OrderCancellationRequested:
		err = c.StartCancellation.Handle(ctx, sagas, command.StartCancellation{
			OrderID: e.OrderID, Reason: e.Reason, Cause: cause})
	case schema.PaymentCaptured:
		err = c.RecordCapture.Handle(ctx, sagas, command.RecordCapture{OrderID: e.OrderID, Cause: cause,
			Capture: domain.Capture{PaymentID: e.PaymentID, ChargeID: e.ChargeID, Amount: e.Amount}})
	case schema.PaymentDeclined:
		err = c.RecordPaymentFailure.Handle(ctx, sagas, command.RecordPaymentFailure{
			OrderID: e.OrderID, Reason: schema.ReasonPaymentDeclined, Cause: cause})
	case schema.PaymentFailed:
		err = c.RecordPaymentFailure.Handle(ctx, sagas, command.RecordPaymentFailure{
			OrderID: e.OrderID, Reason: schema.ReasonPaymentFailed, Cause: cause})
	case schema.PaymentRefunded:
		err = c.RecordRefund.Handle(ctx, sagas, command.RecordRefund{
			OrderID: e.OrderID, PaymentID: e.PaymentID, RefundID: e.RefundID, Cause: cause})
	}
	return classify(env, err)
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
