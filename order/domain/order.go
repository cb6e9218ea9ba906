package domain

import (
	"fmt"
	"time"

	"github.com/orderflow/orderflow/schema"
)

// Status is where an order is in its saga.
type Status string

// Statuses: PENDING → PAID; PENDING or PAID → CANCELLING → CANCELLED.
const (
	StatusPending    Status = "PENDING"
	StatusPaid       Status = "PAID"
	StatusCancelling Status = "CANCELLING"
	StatusCancelled  Status = "CANCELLED"
)

// Order is the state folded from an order's events.
type Order struct {
	ID                 string
	CustomerID         string
	Currency           string
	Items              []Item
	Total              int64
	PaymentMethod      string
	Status             Status
	PaymentID          string
	CancellationReason string
	CancellationNote   string
	Refunded           bool
	Version            int
	CreatedAt          time.Time
	UpdatedAt          time.Time
	History            []HistoryEntry
}

// HistoryEntry is one event of the order, for its history.
type HistoryEntry struct {
	Type       string
	Version    int
	OccurredAt time.Time
}

// Create validates n and returns the event that creates order id.
func Create(id string, n NewOrder) (schema.OrderCreated, error) {
	total, err := n.Validate()
	if err != nil {
		return schema.OrderCreated{}, err
	}
	items := make([]schema.OrderItem, len(n.Items))
	for i, it := range n.Items {
		items[i] = schema.OrderItem{SKU: it.SKU, Quantity: it.Quantity, UnitPrice: it.UnitPrice}
	}
	return schema.OrderCreated{
		OrderID: id, CustomerID: n.CustomerID, Currency: n.Currency, Items: items, Total: total,
		PaymentMethod: n.PaymentMethod,
	}, nil
}

// MarkPaid records a capture. A capture for an order already cancelling or
// cancelled records nothing here: the compensation service refunds it.
func (o *Order) MarkPaid(paymentID string, amount int64) ([]schema.Event, error) {
	switch o.Status {
	case StatusPending:
		return []schema.Event{schema.OrderPaid{OrderID: o.ID, PaymentID: paymentID, Amount: amount}}, nil
	case StatusPaid:
		if o.PaymentID != paymentID {
			return nil, fmt.Errorf("order %s is paid by payment %s, not %s: %w", o.ID, o.PaymentID, paymentID, ErrIllegalTransition)
		}
		return nil, nil
	default:
		return nil, nil
	}
}

// RequestCancellation moves a PENDING or PAID order to CANCELLING. Asking
// again, or asking for a cancelled order, changes nothing.
func (o *Order) RequestCancellation(reason, note string) ([]schema.Event, error) {
	switch o.Status {
	case StatusPending, StatusPaid:
		return []schema.Event{schema.OrderCancellationRequested{OrderID: o.ID, Reason: reason, Note: note}}, nil
	default:
		return nil, nil
	}
}

// DecideCancellation applies the compensation service's decision to cancel
// (declined, failed or late payment). It only applies to a PENDING order: an
// order that got paid first stays PAID.
func (o *Order) DecideCancellation(reason string) ([]schema.Event, error) {
	if o.Status != StatusPending {
		return nil, nil
	}
	return o.RequestCancellation(reason, "")
}

// CompleteCancellation moves a CANCELLING order to CANCELLED. Completing a
// cancellation nobody requested breaks the saga's invariant and is refused.
func (o *Order) CompleteCancellation(reason string, refunded bool) ([]schema.Event, error) {
	switch o.Status {
	case StatusCancelling:
		return []schema.Event{schema.OrderCancelled{OrderID: o.ID, Reason: reason, Refunded: refunded}}, nil
	case StatusCancelled:
		return nil, nil
	default:
		return nil, fmt.Errorf("order %s is %s, not CANCELLING: cannot complete a cancellation: %w", o.ID, o.Status, ErrIllegalTransition)
	}
}

// Apply folds one event into the order.
func (o *Order) Apply(env schema.Envelope) error {
	switch e := env.Payload.(type) {
	case schema.OrderCreated:
		if o.Version != 0 {
			return fmt.Errorf("order %s created twice: %w", e.OrderID, ErrIllegalTransition)
		}
		o.ID, o.CustomerID, o.Currency, o.Total, o.PaymentMethod = e.OrderID, e.CustomerID, e.Currency, e.Total, e.PaymentMethod
		o.Items = make([]Item, len(e.Items))
		for i, it := range e.Items {
			o.Items[i] = Item{SKU: it.SKU, Quantity: it.Quantity, UnitPrice: it.UnitPrice}
		}
		o.Status, o.CreatedAt = StatusPending, env.OccurredAt
	case schema.OrderPaid:
		if o.Status != StatusPending {
			return fmt.Errorf("order %s: paid while %s: %w", o.ID, o.Status, ErrIllegalTransition)
		}
		o.Status, o.PaymentID = StatusPaid, e.PaymentID
	case schema.OrderCancellationRequested:
		if o.Status != StatusPending && o.Status != StatusPaid {
			return fmt.Errorf("order %s: cancellation requested while %s: %w", o.ID, o.Status, ErrIllegalTransition)
		}
		o.Status, o.CancellationReason, o.CancellationNote = StatusCancelling, e.Reason, e.Note
	case schema.OrderCancelled:
		if o.Status != StatusCancelling {
			return fmt.Errorf("order %s: cancelled while %s: %w", o.ID, o.Status, ErrIllegalTransition)
		}
		o.Status, o.Refunded = StatusCancelled, e.Refunded
		if o.CancellationReason == "" {
			o.CancellationReason = e.Reason
		}
	default:
		return fmt.Errorf("order %s: unexpected event %s", o.ID, env.Type)
	}
	o.Version = env.Version
	o.UpdatedAt = env.OccurredAt
	o.History = append(o.History, HistoryEntry{Type: env.Type, Version: env.Version, OccurredAt: env.OccurredAt})
	return nil
}
