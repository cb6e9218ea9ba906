package command

import (
	"context"
	"fmt"

	"github.com/orderflow/orderflow/compensation/domain"
	"github.com/orderflow/orderflow/schema"
)

// RecordPaymentFailure is the fact that an order's payment was declined, or
// failed because the PSP could not be reached.
type RecordPaymentFailure struct {
	OrderID string
	// Reason is schema.ReasonPaymentDeclined or schema.ReasonPaymentFailed.
	Reason string
	Cause  schema.Cause
}

// RecordPaymentFailureHandler decides to cancel an order whose payment did
// not go through.
type RecordPaymentFailureHandler struct{ now Clock }

// NewRecordPaymentFailureHandler returns the handler.
func NewRecordPaymentFailureHandler(now Clock) RecordPaymentFailureHandler {
	return RecordPaymentFailureHandler{now: now}
}

// Handle records CancellationDecided if the saga is still active.
func (h RecordPaymentFailureHandler) Handle(ctx context.Context, sagas Sagas, cmd RecordPaymentFailure) error {
	return decide(ctx, sagas, cmd.OrderID, cmd.Cause, h.now(), func(s domain.Saga) ([]schema.Event, error) {
		switch cmd.Reason {
		case schema.ReasonPaymentDeclined:
			return s.PaymentDeclined()
		case schema.ReasonPaymentFailed:
			return s.PaymentFailed()
		}
		return nil, fmt.Errorf("record payment failure: unknown reason %q", cmd.Reason)
	})
}
