package compensation_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/compensation/ports/httpapi"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/metrics/metricstest"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

const amount = int64(4200)

// order is one test order with the events its services would publish.
type order struct {
	id, paymentID string
	createdAt     time.Time
}

func newOrder() order {
	return order{id: uuid.NewString(), paymentID: uuid.NewString(), createdAt: time.Now().UTC().Truncate(time.Millisecond)}
}

func (o order) created() schema.Envelope {
	return envelope(schema.AggregateOrder, o.id, o.id, schema.OrderCreated{
		OrderID: o.id, CustomerID: uuid.NewString(), Currency: "EUR", Total: amount, PaymentMethod: "tok_visa",
		Items: []schema.OrderItem{{SKU: "sku-1", Quantity: 2, UnitPrice: amount / 2}},
	}, o.createdAt)
}

func (o order) paid() schema.Envelope {
	return envelope(schema.AggregateOrder, o.id, o.id, schema.OrderPaid{OrderID: o.id, PaymentID: o.paymentID, Amount: amount}, time.Now())
}

func (o order) cancellationRequested(reason string) schema.Envelope {
	return envelope(schema.AggregateOrder, o.id, o.id, schema.OrderCancellationRequested{OrderID: o.id, Reason: reason}, time.Now())
}

func (o order) declined() schema.Envelope {
	return envelope(schema.AggregatePayment, o.paymentID, o.id, schema.PaymentDeclined{
		PaymentID: o.paymentID, OrderID: o.id, Amount: amount, Code: "card_declined"}, time.Now())
}

func (o order) captured() schema.Envelope {
	return envelope(schema.AggregatePayment, o.paymentID, o.id, schema.PaymentCaptured{
		PaymentID: o.paymentID, OrderID: o.id, Amount: amount, ChargeID: "ch_" + o.id}, time.Now())
}

func (o order) refunded() schema.Envelope {
	return envelope(schema.AggregatePayment, o.paymentID, o.id, schema.PaymentRefunded{
		PaymentID: o.paymentID, OrderID: o.id, Amount: amount, ChargeID: "ch_" + o.id, RefundID: "re_" + o.id}, time.Now())
}

// What compensation should record for an order.
func (o order) sagaStarted(timeout time.Duration) schema.Event {
	return schema.SagaStarted{OrderID: o.id, Amount: amount, PaymentDeadline: o.createdAt.Add(timeout)}
}

func (o order) decided(reason string) schema.Event {
	return schema.CancellationDecided{OrderID: o.id, Reason: reason}
}

func (o order) cancelStarted(reason string) schema.Event {
	return schema.CancellationStarted{OrderID: o.id, Reason: reason}
}

func (o order) completed(reason string, refunded bool) schema.Event {
	return schema.CancellationCompleted{OrderID: o.id, Reason: reason, Refunded: refunded}
}

func (o order) captureRecorded() schema.Event {
	return schema.CaptureRecorded{OrderID: o.id, PaymentID: o.paymentID, ChargeID: "ch_" + o.id, Amount: amount}
}

func (o order) refundRequested() schema.Event {
	return schema.RefundRequested{OrderID: o.id, PaymentID: o.paymentID, ChargeID: "ch_" + o.id, Amount: amount}
}

func (o order) refundConfirmed() schema.Event {
	return schema.RefundConfirmed{OrderID: o.id, PaymentID: o.paymentID, RefundID: "re_" + o.id}
}

// TestCompensations drives sagas through declines, cancels and late
// captures with real Kafka and Postgres, every message delivered twice, and
// checks what compensation publishes.
func TestCompensations(t *testing.T) {
	t.Parallel()
	const timeout = 30 * time.Second
	svc := newTestService(t, timeout)

	_, err := svc.saga(uuid.NewString())
	require.ErrorContains(t, err, "404", "an order compensation never heard of has no saga")

	// An order event whose OrderCreated was never seen cannot be helped by
	// waiting (one order's events are in order on the order topic): it is
	// dead-lettered instead of blocking its partition.
	orphan := newOrder()
	svc.produce(orphan.cancellationRequested(schema.ReasonCustomerRequest))

	// (a) declined: the cancel is decided, then carried out with nothing to refund.
	declined := newOrder()
	created := declined.created()
	svc.produce(created, created)
	saga := svc.waitStatus(declined.id, "ACTIVE")
	require.True(t, saga.DeadlinePending)
	require.Equal(t, declined.createdAt.Add(timeout), saga.Deadline.UTC())

	decline := declined.declined()
	svc.produce(decline, decline, declined.declined()) // redelivered, and reported again under a new id
	saga = svc.waitStatus(declined.id, "DECIDED")
	require.Equal(t, schema.ReasonPaymentDeclined, saga.Reason)
	require.False(t, saga.DeadlinePending, "a decided saga's deadline is void")

	cancel := declined.cancellationRequested(schema.ReasonPaymentDeclined)
	svc.produce(cancel, cancel)
	saga = svc.waitStatus(declined.id, "CANCELLED")
	require.False(t, saga.Refunded)

	// A decline that overtakes its OrderCreated (another topic) waits for the saga.
	overtaking := newOrder()
	svc.produce(overtaking.declined())
	time.Sleep(300 * time.Millisecond)
	svc.produce(overtaking.created())
	svc.waitStatus(overtaking.id, "DECIDED")

	// (d) a customer cancel before the capture; the late capture is refunded.
	late := newOrder()
	svc.produce(late.created())
	svc.waitStatus(late.id, "ACTIVE")
	svc.produce(late.cancellationRequested(schema.ReasonCustomerRequest))
	svc.waitStatus(late.id, "CANCELLED")
	capture := late.captured()
	svc.produce(capture, capture)
	saga = svc.waitFor(late.id, "refunding", func(s httpapi.Saga) bool { return s.RefundRequested })
	require.Equal(t, &httpapi.Capture{PaymentID: late.paymentID, ChargeID: "ch_" + late.id, Amount: amount}, saga.Capture)
	refund := late.refunded()
	svc.produce(refund, refund)
	saga = svc.waitFor(late.id, "refunded", func(s httpapi.Saga) bool { return s.Refunded })
	require.Equal(t, "CANCELLED", saga.Status)

	// A customer cancel of a paid order: refunded, then cancelled.
	paid := newOrder()
	svc.produce(paid.created(), paid.captured())
	svc.waitFor(paid.id, "captured", func(s httpapi.Saga) bool { return s.Captured })
	svc.produce(paid.paid())
	svc.waitStatus(paid.id, "SETTLED")
	svc.produce(paid.cancellationRequested(schema.ReasonCustomerRequest))
	saga = svc.waitStatus(paid.id, "CANCELLING")
	require.True(t, saga.RefundRequested)
	svc.produce(paid.refunded())
	saga = svc.waitStatus(paid.id, "CANCELLED")
	require.True(t, saga.Refunded)

	require.Zero(t, svc.pendingDeadlines(), "no saga is waiting for a payment any more")

	dead := testenv.ReadTopic(t, svc.topics.DeadLetter, 1, 20*time.Second, 500*time.Millisecond)
	require.Len(t, dead, 1)
	require.Equal(t, orphan.id, string(dead[0].Key))
	require.Contains(t, testenv.Header(dead[0], consumer.HeaderDLQReason), "saga not started")

	got := svc.recorded(4 + 2 + 6 + 7)
	require.Equal(t, []schema.Event{
		declined.sagaStarted(timeout),
		declined.decided(schema.ReasonPaymentDeclined),
		declined.cancelStarted(schema.ReasonPaymentDeclined),
		declined.completed(schema.ReasonPaymentDeclined, false),
	}, payloads(got[declined.id]))
	require.Equal(t, created.ID, got[declined.id][0].CausationID, "SagaStarted was caused by OrderCreated")
	require.Equal(t, decline.ID, got[declined.id][1].CausationID, "CancellationDecided was caused by PaymentDeclined")

	require.Equal(t, []schema.Event{
		overtaking.sagaStarted(timeout),
		overtaking.decided(schema.ReasonPaymentDeclined),
	}, payloads(got[overtaking.id]))

	require.Equal(t, []schema.Event{
		late.sagaStarted(timeout),
		late.cancelStarted(schema.ReasonCustomerRequest),
		late.completed(schema.ReasonCustomerRequest, false),
		late.captureRecorded(),
		late.refundRequested(),
		late.refundConfirmed(),
	}, payloads(got[late.id]))

	require.Equal(t, []schema.Event{
		paid.sagaStarted(timeout),
		paid.captureRecorded(),
		schema.SagaSettled{OrderID: paid.id},
		paid.cancelStarted(schema.ReasonCustomerRequest),
		paid.refundRequested(),
		paid.refundConfirmed(),
		paid.completed(schema.ReasonCustomerRequest, true),
	}, payloads(got[paid.id]))

	// Prometheus sees the sagas' work: the consumer's messages, the one
	// that overtook its OrderCreated retried, the orphan dead-lettered; the
	// outbox; the gauge of sagas past their deadline (none).
	m := metricstest.Get(t, svc.base)
	m.Require(t, 5, "orderflow_consumer_messages_total", "topic", svc.topics.Order, "outcome", consumer.OutcomeOK)
	m.Require(t, 1, "orderflow_consumer_messages_total", "topic", svc.topics.Payment, "outcome", consumer.OutcomeRetried)
	m.Require(t, 1, "orderflow_consumer_retries_total", "topic", svc.topics.Payment)
	m.Require(t, 1, "orderflow_consumer_dead_letters_total", "topic", svc.topics.Order, "reason", "permanent")
	m.Require(t, 1, "orderflow_outbox_published_total")
	m.Require(t, 1, "orderflow_http_requests_total", "route", "GET /v1/sagas/{orderId}", "code", "200")
	m.Require(t, 1, "orderflow_http_requests_total", "route", "GET /v1/sagas/{orderId}", "code", "404")
	past, ok := m.Value("orderflow_compensation_sagas_past_deadline")
	require.True(t, ok, "the gauge of sagas past their deadline is exposed")
	require.Zero(t, past, "every deadline of this test is in the future or fired")
}

// TestPaymentDeadlines checks that an uncaptured order is cancelled at its
// payment deadline, that a capture after a decided cancel is not refunded
// when the order was paid, and that a deadline pending at a restart fires
// once, after it.
func TestPaymentDeadlines(t *testing.T) {
	t.Parallel()
	const timeout = 2 * time.Second
	svc := newTestService(t, timeout)

	// (b) the deadline passes with nothing captured.
	unpaid := newOrder()
	svc.produce(unpaid.created())
	saga := svc.waitStatus(unpaid.id, "DECIDED")
	require.Equal(t, schema.ReasonPaymentTimeout, saga.Reason)
	require.False(t, saga.DeadlinePending)

	// The capture came late, and the order service took it before the
	// decided cancel: the order is PAID, nothing is refunded.
	svc.produce(unpaid.captured())
	saga = svc.waitFor(unpaid.id, "captured", func(s httpapi.Saga) bool { return s.Captured })
	require.Equal(t, "DECIDED", saga.Status)
	require.False(t, saga.RefundRequested, "a capture after a merely decided cancel is not refunded")
	svc.produce(unpaid.paid())
	saga = svc.waitStatus(unpaid.id, "SETTLED")
	require.False(t, saga.RefundRequested)

	// (c) a deadline pending when the service stops fires after the restart.
	restarted := newOrder()
	svc.produce(restarted.created())
	saga = svc.waitStatus(restarted.id, "ACTIVE")
	require.True(t, saga.DeadlinePending)
	require.Equal(t, 1, svc.pendingDeadlines())
	svc.stop()
	due, stored := svc.storedDeadline(restarted.id)
	require.True(t, stored, "the deadline is stored, and had not fired when the service stopped")
	require.True(t, due.Equal(restarted.createdAt.Add(timeout)), "due at %s", due)

	svc.start()
	saga = svc.waitStatus(restarted.id, "DECIDED")
	require.Equal(t, schema.ReasonPaymentTimeout, saga.Reason)
	_, stored = svc.storedDeadline(restarted.id)
	require.False(t, stored, "a fired deadline is deleted with the decision")
	require.Zero(t, svc.pendingDeadlines())

	got := svc.recorded(4 + 2)
	require.Equal(t, []schema.Event{
		unpaid.sagaStarted(timeout),
		unpaid.decided(schema.ReasonPaymentTimeout),
		unpaid.captureRecorded(),
		schema.SagaSettled{OrderID: unpaid.id},
	}, payloads(got[unpaid.id]))
	require.Equal(t, []schema.Event{
		restarted.sagaStarted(timeout),
		restarted.decided(schema.ReasonPaymentTimeout),
	}, payloads(got[restarted.id]), "the deadline fired exactly once")

	for _, o := range []order{unpaid, restarted} {
		started, decided := got[o.id][0], got[o.id][1]
		require.Equal(t, started.ID, decided.CausationID, "the timeout was caused by the deadline SagaStarted set")
		require.False(t, decided.OccurredAt.Before(o.createdAt.Add(timeout)), "not before the deadline")
	}
}
