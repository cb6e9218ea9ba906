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
// order's total. The payment id derives from the order id and the stream
// must be new, so a redelivered (or replayed) OrderCreated requests nothing.
type RequestPayment struct {
	repo Repository
	log  *slog.Logger
}

// NewRequestPayment returns the use case.
func NewRequestPayment(repo Repository, log *slog.Logger) RequestPayment {
	return RequestPayment{repo: repo, log: log}
}

// Handle handles one OrderCreated, carried by in.
func (h RequestPayment) Handle(ctx context.Context, in schema.Envelope, order schema.OrderCreated) error {
	ev, err := domain.Request(order)
	if err != nil {
		return err
	}
	err = h.repo.Create(ctx, in, ev)
	if errors.Is(err, domain.ErrExists) {
		h.log.InfoContext(ctx, "payment already requested", "payment_id", ev.PaymentID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("request payment: %w", err)
	}
	h.log.InfoContext(ctx, "payment requested", "payment_id", ev.PaymentID, "amount", ev.Amount, "currency", ev.Currency)
	return nil
}
