package command

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/orderflow/orderflow/payment/domain"
	"github.com/orderflow/orderflow/schema"
)

// RefundPayment reacts to the compensation service's RefundRequested: it
// gives the captured money back through the PSP and records PaymentRefunded.
//
// Money owed back must eventually be refunded, so a PSP that is unavailable
// or slow is an error the caller retries (with backoff, for as long as it
// takes); the idempotency key makes the retries, and any redelivery, one
// refund. A request that can never be granted — the payment is not captured,
// the charge or amount is not the payment's, the PSP refuses it — is an error
// that says so, for a person to look at.
type RefundPayment struct {
	repo    Repository
	psp     PSP
	timeout time.Duration
	log     *slog.Logger
}

// NewRefundPayment returns the use case; timeout bounds each PSP call.
func NewRefundPayment(repo Repository, psp PSP, timeout time.Duration, log *slog.Logger) RefundPayment {
	return RefundPayment{repo: repo, psp: psp, timeout: timeout, log: log}
}

// RefundKey is the PSP idempotency key of a payment's refund.
func RefundKey(paymentID string) string { return "refund-" + paymentID }

// Handle handles one RefundRequested, carried by in.
func (h RefundPayment) Handle(ctx context.Context, in schema.Envelope, req schema.RefundRequested) error {
	p, err := h.repo.Load(ctx, req.PaymentID)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if p.Status() == domain.StatusRefunded {
		h.log.InfoContext(ctx, "payment already refunded", "payment_id", p.ID(), "refund_id", p.RefundID())
		return nil
	}
	if err := p.CanRefund(req.ChargeID, req.Amount); err != nil {
		return fmt.Errorf("refund: %w", err)
	}

	callCtx, cancel := context.WithTimeout(ctx, h.timeout)
	refund, err := h.psp.Refund(callCtx, RefundKey(p.ID()), RefundRequest{ChargeID: req.ChargeID, Amount: req.Amount})
	cancel()
	if err != nil {
		return fmt.Errorf("refund: %w", err)
	}

	err = h.repo.Update(ctx, in, p.ID(), func(p domain.Payment) ([]schema.Event, error) {
		if p.Status() == domain.StatusRefunded {
			return nil, nil
		}
		ev, err := p.Refund(req.ChargeID, refund.ID, req.Amount)
		if err != nil {
			return nil, err
		}
		return []schema.Event{ev}, nil
	})
	if err != nil {
		return fmt.Errorf("record refund: %w", err)
	}
	h.log.InfoContext(ctx, "payment refunded", "payment_id", p.ID(), "refund_id", refund.ID, "amount", req.Amount)
	return nil
}
