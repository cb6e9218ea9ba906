package ports_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/payment/app"
	"github.com/orderflow/orderflow/payment/app/command"
	"github.com/orderflow/orderflow/payment/domain"
	"github.com/orderflow/orderflow/payment/ports"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/schema"
)

// memoryRepository is command.Repository in memory, with an inbox. While
// updateErr is set, Update fails with it (the database is away).
type memoryRepository struct {
	mu        sync.Mutex
	streams   map[string][]schema.Event
	handled   map[string]bool
	updateErr error
}

func newMemoryRepository() *memoryRepository {
	return &memoryRepository{streams: map[string][]schema.Event{}, handled: map[string]bool{}}
}

func (r *memoryRepository) Load(_ context.Context, paymentID string) (domain.Payment, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.load(paymentID)
}

func (r *memoryRepository) load(paymentID string) (domain.Payment, error) {
	events, ok := r.streams[paymentID]
	if !ok {
		return domain.Payment{}, fmt.Errorf("payment %s: %w", paymentID, domain.ErrNotFound)
	}
	var p domain.Payment
	for _, ev := range events {
		var err error
		if p, err = p.Apply(ev); err != nil {
			return domain.Payment{}, err
		}
	}
	return p, nil
}

func (r *memoryRepository) Create(_ context.Context, cause schema.Envelope, ev schema.PaymentRequested) ([]schema.Envelope, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.handled[cause.ID] {
		return nil, nil
	}
	if _, ok := r.streams[ev.PaymentID]; ok {
		return nil, domain.ErrExists
	}
	r.handled[cause.ID] = true
	r.streams[ev.PaymentID] = []schema.Event{ev}
	return []schema.Envelope{schema.New(schema.AggregatePayment, ev.PaymentID, ev, cause.CausedBy(), time.Now())}, nil
}

func (r *memoryRepository) Update(_ context.Context, cause schema.Envelope, paymentID string,
	decide func(domain.Payment) ([]schema.Event, error)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.updateErr != nil {
		return r.updateErr
	}
	if r.handled[cause.ID] {
		return nil
	}
	p, err := r.load(paymentID)
	if err != nil {
		return err
	}
	events, err := decide(p)
	if err != nil {
		return err
	}
	r.handled[cause.ID] = true
	r.streams[paymentID] = append(r.streams[paymentID], events...)
	return nil
}

func (r *memoryRepository) types(paymentID string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.streams[paymentID] {
		out = append(out, ev.EventType())
	}
	return out
}

// scriptedPSP captures every charge, after hold is closed if set, and
// answers refunds with refundErr, if set.
type scriptedPSP struct {
	mu        sync.Mutex
	charges   int
	refunds   int
	refundErr error
	hold      chan struct{}
}

func (p *scriptedPSP) Charge(context.Context, string, command.ChargeRequest) (command.Charge, error) {
	p.mu.Lock()
	p.charges++
	hold := p.hold
	p.mu.Unlock()
	if hold != nil {
		<-hold
	}
	return command.Charge{ID: "ch_1", Succeeded: true}, nil
}

func (p *scriptedPSP) chargeCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.charges
}

func (p *scriptedPSP) FindCharges(context.Context, string) ([]command.Charge, error) { return nil, nil }

func (p *scriptedPSP) Refund(context.Context, string, command.RefundRequest) (command.Refund, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refunds++
	if p.refundErr != nil {
		return command.Refund{}, p.refundErr
	}
	return command.Refund{ID: "re_1"}, nil
}

type fixture struct {
	repo    *memoryRepository
	psp     *scriptedPSP
	handle  func(ctx context.Context, msg consumer.Message) error
	orderID string
}

func newFixture() *fixture {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	repo, psp := newMemoryRepository(), &scriptedPSP{}
	policy := command.RetryPolicy{Attempts: 2, Timeout: 50 * time.Millisecond, Initial: time.Millisecond, Max: time.Millisecond}
	charge := command.NewChargePayment(repo, command.NewCharger(psp, policy, log), log)
	a := app.Application{Commands: app.Commands{
		RequestPayment: command.NewRequestPayment(repo, charge, log),
		ChargePayment:  charge,
		RefundPayment:  command.NewRefundPayment(repo, psp, 50*time.Millisecond, log),
	}}
	h := ports.EventHandler(a)
	handle := func(ctx context.Context, msg consumer.Message) error { return h(ctx, []consumer.Message{msg}) }
	return &fixture{repo: repo, psp: psp, handle: handle, orderID: uuid.NewString()}
}

func (f *fixture) message(ev schema.Event) consumer.Message {
	return consumer.Message{Envelope: schema.New("test", f.orderID, ev, schema.Cause{CorrelationID: f.orderID}, time.Now())}
}

func (f *fixture) paymentID() string { return domain.PaymentID(f.orderID) }

func (f *fixture) created() consumer.Message {
	return f.message(schema.OrderCreated{OrderID: f.orderID, CustomerID: uuid.NewString(), Currency: "EUR",
		Items: []schema.OrderItem{{SKU: "s", Quantity: 1, UnitPrice: 700}}, Total: 700, PaymentMethod: "tok_visa"})
}

func (f *fixture) requested() consumer.Message {
	return f.message(schema.PaymentRequested{PaymentID: f.paymentID(), OrderID: f.orderID, Amount: 700,
		Currency: "EUR", PaymentMethod: "tok_visa"})
}

func (f *fixture) refundRequested(chargeID string) consumer.Message {
	return f.message(schema.RefundRequested{OrderID: f.orderID, PaymentID: f.paymentID(), ChargeID: chargeID, Amount: 700})
}

// captured brings the fixture's payment to CAPTURED through the handler.
func (f *fixture) captured(t *testing.T) {
	t.Helper()
	require.NoError(t, f.handle(t.Context(), f.created()))
	require.NoError(t, f.handle(t.Context(), f.requested()))
	require.Equal(t, []string{schema.TypePaymentRequested, schema.TypePaymentCaptured}, f.repo.types(f.paymentID()))
}

// pending brings the fixture's payment to PENDING: requested, and the
// outcome of the charge right after the request not recorded (the database
// went away in between).
func (f *fixture) pending(t *testing.T) {
	t.Helper()
	f.repo.updateErr = errors.New("connection refused")
	require.NoError(t, f.handle(t.Context(), f.created()), "the order's event is handled even if the charge fails")
	require.Equal(t, []string{schema.TypePaymentRequested}, f.repo.types(f.paymentID()))
	f.repo.updateErr = nil
}

func TestEventHandlerRequestsAndChargesOnce(t *testing.T) {
	f := newFixture()
	created := f.created()
	for range 2 {
		require.NoError(t, f.handle(t.Context(), created))
	}
	require.NoError(t, f.handle(t.Context(), f.created()), "the same order under a new event id")
	require.Equal(t, []string{schema.TypePaymentRequested, schema.TypePaymentCaptured}, f.repo.types(f.paymentID()),
		"charged right after the request")

	requested := f.requested()
	require.NoError(t, f.handle(t.Context(), requested))
	require.NoError(t, f.handle(t.Context(), requested))
	require.NoError(t, f.handle(t.Context(), f.requested()))
	require.Equal(t, []string{schema.TypePaymentRequested, schema.TypePaymentCaptured}, f.repo.types(f.paymentID()))
	require.Equal(t, 1, f.psp.charges, "a captured payment is not charged again")
}

func TestEventHandlerLetsTheRequestWaitForTheChargeUnderWay(t *testing.T) {
	f := newFixture()
	f.psp.hold = make(chan struct{})
	created, requested := make(chan error, 1), make(chan error, 1)
	go func() { created <- f.handle(t.Context(), f.created()) }()
	require.Eventually(t, func() bool { return f.psp.chargeCount() == 1 }, 5*time.Second, time.Millisecond,
		"the charge right after the request is at the PSP")

	// The request's delivery comes while that charge is under way.
	go func() { requested <- f.handle(t.Context(), f.requested()) }()
	time.Sleep(50 * time.Millisecond)
	require.Equal(t, 1, f.psp.chargeCount(), "the delivery waits instead of asking the PSP again")
	close(f.psp.hold)
	require.NoError(t, <-created)
	require.NoError(t, <-requested)
	require.Equal(t, 1, f.psp.chargeCount())
	require.Equal(t, []string{schema.TypePaymentRequested, schema.TypePaymentCaptured}, f.repo.types(f.paymentID()))
}

func TestEventHandlerChargesOnTheRequestWhenTheFirstChargeFailed(t *testing.T) {
	f := newFixture()
	f.pending(t)
	require.Equal(t, 1, f.psp.charges)

	require.NoError(t, f.handle(t.Context(), f.requested()))
	require.Equal(t, []string{schema.TypePaymentRequested, schema.TypePaymentCaptured}, f.repo.types(f.paymentID()))
	require.Equal(t, 2, f.psp.chargeCount(), "the PSP was asked twice, with the same idempotency key")
}

func TestEventHandlerSkipsEventsItDoesNotReactTo(t *testing.T) {
	f := newFixture()
	require.NoError(t, f.handle(t.Context(), f.message(schema.OrderPaid{OrderID: f.orderID, PaymentID: f.paymentID(), Amount: 1})))
	require.NoError(t, f.handle(t.Context(), f.message(schema.PaymentCaptured{PaymentID: f.paymentID(), OrderID: f.orderID,
		Amount: 1, ChargeID: "ch_1"})))
	require.Empty(t, f.repo.types(f.paymentID()))
}

func TestEventHandlerRefundsUntilThePSPAnswers(t *testing.T) {
	f := newFixture()
	f.captured(t)
	refund := f.refundRequested("ch_1")

	f.psp.refundErr = fmt.Errorf("%w: 503", command.ErrPSPUnavailable)
	err := f.handle(t.Context(), refund)
	require.Error(t, err)
	require.False(t, consumer.IsPermanent(err), "money owed back is retried, not dead-lettered")

	f.psp.refundErr = fmt.Errorf("%w: timeout", command.ErrPSPNoAnswer)
	err = f.handle(t.Context(), refund)
	require.Error(t, err)
	require.False(t, consumer.IsPermanent(err))

	f.psp.refundErr = nil
	require.NoError(t, f.handle(t.Context(), refund))
	require.NoError(t, f.handle(t.Context(), refund))
	require.NoError(t, f.handle(t.Context(), f.refundRequested("ch_1")))
	require.Equal(t, []string{schema.TypePaymentRequested, schema.TypePaymentCaptured, schema.TypePaymentRefunded},
		f.repo.types(f.paymentID()))
	require.Equal(t, 3, f.psp.refunds, "two failed calls and one refund; none once refunded")
}

func TestEventHandlerDeadLettersWhatCanNeverBeHandled(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, f *fixture)
		msg     func(f *fixture) consumer.Message
		mention string
	}{
		{
			name:    "refund of a payment that does not exist",
			setup:   func(*testing.T, *fixture) {},
			msg:     func(f *fixture) consumer.Message { return f.refundRequested("ch_1") },
			mention: "not found",
		},
		{
			name:    "refund of a pending payment",
			setup:   func(t *testing.T, f *fixture) { f.pending(t) },
			msg:     func(f *fixture) consumer.Message { return f.refundRequested("ch_1") },
			mention: "cannot refund a PENDING payment",
		},
		{
			name:    "refund of another charge",
			setup:   func(t *testing.T, f *fixture) { f.captured(t) },
			msg:     func(f *fixture) consumer.Message { return f.refundRequested("ch_other") },
			mention: "ch_other",
		},
		{
			name: "refund the PSP refuses",
			setup: func(t *testing.T, f *fixture) {
				f.captured(t)
				f.psp.refundErr = &command.PSPRejectedError{StatusCode: 400, Code: "charge_already_refunded", Message: "refunded"}
			},
			msg:     func(f *fixture) consumer.Message { return f.refundRequested("ch_1") },
			mention: "charge_already_refunded",
		},
		{
			name:    "charge of a payment that does not exist",
			setup:   func(*testing.T, *fixture) {},
			msg:     func(f *fixture) consumer.Message { return f.requested() },
			mention: "not found",
		},
		{
			name:  "an order that cannot be paid",
			setup: func(*testing.T, *fixture) {},
			msg: func(f *fixture) consumer.Message {
				m := f.created()
				e := m.Envelope.Payload.(schema.OrderCreated)
				e.Total = 0
				m.Envelope.Payload = e
				return m
			},
			mention: "total",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture()
			tt.setup(t, f)
			err := f.handle(t.Context(), tt.msg(f))
			require.True(t, consumer.IsPermanent(err), "dead-lettered: %v", err)
			require.ErrorContains(t, err, tt.mention)
		})
	}
}
