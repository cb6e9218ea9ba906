// Package eventtest gives the gateway's integration tests what they share:
// the events of an order's saga with correct versions, real Kafka topics to
// produce them to (as the outbox relay would), and per-test Redis key prefixes
// and JetStream streams that are removed when the test ends.
package eventtest

import (
	"time"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/schema"
)

// Saga builds one order's events, numbering each stream's versions from 1.
type Saga struct {
	OrderID, PaymentID, CustomerID string
	// At is the time of the next event; each event moves it on by 1 ms.
	At time.Time

	orderVersion, paymentVersion, compensationVersion int
}

// NewSaga starts an order of customerID created at createdAt.
func NewSaga(customerID string, createdAt time.Time) *Saga {
	return &Saga{OrderID: uuid.NewString(), PaymentID: uuid.NewString(), CustomerID: customerID, At: createdAt.UTC()}
}

func (s *Saga) next(aggregateType, aggregateID string, version *int, ev schema.Event) schema.Envelope {
	*version++
	env := schema.New(aggregateType, aggregateID, ev, schema.Cause{CorrelationID: s.OrderID, CausationID: uuid.NewString()}, s.At)
	env.Version = *version
	s.At = s.At.Add(time.Millisecond)
	return env
}

// Order returns the order stream's next event.
func (s *Saga) Order(ev schema.Event) schema.Envelope {
	return s.next(schema.AggregateOrder, s.OrderID, &s.orderVersion, ev)
}

// Payment returns the payment stream's next event.
func (s *Saga) Payment(ev schema.Event) schema.Envelope {
	return s.next(schema.AggregatePayment, s.PaymentID, &s.paymentVersion, ev)
}

// Compensation returns the compensation stream's next event.
func (s *Saga) Compensation(ev schema.Event) schema.Envelope {
	return s.next(schema.AggregateCompensation, s.OrderID, &s.compensationVersion, ev)
}

// Created is OrderCreated: 2 × 1250 EUR.
func (s *Saga) Created() schema.Envelope {
	return s.Order(schema.OrderCreated{OrderID: s.OrderID, CustomerID: s.CustomerID, Currency: "EUR",
		Items: []schema.OrderItem{{SKU: "sku-1", Quantity: 2, UnitPrice: 1250}}, Total: 2500, PaymentMethod: "tok_visa"})
}

// Paid is OrderPaid.
func (s *Saga) Paid() schema.Envelope {
	return s.Order(schema.OrderPaid{OrderID: s.OrderID, PaymentID: s.PaymentID, Amount: 2500})
}

// CancelRequested is OrderCancellationRequested.
func (s *Saga) CancelRequested(reason string) schema.Envelope {
	return s.Order(schema.OrderCancellationRequested{OrderID: s.OrderID, Reason: reason})
}

// Cancelled is OrderCancelled.
func (s *Saga) Cancelled(reason string) schema.Envelope {
	return s.Order(schema.OrderCancelled{OrderID: s.OrderID, Reason: reason})
}

// Requested is PaymentRequested.
func (s *Saga) Requested() schema.Envelope {
	return s.Payment(schema.PaymentRequested{PaymentID: s.PaymentID, OrderID: s.OrderID, Amount: 2500, Currency: "EUR", PaymentMethod: "tok_visa"})
}

// Captured is PaymentCaptured.
func (s *Saga) Captured() schema.Envelope {
	return s.Payment(schema.PaymentCaptured{PaymentID: s.PaymentID, OrderID: s.OrderID, Amount: 2500, ChargeID: "ch_" + s.PaymentID[:8]})
}

// Declined is PaymentDeclined with code.
func (s *Saga) Declined(code string) schema.Envelope {
	return s.Payment(schema.PaymentDeclined{PaymentID: s.PaymentID, OrderID: s.OrderID, Amount: 2500, Code: code})
}

// Refunded is PaymentRefunded.
func (s *Saga) Refunded() schema.Envelope {
	return s.Payment(schema.PaymentRefunded{PaymentID: s.PaymentID, OrderID: s.OrderID, Amount: 2500,
		ChargeID: "ch_" + s.PaymentID[:8], RefundID: "re_" + s.PaymentID[:8]})
}

// SagaStarted is the compensation service's first event.
func (s *Saga) SagaStarted() schema.Envelope {
	return s.Compensation(schema.SagaStarted{OrderID: s.OrderID, Amount: 2500, PaymentDeadline: s.At.Add(30 * time.Second)})
}

// HappyPath runs the happy path: created, requested, captured, paid, with
// the compensation service's bookkeeping.
func (s *Saga) HappyPath() []schema.Envelope {
	return []schema.Envelope{s.Created(), s.SagaStarted(), s.Requested(), s.Captured(), s.Paid()}
}

// DeclinePath runs the decline path to CANCELLED.
func (s *Saga) DeclinePath() []schema.Envelope {
	return []schema.Envelope{s.Created(), s.Requested(), s.Declined("card_declined"),
		s.CancelRequested(schema.ReasonPaymentDeclined), s.Cancelled(schema.ReasonPaymentDeclined)}
}
