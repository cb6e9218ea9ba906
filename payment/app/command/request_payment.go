package command

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/orderflow/orderflow/payment/domain"
	"github.com/orderflow/orderflow/schema"
)

// RequestPayment reacts to OrderCreated: it records PaymentRequested for the
// order's total, then charges it at once. The payment id derives from the
// order id and the stream must be new, so a redelivered (or replayed)
// OrderCreated requests nothing.
//
// Charging right after the request committed saves every order a trip of
// PaymentRequested through the outbox and Kafka. The request is durable
// before the PSP is called, and the service still charges on its own
// PaymentRequested: if this charge fails, or the process dies before
// recording it, that delivery charges (or finds the charge) with the same
// idempotency key, so nothing is lost and nothing is charged twice.
type RequestPayment struct {
	repo   Repository
	charge ChargePayment
	log    *slog.Logger
}

// NewRequestPayment returns the use case.
func NewRequestPayment(repo Repository, charge ChargePayment, log *slog.Logger) RequestPayment {
	return RequestPayment{repo: repo, charge: charge, log: log}
}

// Handle handles one OrderCreated, carried by in.
func (h RequestPayment) Handle(ctx context.Context, in schema.Envelope, order schema.OrderCreated) error {
	ev, err := domain.Request(order)
	if err != nil {
		return err
	}
	recorded, err := h.repo.Create(ctx, in, ev)
	if errors.Is(err, domain.ErrExists) {
		h.log.InfoContext(ctx, "payment already requested", "payment_id", ev.PaymentID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("request payment: %w", err)
	}
	h.log.InfoContext(ctx, "payment requested", "payment_id", ev.PaymentID, "amount", ev.Amount, "currency", ev.Currency)
	for _, req := range recorded {
		if err := h.charge.Handle(ctx, req, ev); err != nil {
			h.log.WarnContext(ctx, "charge right after the request failed; the request's delivery will charge",
				"payment_id", ev.PaymentID, "err", err)
		}
	}
	return nil
}
