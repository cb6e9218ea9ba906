// Package domain holds the compensation saga of one order: what the
// compensation service has seen of the order and its payment, and the rules
// (docs/saga.md) that turn each new fact into the compensating decisions it
// records. It is pure — no I/O, no clock — so that every rule is tested
// without servers, and a saga is rebuilt from its events alone.
//
// Each fact method returns the events to record, possibly none: a fact that
// does not apply in the saga's current state (a redelivery, a late or
// superseded message) records nothing and is not an error. Applying an event
// returns a new Saga and leaves the old one untouched.
package domain

import (
	"time"

	"github.com/orderflow/orderflow/schema"
)

// Status is where the saga stands.
type Status string

// Saga statuses. The zero Status is a saga that has not started: no
// OrderCreated has been seen for the order yet.
const (
	StatusNotStarted Status = ""
	// StatusActive waits for the payment outcome or the payment deadline.
	StatusActive Status = "ACTIVE"
	// StatusSettled means the order was paid; only a customer cancel can
	// still lead to a compensation (a refund).
	StatusSettled Status = "SETTLED"
	// StatusDecided means a cancel was decided and the order service has
	// not answered yet: it cancels a PENDING order, and refuses a PAID one.
	StatusDecided Status = "DECIDED"
	// StatusCancelling means the order is CANCELLING: money taken is being
	// refunded, or a capture known to exist has not been seen yet.
	StatusCancelling Status = "CANCELLING"
	// StatusCancelled means the order service was told it may cancel.
	StatusCancelled Status = "CANCELLED"
)

// Capture is money taken for the order.
type Capture struct {
	PaymentID string
	ChargeID  string
	Amount    int64
}

// Saga is the compensation state of one order. The zero value is a saga
// that has not started.
type Saga struct {
	orderID  string
	status   Status
	amount   int64
	deadline time.Time
	reason   string

	captured bool
	capture  Capture
	// paid is set when the order service reported the order PAID. A capture
	// then exists even if its PaymentCaptured has not reached us yet (it
	// travels on another topic), so a cancel must wait for it to refund it.
	paid bool

	refundRequested bool
	refunded        bool
	refundID        string
}

// FromHistory rebuilds a saga from its recorded events, oldest first.
func FromHistory(events ...schema.Event) Saga {
	var s Saga
	for _, e := range events {
		s = s.Apply(e)
	}
	return s
}

// Apply returns the saga with e applied. Events of other kinds leave it as
// it is, so a newer event type in the stream does not break older code.
func (s Saga) Apply(e schema.Event) Saga {
	switch e := e.(type) {
	case schema.SagaStarted:
		s.orderID, s.amount, s.deadline, s.status = e.OrderID, e.Amount, e.PaymentDeadline, StatusActive
	case schema.SagaSettled:
		s.status, s.paid = StatusSettled, true
	case schema.CaptureRecorded:
		s.captured = true
		s.capture = Capture{PaymentID: e.PaymentID, ChargeID: e.ChargeID, Amount: e.Amount}
	case schema.CancellationDecided:
		s.status, s.reason = StatusDecided, e.Reason
	case schema.CancellationStarted:
		s.status, s.reason = StatusCancelling, e.Reason
	case schema.RefundRequested:
		s.refundRequested = true
	case schema.RefundConfirmed:
		s.refunded, s.refundID = true, e.RefundID
	case schema.CancellationCompleted:
		s.status, s.reason = StatusCancelled, e.Reason
	}
	return s
}

// OrderID returns the order the saga belongs to.
func (s Saga) OrderID() string { return s.orderID }

// Status returns where the saga stands.
func (s Saga) Status() Status { return s.status }

// Started reports whether the saga has seen its order created.
func (s Saga) Started() bool { return s.status != StatusNotStarted }

// Amount returns the order's total, in minor units.
func (s Saga) Amount() int64 { return s.amount }

// Reason returns why the order is being or was cancelled, if it is.
func (s Saga) Reason() string { return s.reason }

// PaymentDeadline returns when an uncaptured payment times out.
func (s Saga) PaymentDeadline() time.Time { return s.deadline }

// Capture returns the recorded capture, if any.
func (s Saga) Capture() (Capture, bool) { return s.capture, s.captured }

// RefundRequested reports whether a refund of the capture was requested.
func (s Saga) RefundRequested() bool { return s.refundRequested }

// Refunded reports whether the capture was refunded.
func (s Saga) Refunded() bool { return s.refunded }

// DeadlinePending reports whether the payment deadline can still fire: the
// saga is active and nothing has been captured. Once it is false for good
// the stored deadline can be dropped.
func (s Saga) DeadlinePending() bool { return s.status == StatusActive && !s.captured }

// cancelling reports whether the order's cancel has started (or finished),
// after which any capture is money to give back.
func (s Saga) cancelling() bool { return s.status == StatusCancelling || s.status == StatusCancelled }

func (s Saga) refundRequest() schema.RefundRequested {
	return schema.RefundRequested{OrderID: s.orderID, PaymentID: s.capture.PaymentID,
		ChargeID: s.capture.ChargeID, Amount: s.capture.Amount}
}
