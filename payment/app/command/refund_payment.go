package command

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/orderflow/orderflow/payment/domain"
	"github.com/orderflow/orderflow/schema"
)

// RefundPayment is the compensation service's request to give a payment's
// captured money back.
type RefundPayment struct {
	PaymentID string
	ChargeID  string
	Amount    int64
	Cause     schema.Cause
}

// RefundPaymentHandler refunds a batch of payments: one query finds what
// each request may refund, the PSP refunds run concurrently (outside any
// transaction), and one transaction records every PaymentRefunded.
//
// Money owed back must eventually be refunded, so a PSP that is unavailable
// or slow is an error the caller retries (with backoff, for as long as it
// takes); the idempotency key makes the retries, and any redelivery, one
// refund, and a payment already refunded is not refunded again (its status,
// recorded in the transaction of the refund, is what makes a redelivery
// change nothing). A request that can never be granted — the payment does
// not exist or is not captured, the charge or amount is not the payment's,
// the PSP refuses it — is an error that says so, for a person to look at.
type RefundPaymentHandler struct {
	units       Units
	psp         PSP
	timeout     time.Duration
	concurrency int
	now         Clock
	log         *slog.Logger
}

// NewRefundPaymentHandler returns the handler; timeout bounds each PSP call,
// concurrency the calls at once.
func NewRefundPaymentHandler(units Units, psp PSP, timeout time.Duration, concurrency int, now Clock,
	log *slog.Logger) RefundPaymentHandler {
	return RefundPaymentHandler{units: units, psp: psp, timeout: timeout, concurrency: concurrency, now: now, log: log}
}

// RefundKey is the PSP idempotency key of a payment's refund.
func RefundKey(paymentID string) string { return "refund-" + paymentID }

// Handle refunds every request of cmds, or fails as a whole (the refunds
// the PSP made are then replayed by the retry, under the same keys).
func (h RefundPaymentHandler) Handle(ctx context.Context, cmds []RefundPayment) error {
	todo, err := h.due(ctx, cmds)
	if err != nil || len(todo) == 0 {
		return err
	}
	refunds, err := h.refund(ctx, todo)
	if err != nil {
		return err
	}
	ids := make([]string, len(todo))
	for i, c := range todo {
		ids[i] = c.PaymentID
	}
	err = h.units.Update(ctx, ids, func(ctx context.Context, payments Payments) error {
		for i, c := range todo {
			p, _, err := payments.Get(ctx, c.PaymentID)
			if err != nil {
				return err
			}
			if p.Status() == domain.StatusRefunded {
				continue // the same request twice in the batch, or another delivery first
			}
			ev, err := p.Refund(c.ChargeID, refunds[i].ID, c.Amount)
			if err != nil {
				return fmt.Errorf("record refund: %w", err)
			}
			if err := record(ctx, payments, c.PaymentID, ev, c.Cause, h.now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record refunds: %w", err)
	}
	for i, c := range todo {
		h.log.InfoContext(ctx, "payment refunded", "payment_id", c.PaymentID, "refund_id", refunds[i].ID, "amount", c.Amount)
	}
	return nil
}

// due returns the requests of cmds that still have money to give back, and
// an error for the first that can never be granted.
func (h RefundPaymentHandler) due(ctx context.Context, cmds []RefundPayment) ([]RefundPayment, error) {
	ids := make([]string, len(cmds))
	for i, c := range cmds {
		ids[i] = c.PaymentID
	}
	var todo []RefundPayment
	err := h.units.Update(ctx, ids, func(ctx context.Context, payments Payments) error {
		todo = todo[:0]
		for _, c := range cmds {
			p, version, err := payments.Get(ctx, c.PaymentID)
			if err != nil {
				return err
			}
			if version == 0 {
				return fmt.Errorf("refund: payment %s: %w", c.PaymentID, domain.ErrNotFound)
			}
			if p.Status() == domain.StatusRefunded {
				h.log.InfoContext(ctx, "payment already refunded", "payment_id", p.ID(), "refund_id", p.RefundID())
				continue
			}
			if err := p.CanRefund(c.ChargeID, c.Amount); err != nil {
				return fmt.Errorf("refund: %w", err)
			}
			todo = append(todo, c)
		}
		return nil
	})
	return todo, err
}

// refund asks the PSP for every refund of todo, concurrency at a time, and
// returns them in todo's order, or the errors of those that failed.
func (h RefundPaymentHandler) refund(ctx context.Context, todo []RefundPayment) ([]Refund, error) {
	refunds := make([]Refund, len(todo))
	errs := make([]error, len(todo))
	slots := make(chan struct{}, max(h.concurrency, 1))
	var wg sync.WaitGroup
	for i, c := range todo {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			callCtx, cancel := context.WithTimeout(ctx, h.timeout)
			defer cancel()
			refunds[i], errs[i] = h.psp.Refund(callCtx, RefundKey(c.PaymentID), RefundRequest{ChargeID: c.ChargeID, Amount: c.Amount})
			if errs[i] != nil {
				errs[i] = fmt.Errorf("refund payment %s: %w", c.PaymentID, errs[i])
			}
		})
	}
	wg.Wait()
	return refunds, errors.Join(errs...)
}
