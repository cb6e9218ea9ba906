package schema

// Payment event type names.
const (
	TypePaymentRequested = "payment.requested.v1"
	TypePaymentCaptured  = "payment.captured.v1"
	TypePaymentDeclined  = "payment.declined.v1"
	TypePaymentFailed    = "payment.failed.v1"
	TypePaymentRefunded  = "payment.refunded.v1"
)

// PaymentRequested records that the payment service will charge for an order.
type PaymentRequested struct {
	PaymentID     string `json:"paymentId"`
	OrderID       string `json:"orderId"`
	Amount        int64  `json:"amount"`
	Currency      string `json:"currency"`
	PaymentMethod string `json:"paymentMethod"`
}

func (PaymentRequested) EventType() string { return TypePaymentRequested }

func (e PaymentRequested) Validate() error {
	return required(str("paymentId", e.PaymentID), str("orderId", e.OrderID), positive("amount", e.Amount),
		str("currency", e.Currency), str("paymentMethod", e.PaymentMethod))
}

// PaymentCaptured records that the PSP took the money.
type PaymentCaptured struct {
	PaymentID string `json:"paymentId"`
	OrderID   string `json:"orderId"`
	Amount    int64  `json:"amount"`
	ChargeID  string `json:"chargeId"`
}

func (PaymentCaptured) EventType() string { return TypePaymentCaptured }

func (e PaymentCaptured) Validate() error {
	return required(str("paymentId", e.PaymentID), str("orderId", e.OrderID), positive("amount", e.Amount),
		str("chargeId", e.ChargeID))
}

// PaymentDeclined records that the card said no. It is final: no retry.
type PaymentDeclined struct {
	PaymentID string `json:"paymentId"`
	OrderID   string `json:"orderId"`
	Amount    int64  `json:"amount"`
	ChargeID  string `json:"chargeId,omitempty"`
	// Code is the PSP's decline code, e.g. "card_declined".
	Code string `json:"code"`
}

func (PaymentDeclined) EventType() string { return TypePaymentDeclined }

func (e PaymentDeclined) Validate() error {
	return required(str("paymentId", e.PaymentID), str("orderId", e.OrderID), str("code", e.Code))
}

// PaymentFailed records that the PSP could not be reached within the retry
// budget, and a lookup by reference found no charge: nothing was taken.
type PaymentFailed struct {
	PaymentID string `json:"paymentId"`
	OrderID   string `json:"orderId"`
	Amount    int64  `json:"amount"`
	Code      string `json:"code"`
	Attempts  int    `json:"attempts"`
}

func (PaymentFailed) EventType() string { return TypePaymentFailed }

func (e PaymentFailed) Validate() error {
	return required(str("paymentId", e.PaymentID), str("orderId", e.OrderID), str("code", e.Code))
}

// PaymentRefunded records that the PSP confirmed a refund.
type PaymentRefunded struct {
	PaymentID string `json:"paymentId"`
	OrderID   string `json:"orderId"`
	Amount    int64  `json:"amount"`
	ChargeID  string `json:"chargeId"`
	RefundID  string `json:"refundId"`
}

func (PaymentRefunded) EventType() string { return TypePaymentRefunded }

func (e PaymentRefunded) Validate() error {
	return required(str("paymentId", e.PaymentID), str("orderId", e.OrderID), positive("amount", e.Amount),
		str("refundId", e.RefundID))
}
