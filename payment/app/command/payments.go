package command

import (
	"context"
	"time"

	"github.com/orderflow/orderflow/payment/domain"
	"github.com/orderflow/orderflow/schema"
)

// Payments is the unit of work the use cases decide on (a unit of the
// payment repository): what is recorded is saved with the unit's
// transaction, and a later Get sees it.
type Payments interface {
	// Get returns a payment as decided so far, and its version (0: no such
	// payment).
	Get(ctx context.Context, id string) (domain.Payment, int, error)
	// Record records events for a payment; the next Get sees them.
	Record(ctx context.Context, id string, events ...schema.Envelope) error
}

// Units runs units of work over payments, each in a transaction of its own.
type Units interface {
	// Update lets fn decide on the payments of ids (loaded in one query),
	// then saves what it recorded and commits. If a payment moved
	// meanwhile, fn runs again on the new state.
	Update(ctx context.Context, ids []string, fn func(ctx context.Context, payments Payments) error) error
}

// Clock tells the time envelopes are stamped with.
type Clock func() time.Time

// Owed is a charge to make: a pending payment, and the cause its outcome is
// recorded with (its PaymentRequested).
type Owed struct {
	Payment domain.Payment
	Cause   schema.Cause
}

// record wraps ev in an envelope of payment id caused by cause and records
// it.
func record(ctx context.Context, payments Payments, id string, ev schema.Event, cause schema.Cause, now Clock) error {
	return payments.Record(ctx, id, schema.New(schema.AggregatePayment, id, ev, cause, now()))
}
