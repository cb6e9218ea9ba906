// Package orderview folds an order's events into the order clients see
// (graph/model.Order). It is pure: the Redis projector and the status feed
// both fold with it, so a query and a subscription can never disagree about
// what an order looks like after the same events.
//
// Events arrive at least once and from two streams (the order's and its
// payment's), interleaved in any way. Each stream is applied once by version:
// an order event whose version is not above the order's, or a payment event
// whose version is not above the payment's, changes nothing. The two streams
// touch disjoint fields, so any interleaving of the same events folds into the
// same order.
package orderview

import (
	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/schema"
)

// Change says what an event changed.
type Change struct {
	// Changed is true if the order is different after the event.
	Changed bool
	// StatusChanged is true if the order's status is different.
	StatusChanged bool
}

// Apply folds env into o and reports what changed. Compensation events, and
// events already applied, change nothing.
func Apply(o *model.Order, env schema.Envelope) Change {
	switch e := env.Payload.(type) {
	case schema.OrderCreated, schema.OrderPaid, schema.OrderCancellationRequested, schema.OrderCancelled:
		return applyOrder(o, env)
	case schema.PaymentRequested:
		return applyPayment(o, env, e.OrderID, e.PaymentID, e.Amount, model.PaymentStatusPending, "")
	case schema.PaymentCaptured:
		return applyPayment(o, env, e.OrderID, e.PaymentID, e.Amount, model.PaymentStatusCaptured, "")
	case schema.PaymentDeclined:
		return applyPayment(o, env, e.OrderID, e.PaymentID, e.Amount, model.PaymentStatusDeclined, e.Code)
	case schema.PaymentFailed:
		return applyPayment(o, env, e.OrderID, e.PaymentID, e.Amount, model.PaymentStatusFailed, e.Code)
	case schema.PaymentRefunded:
		return applyPayment(o, env, e.OrderID, e.PaymentID, e.Amount, model.PaymentStatusRefunded, "")
	}
	return Change{}
}

func applyOrder(o *model.Order, env schema.Envelope) Change {
	if env.Version <= o.Version {
		return Change{}
	}
	before := o.Status
	switch e := env.Payload.(type) {
	case schema.OrderCreated:
		o.ID, o.CustomerID, o.Currency, o.Total = e.OrderID, e.CustomerID, e.Currency, int(e.Total)
		o.Items = make([]*model.OrderItem, len(e.Items))
		for i, it := range e.Items {
			o.Items[i] = &model.OrderItem{Sku: it.SKU, Quantity: it.Quantity, UnitPrice: int(it.UnitPrice)}
		}
		o.Status, o.CreatedAt = model.OrderStatusPending, env.OccurredAt
	case schema.OrderPaid:
		o.ID, o.Status = e.OrderID, model.OrderStatusPaid
	case schema.OrderCancellationRequested:
		o.ID, o.Status = e.OrderID, model.OrderStatusCancelling
		o.CancellationReason = new(e.Reason)
	case schema.OrderCancelled:
		o.ID, o.Status = e.OrderID, model.OrderStatusCancelled
		if o.CancellationReason == nil {
			o.CancellationReason = new(e.Reason)
		}
	}
	o.Version, o.UpdatedAt = env.Version, env.OccurredAt
	o.History = append(o.History, &model.OrderEvent{Type: env.Type, Version: env.Version, OccurredAt: env.OccurredAt})
	return Change{Changed: true, StatusChanged: o.Status != before}
}

// applyPayment records the payment's new status. An order has one payment
// (its id is derived from the order id), so events of another payment id are
// ignored rather than allowed to mix two version sequences.
func applyPayment(o *model.Order, env schema.Envelope, orderID, paymentID string, amount int64,
	status model.PaymentStatus, failureCode string) Change {
	p := o.Payment
	if p != nil && (p.ID != paymentID || env.Version <= p.Version) {
		return Change{}
	}
	if p == nil {
		p = &model.Payment{ID: paymentID}
		o.Payment = p
	}
	if o.ID == "" {
		o.ID = orderID // the payment came first: the order's own events fill in the rest
	}
	p.Status, p.Version = status, env.Version
	if amount > 0 {
		p.Amount = int(amount)
	}
	if failureCode != "" {
		p.FailureCode = new(failureCode)
	}
	return Change{Changed: true}
}

// Folds reports whether env is an event Apply folds (an order or payment
// event), so that callers can skip the others without reading any state.
func Folds(env schema.Envelope) bool {
	switch env.Payload.(type) {
	case schema.OrderCreated, schema.OrderPaid, schema.OrderCancellationRequested, schema.OrderCancelled,
		schema.PaymentRequested, schema.PaymentCaptured, schema.PaymentDeclined, schema.PaymentFailed,
		schema.PaymentRefunded:
		return true
	}
	return false
}

// OrderID returns the id of the order an event belongs to: the payload's
// orderId for every orderflow event, else the correlation id (which is the
// order id by contract).
func OrderID(env schema.Envelope) string {
	switch e := env.Payload.(type) {
	case schema.OrderCreated:
		return e.OrderID
	case schema.OrderPaid:
		return e.OrderID
	case schema.OrderCancellationRequested:
		return e.OrderID
	case schema.OrderCancelled:
		return e.OrderID
	case schema.PaymentRequested:
		return e.OrderID
	case schema.PaymentCaptured:
		return e.OrderID
	case schema.PaymentDeclined:
		return e.OrderID
	case schema.PaymentFailed:
		return e.OrderID
	case schema.PaymentRefunded:
		return e.OrderID
	case schema.SagaStarted:
		return e.OrderID
	case schema.SagaSettled:
		return e.OrderID
	case schema.CaptureRecorded:
		return e.OrderID
	case schema.CancellationDecided:
		return e.OrderID
	case schema.CancellationStarted:
		return e.OrderID
	case schema.RefundRequested:
		return e.OrderID
	case schema.RefundConfirmed:
		return e.OrderID
	case schema.CancellationCompleted:
		return e.OrderID
	}
	return env.CorrelationID
}

// Created reports whether o's OrderCreated has been folded in: before that an
// order (known only from payment events) is not shown to anyone.
func Created(o *model.Order) bool { return o != nil && o.CustomerID != "" }

// Clone returns a deep copy of o, so a folded order can be handed out while
// the fold goes on.
func Clone(o *model.Order) *model.Order {
	if o == nil {
		return nil
	}
	c := *o
	if o.Items != nil {
		c.Items = make([]*model.OrderItem, len(o.Items))
		for i, it := range o.Items {
			c.Items[i] = new(*it)
		}
	}
	if o.Payment != nil {
		p := *o.Payment
		if p.FailureCode != nil {
			p.FailureCode = new(*p.FailureCode)
		}
		c.Payment = &p
	}
	if o.CancellationReason != nil {
		c.CancellationReason = new(*o.CancellationReason)
	}
	if o.History != nil {
		c.History = make([]*model.OrderEvent, len(o.History))
		for i, h := range o.History {
			c.History[i] = new(*h)
		}
	}
	return &c
}
