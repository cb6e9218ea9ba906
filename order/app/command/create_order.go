package command

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/order/domain"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/groupcommit"
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

// Keys claims idempotency keys in the unit's transaction
// (eventstore.ClaimKeysTx).
type Keys interface {
	Claim(ctx context.Context, claims []eventstore.KeyClaim) ([]eventstore.ClaimedKey, error)
}

// Result is one command's answer in a batch: the order, or the command's
// own error.
type Result = groupcommit.Result[domain.Order]

// CreateOrdersHandler places a batch of orders in one unit of work.
type CreateOrdersHandler struct {
	now   Clock
	newID func() string
}

// NewCreateOrdersHandler returns the handler; now stamps recorded events.
func NewCreateOrdersHandler(now Clock) CreateOrdersHandler {
	return CreateOrdersHandler{now: now, newID: uuid.NewString}
}

// Handle validates each of cmds, claims their idempotency keys in one go,
// records OrderCreated for each new order, and returns one result per
// command, in order. A command's own failure — invalid input, an
// idempotency key used before with other input — is its result and does not
// stop the others. A command repeating an earlier one's key, even one in the
// same batch, answers with that command's order. An error return means the
// batch must not commit.
func (h CreateOrdersHandler) Handle(ctx context.Context, orders Orders, keys Keys, cmds []CreateOrder) ([]Result, error) {
	var (
		out     = make([]Result, len(cmds))
		ids     = make([]string, len(cmds)) // the order each command answers with
		created = make([]*schema.OrderCreated, len(cmds))
		claims  []eventstore.KeyClaim
		claimOf []int // the command of each claim
	)
	for i, cmd := range cmds {
		id := h.newID()
		ev, err := domain.Create(id, cmd.NewOrder)
		if err != nil {
			out[i].Err = err
			continue
		}
		ids[i], created[i] = id, &ev
		if cmd.IdempotencyKey != "" {
			claims = append(claims, eventstore.KeyClaim{Key: idempotencyKey(cmd),
				Stream: eventstore.StreamID{Type: schema.AggregateOrder, ID: id}, Version: 1})
			claimOf = append(claimOf, i)
		}
	}
	if len(claims) > 0 {
		claimed, err := keys.Claim(ctx, claims)
		if err != nil {
			return nil, err
		}
		for j, c := range claimed {
			i := claimOf[j]
			switch {
			case errors.Is(c.Err, eventstore.ErrIdempotencyConflict):
				out[i].Err = domain.Errorf(domain.CodeConflict,
					"idempotency key %q was already used for a different order; use a new key for a new order", cmds[i].IdempotencyKey)
				ids[i], created[i] = "", nil
			case c.Err != nil:
				return nil, c.Err
			case c.First != nil:
				ids[i], created[i] = c.First.Stream.ID, nil
			}
		}
	}

	var fresh, replayed []string
	for i, id := range ids {
		switch {
		case created[i] != nil:
			fresh = append(fresh, id)
		case id != "":
			replayed = append(replayed, id)
		}
	}
	orders.Fresh(fresh...)
	if err := orders.Load(ctx, replayed...); err != nil {
		return nil, err
	}
	for i, ev := range created {
		if ev == nil {
			continue
		}
		cause := schema.Cause{CausationID: cmds[i].RequestID, TraceParent: cmds[i].TraceParent}
		if err := record(ctx, orders, ids[i], []schema.Event{*ev}, cause, h.now); err != nil {
			return nil, err
		}
	}
	for i, id := range ids {
		if id == "" {
			continue
		}
		o, version, err := orders.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if version == 0 {
			return nil, fmt.Errorf("order %s of idempotency key %q has no events", id, cmds[i].IdempotencyKey)
		}
		out[i].Value = o
	}
	return out, nil
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
