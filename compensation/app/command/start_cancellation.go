package command

import (
	"context"

	"github.com/orderflow/orderflow/compensation/domain"
	"github.com/orderflow/orderflow/schema"
)

// StartCancellation is the fact that the order service moved an order to
// CANCELLING, at a customer's request or after a decided cancel.
type StartCancellation struct {
	OrderID string
	Reason  string
	Cause   schema.Cause
}

// StartCancellationHandler starts a cancel: it refunds what was captured, or
// completes the cancel when there is nothing to refund.
type StartCancellationHandler struct{ now Clock }

// NewStartCancellationHandler returns the handler.
func NewStartCancellationHandler(now Clock) StartCancellationHandler {
	return StartCancellationHandler{now: now}
}

// Handle records CancellationStarted followed by RefundRequested or
// CancellationCompleted.
func (h StartCancellationHandler) Handle(ctx context.Context, sagas Sagas, cmd StartCancellation) error {
	return decide(ctx, sagas, cmd.OrderID, cmd.Cause, h.now(), func(s domain.Saga) ([]schema.Event, error) {
		return s.CancellationRequested(cmd.Reason)
	})
}
