package domain

import "github.com/orderflow/orderflow/schema"

// CancellationRequested starts the cancel of the order (the customer asked,
// or the order service accepted a decided cancel). A captured payment is
// refunded; with nothing to refund the cancel completes at once.
//
// A paid order whose capture has not reached the saga yet (OrderPaid and
// PaymentCaptured travel on different topics) is neither completed nor
// refunded here: the capture, when it arrives, requests the refund, and the
// refund completes the cancel. Otherwise the order would be cancelled as
// "not refunded" while its money was still taken.
func (s Saga) CancellationRequested(reason string) ([]schema.Event, error) {
	if !s.Started() {
		return nil, ErrNotStarted
	}
	if s.cancelling() {
		return nil, nil
	}
	events := []schema.Event{schema.CancellationStarted{OrderID: s.orderID, Reason: reason}}
	switch {
	case s.captured && !s.refundRequested && !s.refunded:
		events = append(events, s.refundRequest())
	case s.paid && !s.captured:
		// wait for the capture
	default:
		events = append(events, schema.CancellationCompleted{OrderID: s.orderID, Reason: reason, Refunded: s.refunded})
	}
	return events, nil
}
