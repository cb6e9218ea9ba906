// Package postgres keeps orders in the Postgres event store: the order
// repository — the event store's one aggregate contract, wired to the
// domain's fold — and the transactions group-committed commands run in.
package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/order/app/command"
	"github.com/orderflow/orderflow/order/domain"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/groupcommit"
	"github.com/orderflow/orderflow/schema"
)

// Repository is the order repository.
type Repository = eventstore.Repository[domain.Order]

// NewRepository returns the repository of order streams in store.
func NewRepository(store *eventstore.Store) *Repository {
	return eventstore.NewRepository(store, schema.AggregateOrder,
		func(id string) domain.Order { return domain.Order{ID: id} },
		func(o domain.Order, env schema.Envelope) (domain.Order, error) {
			err := o.Apply(env)
			return o, err
		})
}

// Orders reads orders and runs units of work over them.
type Orders struct{ repo *Repository }

// NewOrders returns orders kept by repo.
func NewOrders(repo *Repository) *Orders { return &Orders{repo: repo} }

// Load returns order id as stored now, outside any unit of work.
func (o *Orders) Load(ctx context.Context, id string) (domain.Order, int, error) {
	return o.repo.Load(ctx, o.repo.Store().Pool(), id)
}

// maxConflictRetries bounds how often a unit of work is redone after
// another writer changed one of its orders first.
const maxConflictRetries = 5

// Update runs fn on a unit of work in one transaction, with the
// idempotency keys of that transaction, then saves every order fn recorded
// to and commits. If an order moved meanwhile, the work is redone on the new
// state; after maxConflictRetries it fails with CONFLICT. A failed commit is
// marked groupcommit.FailAll.
func (o *Orders) Update(ctx context.Context, fn func(ctx context.Context, orders command.Orders, keys command.Keys) error) error {
	err := o.repo.Store().Redo(ctx, maxConflictRetries, func(tx pgx.Tx) error {
		unit, err := o.repo.Begin(ctx, tx)
		if err != nil {
			return err
		}
		if err := fn(ctx, unit, keys{tx}); err != nil {
			return err
		}
		_, err = unit.Save(ctx)
		return err
	})
	switch {
	case errors.Is(err, eventstore.ErrCommitUnknown):
		// The batch's commands must not be redone one by one (an order
		// without an idempotency key would be created twice).
		return groupcommit.FailAll(err)
	case errors.Is(err, eventstore.ErrConcurrency):
		return domain.Errorf(domain.CodeConflict, "the order is being changed concurrently; retry")
	}
	return err
}

// keys claims idempotency keys in one transaction.
type keys struct{ tx pgx.Tx }

func (k keys) Claim(ctx context.Context, claims []eventstore.KeyClaim) ([]eventstore.ClaimedKey, error) {
	return eventstore.ClaimKeysTx(ctx, k.tx, claims)
}
