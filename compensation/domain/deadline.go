package domain

import (
	"time"

	"github.com/orderflow/orderflow/schema"
)

// DeadlinePassed decides to cancel an order whose payment was not captured
// by its deadline. Before the deadline, or once the saga left ACTIVE or saw
// a capture, it records nothing.
func (s Saga) DeadlinePassed(now time.Time) ([]schema.Event, error) {
	if !s.Started() {
		return nil, ErrNotStarted
	}
	if now.Before(s.deadline) {
		return nil, nil
	}
	return s.decideCancellation(schema.ReasonPaymentTimeout)
}
