package orderview_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/gateway/orderview"
	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/schema"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// saga builds the events of one order.
type saga struct {
	orderID, paymentID, customerID string
}

func newSaga() saga {
	return saga{orderID: uuid.NewString(), paymentID: uuid.NewString(), customerID: uuid.NewString()}
}

func (s saga) order(version int, ev schema.Event) schema.Envelope {
	env := schema.New(schema.AggregateOrder, s.orderID, ev, schema.Cause{CorrelationID: s.orderID}, t0.Add(time.Duration(version)*time.Second))
	env.Version = version
	return env
}

func (s saga) payment(version int, ev schema.Event) schema.Envelope {
	env := schema.New(schema.AggregatePayment, s.paymentID, ev, schema.Cause{CorrelationID: s.orderID}, t0.Add(time.Duration(version)*time.Second+time.Millisecond))
	env.Version = version
	return env
}

func (s saga) created() schema.Envelope {
	return s.order(1, schema.OrderCreated{OrderID: s.orderID, CustomerID: s.customerID, Currency: "EUR",
		Items: []schema.OrderItem{{SKU: "sku-1", Quantity: 2, UnitPrice: 1250}}, Total: 2500, PaymentMethod: "tok_visa"})
}

func (s saga) paid(v int) schema.Envelope {
	return s.order(v, schema.OrderPaid{OrderID: s.orderID, PaymentID: s.paymentID, Amount: 2500})
}

func (s saga) cancelRequested(v int, reason string) schema.Envelope {
	return s.order(v, schema.OrderCancellationRequested{OrderID: s.orderID, Reason: reason})
}

func (s saga) cancelled(v int, reason string) schema.Envelope {
	return s.order(v, schema.OrderCancelled{OrderID: s.orderID, Reason: reason})
}

func (s saga) requested() schema.Envelope {
	return s.payment(1, schema.PaymentRequested{PaymentID: s.paymentID, OrderID: s.orderID, Amount: 2500, Currency: "EUR", PaymentMethod: "tok_visa"})
}

func (s saga) captured(v int) schema.Envelope {
	return s.payment(v, schema.PaymentCaptured{PaymentID: s.paymentID, OrderID: s.orderID, Amount: 2500, ChargeID: "ch_1"})
}

func (s saga) declined(v int) schema.Envelope {
	return s.payment(v, schema.PaymentDeclined{PaymentID: s.paymentID, OrderID: s.orderID, Amount: 2500, Code: "card_declined"})
}

func (s saga) failed(v int) schema.Envelope {
	return s.payment(v, schema.PaymentFailed{PaymentID: s.paymentID, OrderID: s.orderID, Amount: 2500, Code: "psp_unavailable", Attempts: 5})
}

func (s saga) refunded(v int) schema.Envelope {
	return s.payment(v, schema.PaymentRefunded{PaymentID: s.paymentID, OrderID: s.orderID, Amount: 2500, ChargeID: "ch_1", RefundID: "re_1"})
}

func (s saga) compensation(v int, ev schema.Event) schema.Envelope {
	env := schema.New(schema.AggregateCompensation, s.orderID, ev, schema.Cause{CorrelationID: s.orderID}, t0)
	env.Version = v
	return env
}

func fold(events ...schema.Envelope) (*model.Order, []orderview.Change) {
	o := &model.Order{}
	changes := make([]orderview.Change, len(events))
	for i, env := range events {
		changes[i] = orderview.Apply(o, env)
	}
	return o, changes
}

func TestApplyFoldsEachPathOfTheSaga(t *testing.T) {
	s := newSaga()
	changed := orderview.Change{Changed: true}
	status := orderview.Change{Changed: true, StatusChanged: true}

	tests := []struct {
		name        string
		events      []schema.Envelope
		changes     []orderview.Change
		status      model.OrderStatus
		payment     *model.Payment
		reason      *string
		version     int
		historyLast string
	}{
		{
			name:    "captured",
			events:  []schema.Envelope{s.created(), s.requested(), s.captured(2), s.paid(2)},
			changes: []orderview.Change{status, changed, changed, status},
			status:  model.OrderStatusPaid, version: 2, historyLast: schema.TypeOrderPaid,
			payment: &model.Payment{ID: s.paymentID, Status: model.PaymentStatusCaptured, Amount: 2500, Version: 2},
		},
		{
			name:    "declined",
			events:  []schema.Envelope{s.created(), s.requested(), s.declined(2), s.cancelRequested(2, schema.ReasonPaymentDeclined), s.cancelled(3, schema.ReasonPaymentDeclined)},
			changes: []orderview.Change{status, changed, changed, status, status},
			status:  model.OrderStatusCancelled, version: 3, reason: new(schema.ReasonPaymentDeclined), historyLast: schema.TypeOrderCancelled,
			payment: &model.Payment{ID: s.paymentID, Status: model.PaymentStatusDeclined, Amount: 2500, FailureCode: new("card_declined"), Version: 2},
		},
		{
			name:    "PSP unreachable",
			events:  []schema.Envelope{s.created(), s.requested(), s.failed(2), s.cancelRequested(2, schema.ReasonPaymentFailed), s.cancelled(3, schema.ReasonPaymentFailed)},
			changes: []orderview.Change{status, changed, changed, status, status},
			status:  model.OrderStatusCancelled, version: 3, reason: new(schema.ReasonPaymentFailed), historyLast: schema.TypeOrderCancelled,
			payment: &model.Payment{ID: s.paymentID, Status: model.PaymentStatusFailed, Amount: 2500, FailureCode: new("psp_unavailable"), Version: 2},
		},
		{
			name: "customer cancel after capture, refunded",
			events: []schema.Envelope{s.created(), s.requested(), s.captured(2), s.paid(2),
				s.cancelRequested(3, schema.ReasonCustomerRequest), s.refunded(3), s.cancelled(4, schema.ReasonCustomerRequest)},
			changes: []orderview.Change{status, changed, changed, status, status, changed, status},
			status:  model.OrderStatusCancelled, version: 4, reason: new(schema.ReasonCustomerRequest), historyLast: schema.TypeOrderCancelled,
			payment: &model.Payment{ID: s.paymentID, Status: model.PaymentStatusRefunded, Amount: 2500, Version: 3},
		},
		{
			name:    "payment events before the order was created",
			events:  []schema.Envelope{s.requested(), s.captured(2), s.created(), s.paid(2)},
			changes: []orderview.Change{changed, changed, status, status},
			status:  model.OrderStatusPaid, version: 2, historyLast: schema.TypeOrderPaid,
			payment: &model.Payment{ID: s.paymentID, Status: model.PaymentStatusCaptured, Amount: 2500, Version: 2},
		},
		{
			name: "compensation events are not part of the view",
			events: []schema.Envelope{s.created(),
				s.compensation(1, schema.SagaStarted{OrderID: s.orderID, Amount: 2500, PaymentDeadline: t0.Add(time.Minute)}),
				s.compensation(2, schema.CancellationDecided{OrderID: s.orderID, Reason: schema.ReasonPaymentTimeout})},
			changes: []orderview.Change{status, {}, {}},
			status:  model.OrderStatusPending, version: 1, historyLast: schema.TypeOrderCreated,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, changes := fold(tt.events...)
			require.Equal(t, tt.changes, changes)
			require.Equal(t, s.orderID, o.ID)
			require.Equal(t, s.customerID, o.CustomerID)
			require.Equal(t, "EUR", o.Currency)
			require.Equal(t, 2500, o.Total)
			require.Equal(t, []*model.OrderItem{{Sku: "sku-1", Quantity: 2, UnitPrice: 1250}}, o.Items)
			require.Equal(t, tt.status, o.Status)
			require.Equal(t, tt.payment, o.Payment)
			require.Equal(t, tt.reason, o.CancellationReason)
			require.Equal(t, tt.version, o.Version)
			require.Equal(t, t0.Add(time.Second), o.CreatedAt)
			require.Equal(t, t0.Add(time.Duration(tt.version)*time.Second), o.UpdatedAt, "updatedAt is the last order event's time")
			require.Len(t, o.History, tt.version)
			for i, h := range o.History {
				require.Equal(t, i+1, h.Version, "history oldest first")
			}
			require.Equal(t, tt.historyLast, o.History[len(o.History)-1].Type)
		})
	}
}

func TestApplyIgnoresRedeliveredAndOldEvents(t *testing.T) {
	s := newSaga()
	all := []schema.Envelope{s.created(), s.requested(), s.captured(2), s.paid(2),
		s.cancelRequested(3, schema.ReasonCustomerRequest), s.refunded(3), s.cancelled(4, schema.ReasonCustomerRequest)}
	want, _ := fold(all...)

	tests := []struct {
		name   string
		replay []schema.Envelope
	}{
		{"every event again", all},
		{"the first event again", all[:1]},
		{"old order event after newer ones", []schema.Envelope{s.paid(2), s.cancelRequested(3, schema.ReasonPaymentTimeout)}},
		{"old payment events after newer ones", []schema.Envelope{s.requested(), s.captured(2)}},
		{"an older event carrying different content", []schema.Envelope{s.declined(2), s.failed(3)}},
		{"another payment's events", []schema.Envelope{
			func() schema.Envelope { o := newSaga(); o.orderID = s.orderID; return o.refunded(9) }()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _ := fold(all...)
			for _, env := range tt.replay {
				require.Equal(t, orderview.Change{}, orderview.Apply(o, env), env.Type)
			}
			require.Equal(t, want, o)
		})
	}
}

func TestApplyGivesTheSameOrderForAnyInterleavingOfTheTwoStreams(t *testing.T) {
	s := newSaga()
	orderEvents := []schema.Envelope{s.created(), s.cancelRequested(2, schema.ReasonCustomerRequest), s.cancelled(3, schema.ReasonCustomerRequest)}
	paymentEvents := []schema.Envelope{s.requested(), s.captured(2), s.refunded(3)}
	want, _ := fold(append(append([]schema.Envelope{}, orderEvents...), paymentEvents...)...)

	// every merge of the two sequences that keeps each one's own order
	var merges func(a, b []schema.Envelope) [][]schema.Envelope
	merges = func(a, b []schema.Envelope) [][]schema.Envelope {
		if len(a) == 0 || len(b) == 0 {
			return [][]schema.Envelope{append(append([]schema.Envelope{}, a...), b...)}
		}
		var out [][]schema.Envelope
		for _, m := range merges(a[1:], b) {
			out = append(out, append([]schema.Envelope{a[0]}, m...))
		}
		for _, m := range merges(a, b[1:]) {
			out = append(out, append([]schema.Envelope{b[0]}, m...))
		}
		return out
	}
	all := merges(orderEvents, paymentEvents)
	require.Len(t, all, 20)
	for _, events := range all {
		got, _ := fold(events...)
		require.Equal(t, want, got)
	}
}

func TestCloneIsIndependentOfTheOriginal(t *testing.T) {
	s := newSaga()
	o, _ := fold(s.created(), s.requested(), s.declined(2), s.cancelRequested(2, schema.ReasonPaymentDeclined))
	c := orderview.Clone(o)
	require.Equal(t, o, c)

	orderview.Apply(o, s.cancelled(3, schema.ReasonPaymentDeclined))
	o.Items[0].Quantity = 99
	*o.Payment.FailureCode = "changed"
	*o.CancellationReason = "changed"
	o.History[0].Version = 42

	require.Equal(t, model.OrderStatusCancelling, c.Status)
	require.Len(t, c.History, 2)
	require.Equal(t, 2, c.Items[0].Quantity)
	require.Equal(t, "card_declined", *c.Payment.FailureCode)
	require.Equal(t, schema.ReasonPaymentDeclined, *c.CancellationReason)
	require.Equal(t, 1, c.History[0].Version)
	require.Nil(t, orderview.Clone(nil))
}

func TestOrderIDFoldsAndCreated(t *testing.T) {
	s := newSaga()
	tests := []struct {
		env   schema.Envelope
		folds bool
	}{
		{s.created(), true},
		{s.captured(2), true},
		{s.refunded(3), true},
		{s.cancelled(4, schema.ReasonCustomerRequest), true},
		{s.compensation(1, schema.RefundRequested{OrderID: s.orderID, PaymentID: s.paymentID, ChargeID: "ch", Amount: 1}), false},
		{s.compensation(2, schema.SagaSettled{OrderID: s.orderID}), false},
	}
	for _, tt := range tests {
		t.Run(tt.env.Type, func(t *testing.T) {
			require.Equal(t, s.orderID, orderview.OrderID(tt.env))
			require.Equal(t, tt.folds, orderview.Folds(tt.env))
		})
	}
	partial, _ := fold(s.requested())
	require.False(t, orderview.Created(partial), "known only from its payment")
	full, _ := fold(s.requested(), s.created())
	require.True(t, orderview.Created(full))
}
