package domain

import (
	"time"

	"github.com/orderflow/orderflow/schema"
)

// Start records a created order and the deadline by which its payment must
// be captured. A saga starts once: a repeated OrderCreated records nothing.
func (s Saga) Start(orderID string, amount int64, paymentDeadline time.Time) ([]schema.Event, error) {
	if s.Started() {
		return nil, nil
	}
	return []schema.Event{schema.SagaStarted{OrderID: orderID, Amount: amount, PaymentDeadline: paymentDeadline.UTC()}}, nil
}
