package command

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/orderflow/orderflow/payment/domain"
)

// Result is how a charge ended.
type Result string

// Charge results.
const (
	Captured Result = "captured" // the money was taken
	Declined Result = "declined" // the card said no
	Failed   Result = "failed"   // no outcome could be had from the PSP
)

// CodePSPUnavailable is the failure code of a payment the PSP could not
// charge within the retry budget.
const CodePSPUnavailable = "psp_unavailable"

// Outcome is what charging a payment came to.
type Outcome struct {
	Result   Result
	ChargeID string
	// Code is the decline or failure code.
	Code string
	// Attempts is how many charge calls were made.
	Attempts int
}

// Charger charges a payment through the PSP under a retry policy. Every call
// for one payment carries the same idempotency key and the same input, so
// however often it is repeated — within the budget, after a redelivery or a
// crash — the PSP makes at most one charge.
type Charger struct {
	psp    PSP
	policy RetryPolicy
	log    *slog.Logger
}

// NewCharger returns a Charger.
func NewCharger(psp PSP, policy RetryPolicy, log *slog.Logger) *Charger {
	return &Charger{psp: psp, policy: policy, log: log}
}

// ChargeKey is the PSP idempotency key of a payment's charge.
func ChargeKey(paymentID string) string { return "charge-" + paymentID }

// Charge charges p and returns the outcome. A decline is final at once.
// Unavailability and timeouts are retried with backoff; once the budget is
// spent (or the PSP rejected the call outright) the PSP is asked one last
// time which charges it holds for the payment, because a call that timed out
// may have charged. The payment is failed only if every call was refused or
// answered "unavailable", so that none can have charged.
//
// An error means no outcome can be stated yet (ctx ended, or a call may have
// charged and the PSP does not show it yet): the caller must try again later
// — the sweep repeats the charge with the same key.
func (c *Charger) Charge(ctx context.Context, p domain.Payment) (Outcome, error) {
	req := ChargeRequest{
		Amount:      p.Amount(),
		Currency:    p.Currency(),
		Source:      p.PaymentMethod(),
		Reference:   p.ID(),
		Description: "orderflow order " + p.OrderID(),
	}
	var (
		attempts int
		inDoubt  bool // a call may have charged without our knowing
		code     = CodePSPUnavailable
	)
	for attempts < c.policy.Attempts {
		if attempts > 0 {
			if err := sleep(ctx, c.policy.Backoff(attempts)); err != nil {
				return Outcome{}, fmt.Errorf("wait to retry: %w", err)
			}
		}
		attempts++
		ch, err := c.call(ctx, req)
		if err == nil {
			return outcomeOf(ch, attempts), nil
		}
		if ctx.Err() != nil {
			return Outcome{}, fmt.Errorf("charge: %w", ctx.Err())
		}
		var rejected *PSPRejectedError
		if errors.As(err, &rejected) {
			c.log.WarnContext(ctx, "psp rejected the charge", "attempt", attempts, "err", err)
			code = rejected.Code
			break
		}
		if !errors.Is(err, ErrPSPUnavailable) {
			inDoubt = true
		}
		c.log.WarnContext(ctx, "charge attempt failed", "attempt", attempts, "of", c.policy.Attempts, "err", err)
	}
	return c.settle(ctx, p, attempts, inDoubt, code)
}

func (c *Charger) call(ctx context.Context, req ChargeRequest) (Charge, error) {
	ctx, cancel := context.WithTimeout(ctx, c.policy.Timeout)
	defer cancel()
	return c.psp.Charge(ctx, ChargeKey(req.Reference), req)
}

// settle decides a payment whose charge calls brought no answer, from the
// charges the PSP holds under its reference.
func (c *Charger) settle(ctx context.Context, p domain.Payment, attempts int, inDoubt bool, code string) (Outcome, error) {
	lookupCtx, cancel := context.WithTimeout(ctx, c.policy.Timeout)
	defer cancel()
	charges, err := c.psp.FindCharges(lookupCtx, p.ID())
	if err != nil {
		if ctx.Err() != nil {
			return Outcome{}, fmt.Errorf("look up charges: %w", ctx.Err())
		}
		if inDoubt {
			return Outcome{}, fmt.Errorf("charge outcome unknown after %d attempts (a call may have charged) "+
				"and the charges could not be looked up: %w", attempts, err)
		}
		// Every call was answered "unavailable" or never got through: nothing
		// can have been charged.
		c.log.WarnContext(ctx, "could not look up charges; no call got through", "err", err)
		return Outcome{Result: Failed, Code: code, Attempts: attempts}, nil
	}
	for _, ch := range charges {
		if ch.Succeeded {
			c.log.InfoContext(ctx, "found a charge made by an unanswered call", "charge_id", ch.ID)
			return Outcome{Result: Captured, ChargeID: ch.ID, Attempts: attempts}, nil
		}
	}
	for _, ch := range charges {
		if ch.FailureCode != "" {
			return Outcome{Result: Declined, ChargeID: ch.ID, Code: ch.FailureCode, Attempts: attempts}, nil
		}
	}
	if inDoubt {
		// A call that timed out may still be on its way, or being carried
		// out: the PSP can charge after this lookup (make chaos found one
		// charged 70 ms after it). No outcome yet: the charge stays owed,
		// and the sweep repeats it with the same key, which the PSP answers
		// with whatever it did.
		return Outcome{}, fmt.Errorf("charge outcome unknown after %d attempts: a call may have charged, "+
			"and the PSP holds no charge yet", attempts)
	}
	return Outcome{Result: Failed, Code: code, Attempts: attempts}, nil
}

func outcomeOf(ch Charge, attempts int) Outcome {
	if ch.Succeeded {
		return Outcome{Result: Captured, ChargeID: ch.ID, Attempts: attempts}
	}
	code := ch.FailureCode
	if code == "" {
		code = "declined"
	}
	return Outcome{Result: Declined, ChargeID: ch.ID, Code: code, Attempts: attempts}
}
