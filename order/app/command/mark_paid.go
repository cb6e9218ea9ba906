package command

import (
	"context"

	"github.com/orderflow/orderflow/order/domain"
	"github.com/orderflow/orderflow/schema"
)

// MarkPaid is a capture of an order's payment.
type MarkPaid struct {
	OrderID   string
	PaymentID string
	Amount    int64
	Cause     schema.Cause
}

// MarkPaidHandler marks a pending order PAID. A capture of an order that is
// being or was cancelled is left to the compensation service to refund.
type MarkPaidHandler struct{ now Clock }

// NewMarkPaidHandler returns the handler; now stamps recorded events.
func NewMarkPaidHandler(now Clock) MarkPaidHandler { return MarkPaidHandler{now: now} }

// Handle decides on cmd in orders.
func (h MarkPaidHandler) Handle(ctx context.Context, orders Orders, cmd MarkPaid) error {
	_, err := decide(ctx, orders, cmd.OrderID, cmd.Cause, h.now, func(o domain.Order) ([]schema.Event, error) {
		return o.MarkPaid(cmd.PaymentID, cmd.Amount)
	})
	return err
}
