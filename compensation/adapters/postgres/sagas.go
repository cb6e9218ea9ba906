// Package postgres keeps sagas and their payment deadlines in Postgres: the
// saga repository — the event store's one aggregate contract, wired to the
// domain's fold — whose units keep the deadlines table in step with the
// sagas they save, and the deadlines the poller fires.
package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/compensation/app/command"
	"github.com/orderflow/orderflow/compensation/domain"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/schema"
)

// Repository is the saga repository: one stream per order.
type Repository = eventstore.Repository[command.LoadedSaga]

// NewRepository returns the repository of saga streams in store.
func NewRepository(store *eventstore.Store) *Repository {
	return eventstore.NewRepository(store, schema.AggregateCompensation,
		func(orderID string) command.LoadedSaga { return command.LoadedSaga{OrderID: orderID} },
		func(s command.LoadedSaga, env schema.Envelope) (command.LoadedSaga, error) { return s.Apply(env), nil })
}

// Sagas reads sagas and begins units of work over them.
type Sagas struct{ repo *Repository }

// NewSagas returns the sagas kept by repo.
func NewSagas(repo *Repository) *Sagas { return &Sagas{repo: repo} }

// Load returns the saga of orderID as stored now and its version, outside
// any unit of work: for queries.
func (s *Sagas) Load(ctx context.Context, orderID string) (domain.Saga, int, error) {
	saga, version, err := s.repo.Load(ctx, s.repo.Store().Pool(), orderID)
	if err != nil {
		return domain.Saga{}, 0, fmt.Errorf("load saga: %w", err)
	}
	return saga.Saga, version, nil
}

// Begin starts a unit of work in tx, loading the sagas of orderIDs in one
// query.
func (s *Sagas) Begin(ctx context.Context, tx pgx.Tx, orderIDs ...string) (*Unit, error) {
	u, err := s.repo.Begin(ctx, tx, orderIDs...)
	if err != nil {
		return nil, fmt.Errorf("load sagas: %w", err)
	}
	return &Unit{unit: u, tx: tx}, nil
}

// Unit is a unit of work over sagas (command.Sagas) that, when saved, also
// keeps the payment deadline of every saga it recorded to in step.
type Unit struct {
	unit *eventstore.Unit[command.LoadedSaga]
	tx   pgx.Tx
	// synced names the sagas whose deadline rows Save writes: those
	// recorded to, and those the poller fired.
	synced []string
}

// Get returns the saga of orderID as decided so far, and its version.
func (u *Unit) Get(ctx context.Context, orderID string) (command.LoadedSaga, int, error) {
	return u.unit.Get(ctx, orderID)
}

// Record records events for the saga of orderID; the next Get sees them.
func (u *Unit) Record(ctx context.Context, orderID string, events ...schema.Envelope) error {
	if len(events) == 0 {
		return nil
	}
	if err := u.unit.Record(ctx, orderID, events...); err != nil {
		return err
	}
	u.sync(orderID)
	return nil
}

func (u *Unit) sync(orderIDs ...string) {
	for _, id := range orderIDs {
		if !slices.Contains(u.synced, id) {
			u.synced = append(u.synced, id)
		}
	}
}

// Save writes the deadline rows of the sagas recorded to — one statement
// deleting those that can no longer fire, one upserting those that can —
// then appends every recorded event in one round trip, each stream at the
// version it was loaded at (eventstore.ErrConcurrency if one moved: the
// transaction must be rolled back and the work done again).
//
// The deadline rows are written first on purpose, each statement taking
// its row locks in order of order id: the poller locks deadline rows before
// it appends, so taking the same locks first here makes a poller and a
// consumer racing for a saga wait for each other instead of deadlocking,
// and two consumers locking rows of the same sagas take them in the same
// order. The loser's append then fails with ErrConcurrency.
func (u *Unit) Save(ctx context.Context) error {
	if err := u.syncDeadlines(ctx); err != nil {
		return err
	}
	if _, err := u.unit.Save(ctx); err != nil {
		return fmt.Errorf("save sagas: %w", err)
	}
	return nil
}

// syncDeadlines stores the payment deadline of each synced saga while it
// can fire and deletes it once it cannot.
//
// Each statement locks in order of order id, but the two run one after the
// other, so two consumers could still deadlock if one deleted a row the
// other upserted and the other way round. In practice the upserted rows of
// a consumer are new ones (a saga staying pending records nothing but its
// SagaStarted), which no other transaction sees to delete. Should it happen,
// Postgres aborts one of the two and its batch is handled again.
func (u *Unit) syncDeadlines(ctx context.Context) error {
	var (
		pending []string
		due     []time.Time
		done    []string
	)
	for _, id := range u.synced {
		s, _, err := u.unit.Get(ctx, id)
		if err != nil {
			return err
		}
		if s.Saga.DeadlinePending() {
			pending, due = append(pending, id), append(due, s.Saga.PaymentDeadline())
		} else {
			done = append(done, id)
		}
	}
	u.synced = nil
	if len(done) > 0 {
		if _, err := u.tx.Exec(ctx, `DELETE FROM deadlines WHERE order_id IN (
			SELECT order_id FROM deadlines WHERE order_id = ANY($1) ORDER BY order_id FOR UPDATE)`, done); err != nil {
			return fmt.Errorf("delete deadlines: %w", err)
		}
	}
	if len(pending) > 0 {
		if _, err := u.tx.Exec(ctx, `INSERT INTO deadlines (order_id, due_at)
			SELECT * FROM unnest($1::text[], $2::timestamptz[]) AS d (order_id, due_at) ORDER BY order_id
			ON CONFLICT (order_id) DO UPDATE SET due_at = EXCLUDED.due_at
			WHERE deadlines.due_at IS DISTINCT FROM EXCLUDED.due_at`, pending, due); err != nil {
			return fmt.Errorf("upsert deadlines: %w", err)
		}
	}
	return nil
}
