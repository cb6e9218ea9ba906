package command

import (
	"context"

	"github.com/orderflow/orderflow/order/domain"
	"github.com/orderflow/orderflow/schema"
)

// CompleteCancellation is the compensation service's word that a cancelled
// order's captured money, if any, is refunded.
type CompleteCancellation struct {
	OrderID  string
	Reason   string
	Refunded bool
	Cause    schema.Cause
}

// CompleteCancellationHandler moves a cancelling order to CANCELLED.
type CompleteCancellationHandler struct{ now Clock }

// NewCompleteCancellationHandler returns the handler; now stamps recorded events.
func NewCompleteCancellationHandler(now Clock) CompleteCancellationHandler {
	return CompleteCancellationHandler{now: now}
}

// Handle decides on cmd in orders.
func (h CompleteCancellationHandler) Handle(ctx context.Context, orders Orders, cmd CompleteCancellation) error {
	_, err := decide(ctx, orders, cmd.OrderID, cmd.Cause, h.now, func(o domain.Order) ([]schema.Event, error) {
		return o.CompleteCancellation(cmd.Reason, cmd.Refunded)
	})
	return err
}
