package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/compensation/app/command"
	"github.com/orderflow/orderflow/compensation/domain"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/schema"
)

// Sagas is the saga repository inside one transaction.
type Sagas struct {
	store *eventstore.Store
	tx    pgx.Tx
}

// NewSagas returns the repository working in tx.
func NewSagas(store *eventstore.Store, tx pgx.Tx) *Sagas { return &Sagas{store: store, tx: tx} }

func streamOf(orderID string) eventstore.StreamID {
	return eventstore.StreamID{Type: schema.AggregateCompensation, ID: orderID}
}

// Load rebuilds the saga of orderID from its stream.
func (r *Sagas) Load(ctx context.Context, orderID string) (command.LoadedSaga, error) {
	envs, err := r.store.LoadTx(ctx, r.tx, streamOf(orderID))
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return command.LoadedSaga{OrderID: orderID}, nil
	}
	if err != nil {
		return command.LoadedSaga{}, fmt.Errorf("load saga: %w", err)
	}
	loaded := command.LoadedSaga{OrderID: orderID, Version: envs[len(envs)-1].Version}
	for _, env := range envs {
		if _, ok := env.Payload.(schema.SagaStarted); ok {
			loaded.StartedBy = env.ID
		}
		loaded.Saga = loaded.Saga.Apply(env.Payload)
	}
	return loaded, nil
}

// Save keeps the deadline row in step with the saga's new state, then
// appends events at the loaded version.
//
// The deadline row is written first on purpose: the poller locks deadline
// rows before it appends, so taking the same locks in the same order here
// makes a poller and a consumer racing for one saga wait for each other
// instead of deadlocking. The loser's append then fails with
// eventstore.ErrConcurrency and is retried against the new version.
func (r *Sagas) Save(ctx context.Context, saga command.LoadedSaga, events []schema.Envelope) error {
	next := saga.Saga
	for _, e := range events {
		next = next.Apply(e.Payload)
	}
	if err := syncDeadline(ctx, r.tx, saga.OrderID, next); err != nil {
		return err
	}
	if _, err := r.store.AppendTx(ctx, r.tx, streamOf(saga.OrderID), saga.Version, events); err != nil {
		return fmt.Errorf("save saga: %w", err)
	}
	return nil
}

// syncDeadline stores the saga's payment deadline while it can fire and
// deletes it once it cannot.
func syncDeadline(ctx context.Context, tx pgx.Tx, orderID string, saga domain.Saga) error {
	var err error
	if saga.DeadlinePending() {
		_, err = tx.Exec(ctx, `INSERT INTO deadlines (order_id, due_at) VALUES ($1, $2)
			ON CONFLICT (order_id) DO UPDATE SET due_at = EXCLUDED.due_at
			WHERE deadlines.due_at IS DISTINCT FROM EXCLUDED.due_at`, orderID, saga.PaymentDeadline())
	} else {
		_, err = tx.Exec(ctx, `DELETE FROM deadlines WHERE order_id = $1`, orderID)
	}
	if err != nil {
		return fmt.Errorf("sync deadline: %w", err)
	}
	return nil
}

// SagaReader reads sagas outside any transaction, for queries.
type SagaReader struct{ store *eventstore.Store }

// NewSagaReader returns the reader.
func NewSagaReader(store *eventstore.Store) SagaReader { return SagaReader{store: store} }

// LoadSaga returns the saga of orderID and its version.
func (r SagaReader) LoadSaga(ctx context.Context, orderID string) (domain.Saga, int, error) {
	envs, err := r.store.Load(ctx, streamOf(orderID))
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return domain.Saga{}, 0, nil
	}
	if err != nil {
		return domain.Saga{}, 0, fmt.Errorf("load saga: %w", err)
	}
	var saga domain.Saga
	for _, env := range envs {
		saga = saga.Apply(env.Payload)
	}
	return saga, envs[len(envs)-1].Version, nil
}
