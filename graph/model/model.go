// Package model holds the Go types of the GraphQL API. They are written by
// hand (gqlgen binds to them) so that the gateway's read models, its status
// feed and the resolvers share one definition of an order.
package model

import (
	"fmt"
	"io"
	"strconv"
	"time"
)

// Order is an order as clients see it.
type Order struct {
	ID                 string        `json:"id"`
	CustomerID         string        `json:"customerId"`
	Status             OrderStatus   `json:"status"`
	Currency           string        `json:"currency"`
	Total              int           `json:"total"`
	Items              []*OrderItem  `json:"items"`
	Payment            *Payment      `json:"payment"`
	CancellationReason *string       `json:"cancellationReason"`
	Version            int           `json:"version"`
	CreatedAt          time.Time     `json:"createdAt"`
	UpdatedAt          time.Time     `json:"updatedAt"`
	History            []*OrderEvent `json:"history"`
}

// OrderItem is one line of an order; UnitPrice is in minor units.
type OrderItem struct {
	Sku       string `json:"sku"`
	Quantity  int    `json:"quantity"`
	UnitPrice int    `json:"unitPrice"`
}

// Payment is the order's payment as the payment service reports it.
type Payment struct {
	ID          string        `json:"id"`
	Status      PaymentStatus `json:"status"`
	Amount      int           `json:"amount"`
	FailureCode *string       `json:"failureCode"`
	// Version is the payment stream's version this view reflects (not
	// exposed in GraphQL; used to apply payment events once).
	Version int `json:"paymentVersion"`
}

// OrderEvent is one event of an order's history.
type OrderEvent struct {
	Type       string    `json:"type"`
	Version    int       `json:"version"`
	OccurredAt time.Time `json:"occurredAt"`
}

// OrderConnection is a page of orders.
type OrderConnection struct {
	Edges    []*OrderEdge `json:"edges"`
	PageInfo *PageInfo    `json:"pageInfo"`
}

// OrderEdge is one order of a page with its cursor.
type OrderEdge struct {
	Cursor string `json:"cursor"`
	Node   *Order `json:"node"`
}

// PageInfo says whether there is a next page and where it starts.
type PageInfo struct {
	HasNextPage bool    `json:"hasNextPage"`
	EndCursor   *string `json:"endCursor"`
}

// CreateOrderInput is the input of createOrder.
type CreateOrderInput struct {
	// CustomerID, if given, must be the caller's own (the token's subject).
	CustomerID     *string           `json:"customerId"`
	Currency       string            `json:"currency"`
	Items          []*OrderItemInput `json:"items"`
	PaymentMethod  string            `json:"paymentMethod"`
	IdempotencyKey *string           `json:"idempotencyKey"`
}

// OrderItemInput is one line of CreateOrderInput.
type OrderItemInput struct {
	Sku       string `json:"sku"`
	Quantity  int    `json:"quantity"`
	UnitPrice int    `json:"unitPrice"`
}

// ListQuery selects a page of a customer's orders.
type ListQuery struct {
	CustomerID string
	Status     *OrderStatus
	First      int
	After      string
}

// OrderStatus is where an order is in its saga.
type OrderStatus string

// Order statuses.
const (
	OrderStatusPending    OrderStatus = "PENDING"
	OrderStatusPaid       OrderStatus = "PAID"
	OrderStatusCancelling OrderStatus = "CANCELLING"
	OrderStatusCancelled  OrderStatus = "CANCELLED"
)

// IsValid reports whether s is a known status.
func (s OrderStatus) IsValid() bool {
	switch s {
	case OrderStatusPending, OrderStatusPaid, OrderStatusCancelling, OrderStatusCancelled:
		return true
	}
	return false
}

// UnmarshalGQL implements graphql.Unmarshaler.
func (s *OrderStatus) UnmarshalGQL(v any) error {
	str, ok := v.(string)
	if !ok {
		return fmt.Errorf("OrderStatus must be a string")
	}
	*s = OrderStatus(str)
	if !s.IsValid() {
		return fmt.Errorf("%s is not a valid OrderStatus", str)
	}
	return nil
}

// MarshalGQL implements graphql.Marshaler.
func (s OrderStatus) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(s))) }

// PaymentStatus is where a payment is.
type PaymentStatus string

// Payment statuses.
const (
	PaymentStatusPending  PaymentStatus = "PENDING"
	PaymentStatusCaptured PaymentStatus = "CAPTURED"
	PaymentStatusDeclined PaymentStatus = "DECLINED"
	PaymentStatusFailed   PaymentStatus = "FAILED"
	PaymentStatusRefunded PaymentStatus = "REFUNDED"
)

// IsValid reports whether s is a known status.
func (s PaymentStatus) IsValid() bool {
	switch s {
	case PaymentStatusPending, PaymentStatusCaptured, PaymentStatusDeclined, PaymentStatusFailed, PaymentStatusRefunded:
		return true
	}
	return false
}

// UnmarshalGQL implements graphql.Unmarshaler.
func (s *PaymentStatus) UnmarshalGQL(v any) error {
	str, ok := v.(string)
	if !ok {
		return fmt.Errorf("PaymentStatus must be a string")
	}
	*s = PaymentStatus(str)
	if !s.IsValid() {
		return fmt.Errorf("%s is not a valid PaymentStatus", str)
	}
	return nil
}

// MarshalGQL implements graphql.Marshaler.
func (s PaymentStatus) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(s))) }
