package command

import (
	"context"

	"github.com/orderflow/orderflow/payment/domain"
	"github.com/orderflow/orderflow/schema"
)

// Repository keeps payments as event streams. Writes take the message being
// handled (cause): its id is recorded as handled in the same transaction as
// the write, so a redelivered message changes nothing, and each new event is
// caused by it (same correlation id, causation id = its id).
type Repository interface {
	// Load returns the payment, or domain.ErrNotFound.
	Load(ctx context.Context, paymentID string) (domain.Payment, error)
	// Create starts the payment's stream with ev and returns the envelope
	// recorded, or none if cause was handled before. If the stream exists it
	// writes nothing and returns domain.ErrExists.
	Create(ctx context.Context, cause schema.Envelope, ev schema.PaymentRequested) ([]schema.Envelope, error)
	// Update loads the payment, lets decide choose the events to record, and
	// appends them at the loaded version, all in one transaction. If another
	// writer appended first, it reloads and decides again. If cause was
	// handled before, it does nothing.
	Update(ctx context.Context, cause schema.Envelope, paymentID string,
		decide func(p domain.Payment) ([]schema.Event, error)) error
}
