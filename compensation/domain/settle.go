package domain

import "github.com/orderflow/orderflow/schema"

// OrderPaid settles an active saga, or one whose decided cancel the order
// service refused because the order was paid first. The payment deadline no
// longer applies.
func (s Saga) OrderPaid() ([]schema.Event, error) {
	if !s.Started() {
		return nil, ErrNotStarted
	}
	if s.status != StatusActive && s.status != StatusDecided {
		return nil, nil
	}
	return []schema.Event{schema.SagaSettled{OrderID: s.orderID}}, nil
}
