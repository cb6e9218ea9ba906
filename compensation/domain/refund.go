package domain

import (
	"fmt"

	"github.com/orderflow/orderflow/schema"
)

// PaymentRefunded records that the capture was refunded, once, and
// completes a cancel that was waiting for the money to be returned.
func (s Saga) PaymentRefunded(paymentID, refundID string) ([]schema.Event, error) {
	if !s.Started() {
		return nil, ErrNotStarted
	}
	if s.captured && paymentID != s.capture.PaymentID {
		return nil, fmt.Errorf("refund of payment %s, but %s was captured: %w", paymentID, s.capture.PaymentID, ErrUnknownPayment)
	}
	if s.refunded {
		return nil, nil
	}
	events := []schema.Event{schema.RefundConfirmed{OrderID: s.orderID, PaymentID: paymentID, RefundID: refundID}}
	if s.status == StatusCancelling {
		events = append(events, schema.CancellationCompleted{OrderID: s.orderID, Reason: s.reason, Refunded: true})
	}
	return events, nil
}
