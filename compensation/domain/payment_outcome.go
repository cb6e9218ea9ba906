package domain

import "github.com/orderflow/orderflow/schema"

// PaymentDeclined decides to cancel an active order whose card said no.
func (s Saga) PaymentDeclined() ([]schema.Event, error) {
	return s.decideCancellation(schema.ReasonPaymentDeclined)
}

// PaymentFailed decides to cancel an active order whose PSP could not be
// reached within the payment service's retry budget.
func (s Saga) PaymentFailed() ([]schema.Event, error) {
	return s.decideCancellation(schema.ReasonPaymentFailed)
}

// decideCancellation asks the order service to cancel. Only an active saga
// without a capture is cancelled: once money was taken, or the saga settled,
// decided or cancelled, a failure report changes nothing.
func (s Saga) decideCancellation(reason string) ([]schema.Event, error) {
	if !s.Started() {
		return nil, ErrNotStarted
	}
	if s.status != StatusActive || s.captured {
		return nil, nil
	}
	return []schema.Event{schema.CancellationDecided{OrderID: s.orderID, Reason: reason}}, nil
}
