package schema

import "time"

// Compensation event type names. The compensation service records in its own
// stream (one per order) what it observed and what it decided, so that a
// restart resumes the saga rather than repeating it. Other services react to
// CancellationDecided, RefundRequested and CancellationCompleted.
const (
	TypeSagaStarted           = "compensation.saga_started.v1"
	TypeSagaSettled           = "compensation.saga_settled.v1"
	TypeCaptureRecorded       = "compensation.capture_recorded.v1"
	TypeCancellationDecided   = "compensation.cancellation_decided.v1"
	TypeCancellationStarted   = "compensation.cancellation_started.v1"
	TypeRefundRequested       = "compensation.refund_requested.v1"
	TypeRefundConfirmed       = "compensation.refund_confirmed.v1"
	TypeCancellationCompleted = "compensation.cancellation_completed.v1"
)

// SagaStarted records a new order and its payment deadline.
type SagaStarted struct {
	OrderID         string    `json:"orderId"`
	Amount          int64     `json:"amount"`
	PaymentDeadline time.Time `json:"paymentDeadline"`
}

func (SagaStarted) EventType() string { return TypeSagaStarted }

func (e SagaStarted) Validate() error {
	return required(str("orderId", e.OrderID), field{"paymentDeadline", !e.PaymentDeadline.IsZero()})
}

// SagaSettled records that the order was paid: its deadline no longer applies.
type SagaSettled struct {
	OrderID string `json:"orderId"`
}

func (SagaSettled) EventType() string { return TypeSagaSettled }

func (e SagaSettled) Validate() error { return required(str("orderId", e.OrderID)) }

// CaptureRecorded records money taken for the order, so that a later cancel
// knows what to refund.
type CaptureRecorded struct {
	OrderID   string `json:"orderId"`
	PaymentID string `json:"paymentId"`
	ChargeID  string `json:"chargeId"`
	Amount    int64  `json:"amount"`
}

func (CaptureRecorded) EventType() string { return TypeCaptureRecorded }

func (e CaptureRecorded) Validate() error {
	return required(str("orderId", e.OrderID), str("paymentId", e.PaymentID), positive("amount", e.Amount))
}

// CancellationDecided asks the order service to cancel a pending order
// (declined, failed or timed-out payment).
type CancellationDecided struct {
	OrderID string `json:"orderId"`
	Reason  string `json:"reason"`
}

func (CancellationDecided) EventType() string { return TypeCancellationDecided }

func (e CancellationDecided) Validate() error {
	return required(str("orderId", e.OrderID), str("reason", e.Reason))
}

// CancellationStarted records that the order is CANCELLING.
type CancellationStarted struct {
	OrderID string `json:"orderId"`
	Reason  string `json:"reason"`
}

func (CancellationStarted) EventType() string { return TypeCancellationStarted }

func (e CancellationStarted) Validate() error {
	return required(str("orderId", e.OrderID), str("reason", e.Reason))
}

// RefundRequested asks the payment service to refund a capture.
type RefundRequested struct {
	OrderID   string `json:"orderId"`
	PaymentID string `json:"paymentId"`
	ChargeID  string `json:"chargeId"`
	Amount    int64  `json:"amount"`
}

func (RefundRequested) EventType() string { return TypeRefundRequested }

func (e RefundRequested) Validate() error {
	return required(str("orderId", e.OrderID), str("paymentId", e.PaymentID), str("chargeId", e.ChargeID),
		positive("amount", e.Amount))
}

// RefundConfirmed records that a requested refund was made.
type RefundConfirmed struct {
	OrderID   string `json:"orderId"`
	PaymentID string `json:"paymentId"`
	RefundID  string `json:"refundId"`
}

func (RefundConfirmed) EventType() string { return TypeRefundConfirmed }

func (e RefundConfirmed) Validate() error {
	return required(str("orderId", e.OrderID), str("paymentId", e.PaymentID))
}

// CancellationCompleted tells the order service the order may be CANCELLED:
// every capture known so far has been refunded.
type CancellationCompleted struct {
	OrderID  string `json:"orderId"`
	Reason   string `json:"reason"`
	Refunded bool   `json:"refunded"`
}

func (CancellationCompleted) EventType() string { return TypeCancellationCompleted }

func (e CancellationCompleted) Validate() error {
	return required(str("orderId", e.OrderID), str("reason", e.Reason))
}
