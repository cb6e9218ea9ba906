package command

import (
	"context"

	"github.com/orderflow/orderflow/order/domain"
	"github.com/orderflow/orderflow/schema"
)

// DecideCancellation is the compensation service's decision to cancel an
// order (declined, failed or late payment).
type DecideCancellation struct {
	OrderID string
	Reason  string
	Cause   schema.Cause
}

// DecideCancellationHandler applies the decision to a pending order.
type DecideCancellationHandler struct{ now Clock }

// NewDecideCancellationHandler returns the handler; now stamps recorded events.
func NewDecideCancellationHandler(now Clock) DecideCancellationHandler {
	return DecideCancellationHandler{now: now}
}

// Handle decides on cmd in orders.
func (h DecideCancellationHandler) Handle(ctx context.Context, orders Orders, cmd DecideCancellation) error {
	_, err := decide(ctx, orders, cmd.OrderID, cmd.Cause, h.now, func(o domain.Order) ([]schema.Event, error) {
		return o.DecideCancellation(cmd.Reason)
	})
	return err
}
