// Package api is the wire format of the order service's command API: the
// JSON bodies that its HTTP port serves and its client sends, kept in one
// place so the two cannot drift apart.
package api

import (
	"time"

	"github.com/orderflow/orderflow/platform/apiclient"
)

// Item is one order line; UnitPrice is in minor units.
type Item struct {
	SKU       string `json:"sku"`
	Quantity  int    `json:"quantity"`
	UnitPrice int64  `json:"unitPrice"`
}

// CreateOrderRequest is the body of POST /v1/orders.
type CreateOrderRequest struct {
	CustomerID     string `json:"customerId"`
	Currency       string `json:"currency"`
	Items          []Item `json:"items"`
	PaymentMethod  string `json:"paymentMethod"`
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
}

// CancelOrderRequest is the body of POST /v1/orders/{id}/cancel.
type CancelOrderRequest struct {
	Reason string `json:"reason,omitempty"`
}

// HistoryEntry is one event of an order.
type HistoryEntry struct {
	Type       string    `json:"type"`
	Version    int       `json:"version"`
	OccurredAt time.Time `json:"occurredAt"`
}

// Order is an order as its event stream says.
type Order struct {
	ID                 string         `json:"id"`
	CustomerID         string         `json:"customerId"`
	Status             string         `json:"status"`
	Currency           string         `json:"currency"`
	Total              int64          `json:"total"`
	Items              []Item         `json:"items"`
	PaymentID          string         `json:"paymentId,omitempty"`
	CancellationReason string         `json:"cancellationReason,omitempty"`
	CancellationNote   string         `json:"cancellationNote,omitempty"`
	Refunded           bool           `json:"refunded"`
	Version            int            `json:"version"`
	CreatedAt          time.Time      `json:"createdAt"`
	UpdatedAt          time.Time      `json:"updatedAt"`
	History            []HistoryEntry `json:"history"`
}

// Error codes of ErrorBody.
const (
	CodeInvalid     = "invalid"
	CodeNotFound    = "not_found"
	CodeConflict    = "conflict"
	CodeUnavailable = apiclient.CodeUnavailable
	CodeInternal    = apiclient.CodeInternal
)

// Problem is one broken input rule.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ErrorBody is every error answer: {"error": {...}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong, for a person.
type ErrorDetail struct {
	Code     string    `json:"code"`
	Message  string    `json:"message"`
	Problems []Problem `json:"problems,omitempty"`
}
