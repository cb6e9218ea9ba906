package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/order/domain"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/schema"
)

// CreateOrder is the command to place an order.
type CreateOrder struct {
	domain.NewOrder
	// IdempotencyKey, if set, makes the command safe to retry: the same key
	// with the same input returns the first order; with another input, a
	// CONFLICT error.
	IdempotencyKey string
	// RequestID identifies the request, the causation of OrderCreated.
	RequestID   string
	TraceParent string
}

// CreateOrder validates cmd, appends OrderCreated and returns the order once
// it is durably stored.
func (a *App) CreateOrder(ctx context.Context, cmd CreateOrder) (*domain.Order, error) {
	var created *domain.Order
	err := retryOnConflict(func() error {
		orderID := uuid.NewString()
		ev, err := domain.Create(orderID, cmd.NewOrder)
		if err != nil {
			return err
		}
		cause := schema.Cause{CorrelationID: orderID, CausationID: cmd.RequestID, TraceParent: cmd.TraceParent}
		return a.store.Tx(ctx, func(tx pgx.Tx) error {
			if cmd.IdempotencyKey != "" {
				first, err := eventstore.ClaimKeyTx(ctx, tx, idempotencyKey(cmd), stream(orderID), 1)
				if errors.Is(err, eventstore.ErrIdempotencyConflict) {
					return domain.Errorf(domain.CodeConflict,
						"idempotency key %q was already used for a different order; use a new key for a new order", cmd.IdempotencyKey)
				}
				if err != nil {
					return err
				}
				if first != nil {
					created, err = a.load(ctx, tx, first.Stream.ID)
					return err
				}
			}
			o := &domain.Order{ID: orderID}
			if err := a.record(ctx, tx, o, []schema.Event{ev}, cause); err != nil {
				return err
			}
			created = o
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return created, nil
}

// idempotencyKey scopes a key to the customer and fingerprints the input, so
// the same key from another customer is another command.
func idempotencyKey(cmd CreateOrder) eventstore.CommandKey {
	h := sha256.New()
	fmt.Fprintf(h, "%q %q %q", cmd.CustomerID, cmd.Currency, cmd.PaymentMethod)
	for _, it := range cmd.Items {
		fmt.Fprintf(h, " %q %d %d", it.SKU, it.Quantity, it.UnitPrice)
	}
	return eventstore.CommandKey{
		Scope:       "order.create/" + cmd.CustomerID,
		Key:         cmd.IdempotencyKey,
		Fingerprint: hex.EncodeToString(h.Sum(nil)),
	}
}
