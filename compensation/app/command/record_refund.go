package command

import (
	"context"

	"github.com/orderflow/orderflow/compensation/domain"
	"github.com/orderflow/orderflow/schema"
)

// RecordRefund is the fact that the PSP refunded an order's payment.
type RecordRefund struct {
	OrderID   string
	PaymentID string
	RefundID  string
	Cause     schema.Cause
}

// RecordRefundHandler confirms refunds and completes the cancels waiting
// for them.
type RecordRefundHandler struct{ now Clock }

// NewRecordRefundHandler returns the handler.
func NewRecordRefundHandler(now Clock) RecordRefundHandler { return RecordRefundHandler{now: now} }

// Handle records RefundConfirmed, and CancellationCompleted if the order is
// cancelling.
func (h RecordRefundHandler) Handle(ctx context.Context, sagas Sagas, cmd RecordRefund) error {
	return decide(ctx, sagas, cmd.OrderID, cmd.Cause, h.now(), func(s domain.Saga) ([]schema.Event, error) {
		return s.PaymentRefunded(cmd.PaymentID, cmd.RefundID)
	})
}
