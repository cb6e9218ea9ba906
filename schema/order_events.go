package schema

// Order event type names.
const (
	TypeOrderCreated               = "order.created.v1"
	TypeOrderPaid                  = "order.paid.v1"
	TypeOrderCancellationRequested = "order.cancellation_requested.v1"
	TypeOrderCancelled             = "order.cancelled.v1"
)

// Cancellation reasons, the order's cancellationReason.
const (
	ReasonCustomerRequest = "CUSTOMER_REQUEST"
	ReasonPaymentDeclined = "PAYMENT_DECLINED"
	ReasonPaymentFailed   = "PAYMENT_FAILED"
	ReasonPaymentTimeout  = "PAYMENT_TIMEOUT"
)

// OrderItem is one line of an order. Prices are in minor units.
type OrderItem struct {
	SKU       string `json:"sku"`
	Quantity  int    `json:"quantity"`
	UnitPrice int64  `json:"unitPrice"`
}

// OrderCreated starts the saga: a customer placed an order.
type OrderCreated struct {
	OrderID       string      `json:"orderId"`
	CustomerID    string      `json:"customerId"`
	Currency      string      `json:"currency"`
	Items         []OrderItem `json:"items"`
	Total         int64       `json:"total"`
	PaymentMethod string      `json:"paymentMethod"`
}

func (OrderCreated) EventType() string { return TypeOrderCreated }

func (e OrderCreated) Validate() error {
	return required(str("orderId", e.OrderID), str("customerId", e.CustomerID), str("currency", e.Currency),
		field{"items", len(e.Items) > 0}, positive("total", e.Total), str("paymentMethod", e.PaymentMethod))
}

// OrderPaid records that the order's payment was captured.
type OrderPaid struct {
	OrderID   string `json:"orderId"`
	PaymentID string `json:"paymentId"`
	Amount    int64  `json:"amount"`
}

func (OrderPaid) EventType() string { return TypeOrderPaid }

func (e OrderPaid) Validate() error {
	return required(str("orderId", e.OrderID), str("paymentId", e.PaymentID), positive("amount", e.Amount))
}

// OrderCancellationRequested moves the order to CANCELLING: the customer or
// the compensation service asked for it to be cancelled.
type OrderCancellationRequested struct {
	OrderID string `json:"orderId"`
	// Reason is one of the Reason constants.
	Reason string `json:"reason"`
	// Note is the customer's free text, if any.
	Note string `json:"note,omitempty"`
}

func (OrderCancellationRequested) EventType() string { return TypeOrderCancellationRequested }

func (e OrderCancellationRequested) Validate() error {
	return required(str("orderId", e.OrderID), str("reason", e.Reason))
}

// OrderCancelled ends the saga: the order is cancelled and any money taken
// before the cancel has been refunded.
type OrderCancelled struct {
	OrderID  string `json:"orderId"`
	Reason   string `json:"reason"`
	Refunded bool   `json:"refunded"`
}

func (OrderCancelled) EventType() string { return TypeOrderCancelled }

func (e OrderCancelled) Validate() error {
	return required(str("orderId", e.OrderID), str("reason", e.Reason))
}
