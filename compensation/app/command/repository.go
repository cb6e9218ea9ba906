// Package command holds the compensation service's use cases: one per fact
// it reacts to. Each loads the order's saga, lets the domain decide, and
// records the decision — in the caller's transaction, which is why every
// handler takes the SagaRepository it is to use: the Kafka inbox and the
// deadline poller each open their own.
package command

import (
	"context"
	"time"

	"github.com/orderflow/orderflow/compensation/domain"
	"github.com/orderflow/orderflow/schema"
)

// SagaRepository loads and saves sagas inside one transaction.
type SagaRepository interface {
	// Load returns the saga of orderID; a saga that has not started yet is
	// returned as such, not as an error.
	Load(ctx context.Context, orderID string) (LoadedSaga, error)
	// Save appends events after the version the saga was loaded at (a
	// concurrent append fails the save) and keeps the stored payment
	// deadline in step with the saga's new state.
	Save(ctx context.Context, saga LoadedSaga, events []schema.Envelope) error
}

// LoadedSaga is a saga with where it was loaded from.
type LoadedSaga struct {
	OrderID string
	Saga    domain.Saga
	// Version is the stream's version when loaded; 0 if it does not exist.
	Version int
	// StartedBy is the id of the SagaStarted event: the cause of decisions
	// the saga takes on its own, such as the payment deadline passing.
	StartedBy string
}

// Clock tells the time envelopes are stamped with.
type Clock func() time.Time

// decide loads the saga of orderID, asks fact what to record, and saves it
// caused by cause.
func decide(ctx context.Context, sagas SagaRepository, orderID string, cause schema.Cause, now time.Time,
	fact func(domain.Saga) ([]schema.Event, error)) error {
	saga, err := sagas.Load(ctx, orderID)
	if err != nil {
		return err
	}
	events, err := fact(saga.Saga)
	if err != nil {
		return err
	}
	return save(ctx, sagas, saga, events, cause, now)
}

// save wraps events in envelopes and saves them. The correlation id is
// always the order id: it is the Kafka key that keeps one order's events in
// order, whatever the cause carried.
func save(ctx context.Context, sagas SagaRepository, saga LoadedSaga, events []schema.Event, cause schema.Cause, now time.Time) error {
	cause.CorrelationID = saga.OrderID
	envs := make([]schema.Envelope, len(events))
	for i, e := range events {
		envs[i] = schema.New(schema.AggregateCompensation, saga.OrderID, e, cause, now)
	}
	return sagas.Save(ctx, saga, envs)
}
