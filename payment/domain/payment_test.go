package domain_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/payment/domain"
	"github.com/orderflow/orderflow/schema"
)

const orderID = "7f1c2a4e-9b3d-4e5f-8a6b-1c2d3e4f5a6b"

func order() schema.OrderCreated {
	return schema.OrderCreated{OrderID: orderID, CustomerID: uuid.NewString(), Currency: "EUR",
		Items: []schema.OrderItem{{SKU: "sku-1", Quantity: 2, UnitPrice: 1250}}, Total: 2500, PaymentMethod: "tok_visa"}
}

// paymentIn returns a payment folded to status, built through its commands.
func paymentIn(t *testing.T, status domain.Status) domain.Payment {
	t.Helper()
	req, err := domain.Request(order())
	require.NoError(t, err)
	p := apply(t, domain.Payment{}, req)
	var ev schema.Event
	switch status {
	case domain.StatusPending:
		return p
	case domain.StatusCaptured, domain.StatusRefunded:
		ev, err = p.Capture("ch_1")
	case domain.StatusDeclined:
		ev, err = p.Decline("card_declined", "ch_1")
	case domain.StatusFailed:
		ev, err = p.Fail("psp_unavailable", 5)
	}
	require.NoError(t, err)
	p = apply(t, p, ev)
	if status == domain.StatusRefunded {
		ev, err = p.Refund("ch_1", "re_1", 2500)
		require.NoError(t, err)
		p = apply(t, p, ev)
	}
	require.Equal(t, status, p.Status())
	return p
}

func apply(t *testing.T, p domain.Payment, ev schema.Event) domain.Payment {
	t.Helper()
	next, err := p.Apply(ev)
	require.NoError(t, err)
	return next
}

func TestPaymentIDIsDerivedFromTheOrder(t *testing.T) {
	id := domain.PaymentID(orderID)
	require.Equal(t, id, domain.PaymentID(orderID), "the same order always has the same payment")
	require.NotEqual(t, id, domain.PaymentID(uuid.NewString()))
	parsed, err := uuid.Parse(id)
	require.NoError(t, err)
	require.Equal(t, uuid.Version(5), parsed.Version())
	// Stored streams and PSP idempotency keys depend on this exact value
	// (uuid5 of the namespace in id.go, checked with Python's uuid module).
	require.Equal(t, "8dad2fec-648e-5001-a0d7-7634ebef805f", id)
}

func TestRequestTakesTheOrderTotal(t *testing.T) {
	req, err := domain.Request(order())
	require.NoError(t, err)
	require.Equal(t, schema.PaymentRequested{PaymentID: domain.PaymentID(orderID), OrderID: orderID,
		Amount: 2500, Currency: "EUR", PaymentMethod: "tok_visa"}, req)
	require.NoError(t, req.Validate())

	p := apply(t, domain.Payment{}, req)
	require.Equal(t, domain.StatusPending, p.Status())
	require.Equal(t, 1, p.Version())
	require.EqualValues(t, 2500, p.Amount())
}

func TestRequestRefusesAnUnpayableOrder(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(o *schema.OrderCreated)
	}{
		{"no order id", func(o *schema.OrderCreated) { o.OrderID = "" }},
		{"zero total", func(o *schema.OrderCreated) { o.Total = 0 }},
		{"negative total", func(o *schema.OrderCreated) { o.Total = -5 }},
		{"no currency", func(o *schema.OrderCreated) { o.Currency = "" }},
		{"no payment method", func(o *schema.OrderCreated) { o.PaymentMethod = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := order()
			tt.mutate(&o)
			_, err := domain.Request(o)
			require.ErrorIs(t, err, domain.ErrInvalid)
		})
	}
}

func TestCommandsFollowTheStatusRules(t *testing.T) {
	capture := func(p domain.Payment) (schema.Event, error) { return p.Capture("ch_1") }
	decline := func(p domain.Payment) (schema.Event, error) { return p.Decline("card_declined", "ch_1") }
	fail := func(p domain.Payment) (schema.Event, error) { return p.Fail("psp_unavailable", 5) }
	refund := func(p domain.Payment) (schema.Event, error) { return p.Refund("ch_1", "re_1", 2500) }

	tests := []struct {
		from    domain.Status
		command string
		do      func(domain.Payment) (schema.Event, error)
		to      domain.Status // "" when refused
	}{
		{domain.StatusPending, "capture", capture, domain.StatusCaptured},
		{domain.StatusPending, "decline", decline, domain.StatusDeclined},
		{domain.StatusPending, "fail", fail, domain.StatusFailed},
		{domain.StatusPending, "refund", refund, ""},
		{domain.StatusCaptured, "capture", capture, ""},
		{domain.StatusCaptured, "decline", decline, ""},
		{domain.StatusCaptured, "fail", fail, ""},
		{domain.StatusCaptured, "refund", refund, domain.StatusRefunded},
		{domain.StatusDeclined, "capture", capture, ""},
		{domain.StatusDeclined, "fail", fail, ""},
		{domain.StatusDeclined, "refund", refund, ""},
		// The service gave up on the PSP, but a charge went through after
		// all: the capture is recorded, to be refunded.
		{domain.StatusFailed, "capture", capture, domain.StatusCaptured},
		{domain.StatusFailed, "decline", decline, ""},
		{domain.StatusFailed, "refund", refund, ""},
		{domain.StatusRefunded, "capture", capture, ""},
		{domain.StatusRefunded, "refund", refund, ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.from)+" "+tt.command, func(t *testing.T) {
			p := paymentIn(t, tt.from)
			ev, err := tt.do(p)
			if tt.to == "" {
				require.ErrorIs(t, err, domain.ErrIllegalTransition)
				require.Equal(t, tt.from, p.Status(), "a refused command changes nothing")
				return
			}
			require.NoError(t, err)
			require.NoError(t, ev.Validate(), "commands produce valid events")
			next := apply(t, p, ev)
			require.Equal(t, tt.to, next.Status())
			require.Equal(t, p.Version()+1, next.Version())
			require.Equal(t, tt.from, p.Status(), "Apply returns a new state and leaves the old one alone")
		})
	}
}

func TestApplyRefusesIllegalEvents(t *testing.T) {
	pending := paymentIn(t, domain.StatusPending)
	id := pending.ID()
	tests := []struct {
		name string
		p    domain.Payment
		ev   schema.Event
	}{
		{"capture before request", domain.Payment{}, schema.PaymentCaptured{PaymentID: id, OrderID: orderID, Amount: 1, ChargeID: "ch_1"}},
		{"second request", pending, schema.PaymentRequested{PaymentID: id, OrderID: orderID, Amount: 1, Currency: "EUR", PaymentMethod: "tok_visa"}},
		{"another payment's capture", pending, schema.PaymentCaptured{PaymentID: uuid.NewString(), OrderID: orderID, Amount: 1, ChargeID: "ch_1"}},
		{"refund of a pending payment", pending, schema.PaymentRefunded{PaymentID: id, OrderID: orderID, Amount: 2500, ChargeID: "ch_1", RefundID: "re_1"}},
		{"capture of a declined payment", paymentIn(t, domain.StatusDeclined), schema.PaymentCaptured{PaymentID: id, OrderID: orderID, Amount: 1, ChargeID: "ch_2"}},
		{"an order event", pending, schema.OrderPaid{OrderID: orderID, PaymentID: id, Amount: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.Apply(tt.ev)
			require.ErrorIs(t, err, domain.ErrIllegalTransition)
			require.Equal(t, tt.p, got, "a refused event is not applied")
		})
	}
}

func TestRefundMustMatchTheCapture(t *testing.T) {
	captured := paymentIn(t, domain.StatusCaptured)
	tests := []struct {
		name     string
		chargeID string
		amount   int64
		refundID string
		want     error
	}{
		{"the capture in full", "ch_1", 2500, "re_1", nil},
		{"another charge", "ch_2", 2500, "re_1", domain.ErrInvalid},
		{"part of the amount", "ch_1", 1000, "re_1", domain.ErrInvalid},
		{"more than captured", "ch_1", 9999, "re_1", domain.ErrInvalid},
		{"no refund id", "ch_1", 2500, "", domain.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := captured.Refund(tt.chargeID, tt.refundID, tt.amount)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				return
			}
			require.NoError(t, err)
			require.Equal(t, schema.PaymentRefunded{PaymentID: captured.ID(), OrderID: orderID, Amount: 2500,
				ChargeID: "ch_1", RefundID: "re_1"}, ev)
		})
	}
}

func TestCommandsRefuseMissingPSPFacts(t *testing.T) {
	p := paymentIn(t, domain.StatusPending)
	_, err := p.Capture("")
	require.ErrorIs(t, err, domain.ErrInvalid)
	_, err = p.Decline("", "ch_1")
	require.ErrorIs(t, err, domain.ErrInvalid)
	_, err = p.Fail("psp_unavailable", 0)
	require.ErrorIs(t, err, domain.ErrInvalid)
}

func TestRehydrateFoldsAStoredStream(t *testing.T) {
	p := paymentIn(t, domain.StatusCaptured)
	req, err := domain.Request(order())
	require.NoError(t, err)
	captured := schema.PaymentCaptured{PaymentID: p.ID(), OrderID: orderID, Amount: 2500, ChargeID: "ch_1"}
	envelope := func(version int, ev schema.Event) schema.Envelope {
		env := schema.New(schema.AggregatePayment, p.ID(), ev, schema.Cause{CorrelationID: orderID}, time.Now())
		env.Version = version
		return env
	}

	got, err := domain.Rehydrate([]schema.Envelope{envelope(1, req), envelope(2, captured)})
	require.NoError(t, err)
	require.Equal(t, p, got)
	require.Equal(t, "ch_1", got.ChargeID())

	_, err = domain.Rehydrate([]schema.Envelope{envelope(1, req), envelope(2, captured), envelope(3, captured)})
	require.ErrorIs(t, err, domain.ErrIllegalTransition, "a stream that captures twice is refused")

	_, err = domain.Rehydrate([]schema.Envelope{envelope(1, req), envelope(3, captured)})
	require.ErrorContains(t, err, "gap")
}

func TestACaptureAfterAFailureIsRecordedAndRefundable(t *testing.T) {
	p := paymentIn(t, domain.StatusFailed)
	ev, err := p.Capture("ch_late")
	require.NoError(t, err)
	p = apply(t, p, ev)
	require.Equal(t, domain.StatusCaptured, p.Status())
	require.Equal(t, "ch_late", p.ChargeID())
	require.Empty(t, p.FailureCode(), "a captured payment has no failure code")
	refund, err := p.Refund("ch_late", "re_1", 2500)
	require.NoError(t, err)
	require.Equal(t, domain.StatusRefunded, apply(t, p, refund).Status())
}
