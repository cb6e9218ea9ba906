package domain

import (
	"fmt"
	"slices"

	"github.com/orderflow/orderflow/schema"
)

// Status is where a payment stands.
type Status string

// Payment statuses. PENDING moves once to CAPTURED, DECLINED or FAILED; only
// CAPTURED moves on, to REFUNDED. Every other status is final.
const (
	StatusPending  Status = "PENDING"
	StatusCaptured Status = "CAPTURED"
	StatusDeclined Status = "DECLINED"
	StatusFailed   Status = "FAILED"
	StatusRefunded Status = "REFUNDED"
)

// Payment is the money side of one order, folded from its event stream.
// The zero Payment is one that does not exist yet. Methods never change the
// receiver: commands return the event to record, Apply returns the new state.
type Payment struct {
	id            string
	orderID       string
	amount        int64
	currency      string
	paymentMethod string
	status        Status
	chargeID      string
	refundID      string
	failureCode   string
	attempts      int
	version       int
}

// ID returns the payment id (see PaymentID).
func (p Payment) ID() string { return p.id }

// OrderID returns the id of the order paid for.
func (p Payment) OrderID() string { return p.orderID }

// Amount returns the amount to charge, in minor units.
func (p Payment) Amount() int64 { return p.amount }

// Currency returns the ISO 4217 currency of Amount.
func (p Payment) Currency() string { return p.currency }

// PaymentMethod returns the PSP token to charge.
func (p Payment) PaymentMethod() string { return p.paymentMethod }

// Status returns where the payment stands ("" before it was requested).
func (p Payment) Status() Status { return p.status }

// ChargeID returns the PSP charge, once there is one.
func (p Payment) ChargeID() string { return p.chargeID }

// RefundID returns the PSP refund, once refunded.
func (p Payment) RefundID() string { return p.refundID }

// FailureCode returns why the payment was declined or failed.
func (p Payment) FailureCode() string { return p.failureCode }

// Attempts returns how many PSP calls a failed payment made.
func (p Payment) Attempts() int { return p.attempts }

// Version returns the stream version the payment was folded to: the
// expected version of the next append.
func (p Payment) Version() int { return p.version }

// Rehydrate folds a stored stream, oldest first, into a Payment. A stream
// that breaks the transition rules is an error, never a half-built payment.
func Rehydrate(events []schema.Envelope) (Payment, error) {
	var p Payment
	for _, env := range events {
		next, err := p.Apply(env.Payload)
		if err != nil {
			return Payment{}, fmt.Errorf("version %d: %w", env.Version, err)
		}
		if env.Version != next.version {
			return Payment{}, fmt.Errorf("version %d: stream has a gap before it", env.Version)
		}
		p = next
	}
	return p, nil
}

// Apply returns the payment with ev applied, or ErrIllegalTransition when ev
// does not follow from the payment's status. It is the one place the
// transition rules live: commands check their event through it.
func (p Payment) Apply(ev schema.Event) (Payment, error) {
	if p.status == "" {
		if e, ok := ev.(schema.PaymentRequested); ok {
			return Payment{id: e.PaymentID, orderID: e.OrderID, amount: e.Amount, currency: e.Currency,
				paymentMethod: e.PaymentMethod, status: StatusPending, version: 1}, nil
		}
		return p, fmt.Errorf("%w: %s before payment.requested", ErrIllegalTransition, typeOf(ev))
	}

	next := p
	next.version++
	switch e := ev.(type) {
	case schema.PaymentCaptured:
		// After FAILED too: the service gave up on the PSP, but a charge
		// with the payment's key went through all the same (an answer lost
		// on the way, another replica's or the sweep's call). The money was
		// taken, so it is recorded: the order is cancelled by then, and the
		// compensation service refunds a capture that comes after a cancel.
		if err := p.transition(e.PaymentID, ev, StatusPending, StatusFailed); err != nil {
			return p, err
		}
		next.status, next.chargeID, next.failureCode = StatusCaptured, e.ChargeID, ""
	case schema.PaymentDeclined:
		if err := p.transition(e.PaymentID, ev, StatusPending); err != nil {
			return p, err
		}
		next.status, next.chargeID, next.failureCode = StatusDeclined, e.ChargeID, e.Code
	case schema.PaymentFailed:
		if err := p.transition(e.PaymentID, ev, StatusPending); err != nil {
			return p, err
		}
		next.status, next.failureCode, next.attempts = StatusFailed, e.Code, e.Attempts
	case schema.PaymentRefunded:
		if err := p.transition(e.PaymentID, ev, StatusCaptured); err != nil {
			return p, err
		}
		next.status, next.refundID = StatusRefunded, e.RefundID
	default:
		return p, fmt.Errorf("%w: %s on a %s payment", ErrIllegalTransition, typeOf(ev), p.status)
	}
	return next, nil
}

// transition checks that ev, for payment paymentID, may leave the payment's
// status, which must be one of from.
func (p Payment) transition(paymentID string, ev schema.Event, from ...Status) error {
	if paymentID != p.id {
		return fmt.Errorf("%w: %s of payment %s applied to payment %s", ErrIllegalTransition, typeOf(ev), paymentID, p.id)
	}
	if !slices.Contains(from, p.status) {
		return fmt.Errorf("%w: %s on a %s payment", ErrIllegalTransition, typeOf(ev), p.status)
	}
	return nil
}

func typeOf(ev schema.Event) string {
	if ev == nil {
		return "no event"
	}
	return ev.EventType()
}
