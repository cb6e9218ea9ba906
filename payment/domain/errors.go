package domain

import "errors"

// Sentinel errors. Callers tell them apart with errors.Is; the wrapped
// message says what exactly was refused.
var (
	// ErrIllegalTransition means an event does not apply to the payment's
	// status (capturing a declined payment, refunding a pending one). Such an
	// event is refused, never applied.
	ErrIllegalTransition = errors.New("illegal payment transition")
	// ErrInvalid means a command's input breaks a rule (an empty charge id,
	// a refund of another charge or amount).
	ErrInvalid = errors.New("invalid payment command")
	// ErrNotFound means no payment exists for the order.
	ErrNotFound = errors.New("payment not found")
	// ErrExists means the order's payment was already requested: there is
	// one payment per order, whatever is delivered twice.
	ErrExists = errors.New("payment already exists")
)
