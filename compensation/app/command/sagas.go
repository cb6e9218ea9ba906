// Package command holds the compensation service's use cases: one per fact
// it reacts to. Each gets the order's saga from a unit of work its caller
// opened — a batch of Kafka messages in the inbox's transaction, or a batch
// of due deadlines in the poller's — lets the domain decide, and records
// the decision in the unit, so a decision sees those recorded before it in
// the same batch and the whole batch is saved and committed at once.
package command

import (
	"context"
	"time"

	"github.com/orderflow/orderflow/compensation/domain"
	"github.com/orderflow/orderflow/schema"
)

// Sagas is the unit of work the use cases decide on (a unit of the saga
// repository): what is recorded is saved with the unit's transaction, and a
// later Get sees it.
type Sagas interface {
	// Get returns the saga of orderID as decided so far, and its version;
	// a saga that has not started yet is returned as such (version 0), not
	// as an error.
	Get(ctx context.Context, orderID string) (LoadedSaga, int, error)
	// Record records events for the saga of orderID; the next Get sees
	// them.
	Record(ctx context.Context, orderID string, events ...schema.Envelope) error
}

// LoadedSaga is a saga with what its own decisions refer to: the
// repository's aggregate, folded from the saga's stream.
type LoadedSaga struct {
	OrderID string
	Saga    domain.Saga
	// StartedBy is the id of the SagaStarted event: the cause of decisions
	// the saga takes on its own, such as the payment deadline passing.
	StartedBy string
}

// Apply returns the saga with env applied.
func (s LoadedSaga) Apply(env schema.Envelope) LoadedSaga {
	if _, ok := env.Payload.(schema.SagaStarted); ok {
		s.StartedBy = env.ID
	}
	s.Saga = s.Saga.Apply(env.Payload)
	return s
}

// Clock tells the time envelopes are stamped with.
type Clock func() time.Time

// decide gets the saga of orderID, asks fact what to record, and records it
// caused by cause.
func decide(ctx context.Context, sagas Sagas, orderID string, cause schema.Cause, now time.Time,
	fact func(domain.Saga) ([]schema.Event, error)) error {
	saga, _, err := sagas.Get(ctx, orderID)
	if err != nil {
		return err
	}
	events, err := fact(saga.Saga)
	if err != nil {
		return err
	}
	return record(ctx, sagas, orderID, events, cause, now)
}

// record wraps events in envelopes and records them. The correlation id is
// always the order id: it is the Kafka key that keeps one order's events in
// order, whatever the cause carried.
func record(ctx context.Context, sagas Sagas, orderID string, events []schema.Event, cause schema.Cause, now time.Time) error {
	if len(events) == 0 {
		return nil
	}
	cause.CorrelationID = orderID
	envs := make([]schema.Envelope, len(events))
	for i, e := range events {
		envs[i] = schema.New(schema.AggregateCompensation, orderID, e, cause, now)
	}
	return sagas.Record(ctx, orderID, envs...)
}
