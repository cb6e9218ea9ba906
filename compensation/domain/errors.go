package domain

import "errors"

// Errors a fact method returns when the fact cannot be judged.
var (
	// ErrNotStarted means a fact arrived for an order whose saga has not
	// started: its OrderCreated has not been handled (yet).
	ErrNotStarted = errors.New("saga not started")
	// ErrUnknownPayment means a fact names a payment other than the one
	// captured for the order. Payment ids are derived from the order id, so
	// this is a broken invariant, not a race.
	ErrUnknownPayment = errors.New("payment does not belong to the order's saga")
)
