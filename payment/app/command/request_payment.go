package command

import (
	"context"

	"github.com/orderflow/orderflow/payment/domain"
	"github.com/orderflow/orderflow/schema"
)

// RequestPayment is a new order to be paid for.
type RequestPayment struct {
	Order schema.OrderCreated
	Cause schema.Cause
}

// RequestPaymentHandler records PaymentRequested for a new order's total.
// The payment id derives from the order id and the stream must be new, so a
// redelivered (or replayed) OrderCreated requests nothing.
//
// It does not charge: the caller charges the payments it returns once their
// requests have committed (ChargePayment.Start), so that no PSP call happens
// inside a transaction and a charge is made only for a request that is
// durable. The request's transaction also records the charge as owed; should
// the process die before the outcome is recorded, the sweep charges it again
// with the same idempotency key.
type RequestPaymentHandler struct{ now Clock }

// NewRequestPaymentHandler returns the handler; now stamps recorded events.
func NewRequestPaymentHandler(now Clock) RequestPaymentHandler {
	return RequestPaymentHandler{now: now}
}

// Handle decides on cmd in payments. It returns the charge now owed, or
// false if the order's payment was requested before.
func (h RequestPaymentHandler) Handle(ctx context.Context, payments Payments, cmd RequestPayment) (Owed, bool, error) {
	ev, err := domain.Request(cmd.Order)
	if err != nil {
		return Owed{}, false, err
	}
	if _, version, err := payments.Get(ctx, ev.PaymentID); err != nil || version > 0 {
		return Owed{}, false, err
	}
	env := schema.New(schema.AggregatePayment, ev.PaymentID, ev, cmd.Cause, h.now())
	if err := payments.Record(ctx, ev.PaymentID, env); err != nil {
		return Owed{}, false, err
	}
	p, _, err := payments.Get(ctx, ev.PaymentID)
	if err != nil {
		return Owed{}, false, err
	}
	return Owed{Payment: p, Cause: env.CausedBy()}, true, nil
}
