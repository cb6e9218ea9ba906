package domain

import (
	"fmt"

	"github.com/orderflow/orderflow/schema"
)

// PaymentCaptured records money taken for the order, once. If the order's
// cancel has already started, the capture came too late and is refunded.
//
// A capture after a merely decided cancel is not refunded yet: the order
// service may refuse that cancel because the order was paid in the meantime.
// Its answer settles it — OrderCancellationRequested leads to the refund,
// OrderPaid settles the saga.
func (s Saga) PaymentCaptured(c Capture) ([]schema.Event, error) {
	if !s.Started() {
		return nil, ErrNotStarted
	}
	if s.captured {
		if c.PaymentID != s.capture.PaymentID {
			return nil, fmt.Errorf("capture of payment %s, but %s was captured: %w", c.PaymentID, s.capture.PaymentID, ErrUnknownPayment)
		}
		return nil, nil
	}
	events := []schema.Event{schema.CaptureRecorded{OrderID: s.orderID, PaymentID: c.PaymentID, ChargeID: c.ChargeID, Amount: c.Amount}}
	if s.cancelling() && !s.refundRequested && !s.refunded {
		events = append(events, schema.RefundRequested{OrderID: s.orderID, PaymentID: c.PaymentID, ChargeID: c.ChargeID, Amount: c.Amount})
	}
	return events, nil
}
