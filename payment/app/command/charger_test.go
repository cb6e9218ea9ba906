package command_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/payment/app/command"
	"github.com/orderflow/orderflow/payment/domain"
	"github.com/orderflow/orderflow/schema"
)

// answer is what the fake PSP does with one charge call.
type answer func(ctx context.Context) (command.Charge, error)

func succeeded(id string) answer {
	return func(context.Context) (command.Charge, error) { return command.Charge{ID: id, Succeeded: true}, nil }
}

func declined(code string) answer {
	return func(context.Context) (command.Charge, error) {
		return command.Charge{ID: "ch_declined", FailureCode: code}, nil
	}
}

func unavailable(context.Context) (command.Charge, error) {
	return command.Charge{}, fmt.Errorf("%w: 503 service_unavailable", command.ErrPSPUnavailable)
}

// timeout answers only when the caller's per-call deadline ends it, as a
// PSP slower than the timeout does.
func timeout(ctx context.Context) (command.Charge, error) {
	<-ctx.Done()
	return command.Charge{}, fmt.Errorf("%w: %w", command.ErrPSPNoAnswer, ctx.Err())
}

func rejected(context.Context) (command.Charge, error) {
	return command.Charge{}, &command.PSPRejectedError{StatusCode: 400, Code: "parameter_invalid", Message: "currency"}
}

// fakePSP plays scripted answers to charge calls, the last one repeated,
// and records what it was asked.
type fakePSP struct {
	mu        sync.Mutex
	answers   []answer
	keys      []string
	requests  []command.ChargeRequest
	deadlines []time.Duration
	lookups   int
	found     []command.Charge
	lookupErr error
}

func (f *fakePSP) Charge(ctx context.Context, key string, req command.ChargeRequest) (command.Charge, error) {
	f.mu.Lock()
	n := len(f.keys)
	f.keys = append(f.keys, key)
	f.requests = append(f.requests, req)
	if d, ok := ctx.Deadline(); ok {
		f.deadlines = append(f.deadlines, time.Until(d))
	}
	a := f.answers[min(n, len(f.answers)-1)]
	f.mu.Unlock()
	return a(ctx)
}

func (f *fakePSP) FindCharges(_ context.Context, reference string) ([]command.Charge, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	return f.found, f.lookupErr
}

func (f *fakePSP) Refund(context.Context, string, command.RefundRequest) (command.Refund, error) {
	return command.Refund{}, errors.New("not used")
}

// testPolicy is quick enough for unit tests: 5 calls of at most 20 ms each.
const testTimeout = 20 * time.Millisecond

func testPolicy() command.RetryPolicy {
	return command.RetryPolicy{Attempts: 5, Timeout: testTimeout, Initial: time.Millisecond, Max: 4 * time.Millisecond}
}

func pendingPayment(t *testing.T) domain.Payment {
	t.Helper()
	req, err := domain.Request(schema.OrderCreated{OrderID: "order-1", CustomerID: "c", Currency: "EUR",
		Items: []schema.OrderItem{{SKU: "s", Quantity: 1, UnitPrice: 990}}, Total: 990, PaymentMethod: "tok_visa"})
	require.NoError(t, err)
	p, err := domain.Payment{}.Apply(req)
	require.NoError(t, err)
	return p
}

func TestChargerRetriesOnlyWhatMaySucceed(t *testing.T) {
	lookupDown := errors.New("connection refused")
	tests := []struct {
		name        string
		answers     []answer
		found       []command.Charge
		lookupErr   error
		want        command.Outcome
		wantErr     bool
		wantLookups int
	}{
		{
			name:    "declined is final at once",
			answers: []answer{declined("card_declined")},
			want:    command.Outcome{Result: command.Declined, ChargeID: "ch_declined", Code: "card_declined", Attempts: 1},
		},
		{
			name:    "captured at the first call",
			answers: []answer{succeeded("ch_1")},
			want:    command.Outcome{Result: command.Captured, ChargeID: "ch_1", Attempts: 1},
		},
		{
			name:    "503, 503, then captured",
			answers: []answer{unavailable, unavailable, succeeded("ch_3")},
			want:    command.Outcome{Result: command.Captured, ChargeID: "ch_3", Attempts: 3},
		},
		{
			name:    "a timeout, then the retry finds the first charge",
			answers: []answer{timeout, succeeded("ch_slow")},
			want:    command.Outcome{Result: command.Captured, ChargeID: "ch_slow", Attempts: 2},
		},
		{
			name:        "every call times out but the lookup finds the charge",
			answers:     []answer{timeout},
			found:       []command.Charge{{ID: "ch_late", Succeeded: true}},
			want:        command.Outcome{Result: command.Captured, ChargeID: "ch_late", Attempts: 5},
			wantLookups: 1,
		},
		{
			name:        "every call times out and the lookup finds a decline",
			answers:     []answer{timeout},
			found:       []command.Charge{{ID: "ch_no", FailureCode: "insufficient_funds"}},
			want:        command.Outcome{Result: command.Declined, ChargeID: "ch_no", Code: "insufficient_funds", Attempts: 5},
			wantLookups: 1,
		},
		{
			name:        "always 503 and the lookup finds nothing: failed",
			answers:     []answer{unavailable},
			want:        command.Outcome{Result: command.Failed, Code: command.CodePSPUnavailable, Attempts: 5},
			wantLookups: 1,
		},
		{
			name:        "always 503 and the lookup fails: nothing got through, failed",
			answers:     []answer{unavailable},
			lookupErr:   lookupDown,
			want:        command.Outcome{Result: command.Failed, Code: command.CodePSPUnavailable, Attempts: 5},
			wantLookups: 1,
		},
		{
			name:        "a call timed out and the lookup finds nothing: no outcome yet (it may still charge)",
			answers:     []answer{unavailable, timeout, unavailable},
			wantErr:     true,
			wantLookups: 1,
		},
		{
			name:        "a call timed out and the lookup fails: no outcome yet",
			answers:     []answer{unavailable, timeout, unavailable},
			lookupErr:   lookupDown,
			wantErr:     true,
			wantLookups: 1,
		},
		{
			name:        "rejected outright: no retry, failed with the PSP's code",
			answers:     []answer{rejected},
			want:        command.Outcome{Result: command.Failed, Code: "parameter_invalid", Attempts: 1},
			wantLookups: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			psp := &fakePSP{answers: tt.answers, found: tt.found, lookupErr: tt.lookupErr}
			p := pendingPayment(t)
			got, err := command.NewCharger(psp, testPolicy(), slog.New(slog.NewTextHandler(io.Discard, nil))).Charge(t.Context(), p)
			if tt.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
				require.Equal(t, tt.want, got)
				require.Len(t, psp.keys, tt.want.Attempts, "one PSP call per attempt")
			}
			require.Equal(t, tt.wantLookups, psp.lookups)

			want := command.ChargeRequest{Amount: 990, Currency: "EUR", Source: "tok_visa", Reference: p.ID(),
				Description: "orderflow order order-1"}
			for i := range psp.keys {
				require.Equal(t, "charge-"+p.ID(), psp.keys[i], "every attempt reuses the idempotency key")
				require.Equal(t, want, psp.requests[i], "every attempt sends the same input")
				require.LessOrEqual(t, psp.deadlines[i], testTimeout, "each call has its own timeout")
			}
		})
	}
}

func TestChargerStopsWhenItsContextEnds(t *testing.T) {
	psp := &fakePSP{answers: []answer{unavailable}}
	slow := testPolicy()
	slow.Initial, slow.Max = time.Hour, time.Hour
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := command.NewCharger(psp, slow, slog.New(slog.NewTextHandler(io.Discard, nil))).Charge(ctx, pendingPayment(t))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 5*time.Second)
	require.Len(t, psp.keys, 1)
	require.Zero(t, psp.lookups, "no outcome is decided for a charge that was interrupted")
}

func TestBackoffDoublesUpToTheCapWithJitter(t *testing.T) {
	p := command.RetryPolicy{Attempts: 10, Timeout: time.Second, Initial: 100 * time.Millisecond, Max: 2 * time.Second}
	tests := []struct {
		retry int
		base  time.Duration
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{3, 400 * time.Millisecond},
		{4, 800 * time.Millisecond},
		{5, 1600 * time.Millisecond},
		{6, 2 * time.Second},
		{30, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("retry ", tt.retry), func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 200 {
				d := p.Backoff(tt.retry)
				require.GreaterOrEqual(t, d, tt.base/2)
				require.LessOrEqual(t, d, tt.base)
				seen[d] = true
			}
			require.Greater(t, len(seen), 1, "the wait is jittered")
		})
	}
}

func TestBudgetIsTheLongestAChargeCanTake(t *testing.T) {
	p := command.RetryPolicy{Attempts: 5, Timeout: time.Second, Initial: 100 * time.Millisecond, Max: 2 * time.Second}
	// 5 calls and a lookup of 1 s, waits of 100+200+400+800 ms.
	require.Equal(t, 7500*time.Millisecond, p.Budget())
	p.Attempts = 1
	require.Equal(t, 2*time.Second, p.Budget())
}

func TestRetryPolicyValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *command.RetryPolicy)
		ok     bool
	}{
		{"defaults", func(*command.RetryPolicy) {}, true},
		{"no attempts", func(p *command.RetryPolicy) { p.Attempts = 0 }, false},
		{"no timeout", func(p *command.RetryPolicy) { p.Timeout = 0 }, false},
		{"no backoff", func(p *command.RetryPolicy) { p.Initial = 0 }, false},
		{"cap below start", func(p *command.RetryPolicy) { p.Max = p.Initial / 2 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := command.RetryPolicy{Attempts: 5, Timeout: time.Second, Initial: 100 * time.Millisecond, Max: 2 * time.Second}
			tt.mutate(&p)
			if tt.ok {
				require.NoError(t, p.Validate())
			} else {
				require.Error(t, p.Validate())
			}
		})
	}
}
