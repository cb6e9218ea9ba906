package command

import (
	"context"

	"github.com/orderflow/orderflow/compensation/domain"
	"github.com/orderflow/orderflow/schema"
)

// RecordCapture is the fact that money was taken for an order.
type RecordCapture struct {
	OrderID string
	Capture domain.Capture
	Cause   schema.Cause
}

// RecordCaptureHandler records captures, and refunds those that came after
// the order's cancel started.
type RecordCaptureHandler struct{ now Clock }

// NewRecordCaptureHandler returns the handler.
func NewRecordCaptureHandler(now Clock) RecordCaptureHandler { return RecordCaptureHandler{now: now} }

// Handle records CaptureRecorded, and RefundRequested if the cancel started.
func (h RecordCaptureHandler) Handle(ctx context.Context, sagas Sagas, cmd RecordCapture) error {
	return decide(ctx, sagas, cmd.OrderID, cmd.Cause, h.now(), func(s domain.Saga) ([]schema.Event, error) {
		return s.PaymentCaptured(cmd.Capture)
	})
}
