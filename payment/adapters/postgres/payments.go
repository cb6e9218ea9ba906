// Package postgres keeps payments in the Postgres event store: the payment
// repository — the event store's one aggregate contract, wired to the
// domain's fold — the units of work the use cases decide on, and the list of
// charges owed that the sweep recovers interrupted charges from.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/payment/app/command"
	"github.com/orderflow/orderflow/payment/domain"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/groupcommit"
	"github.com/orderflow/orderflow/platform/pgmigrate"
	"github.com/orderflow/orderflow/schema"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the payment service's own tables as a migration set.
func Migrations() pgmigrate.Set {
	return pgmigrate.Set{Name: "payment", FS: migrations, Dir: "migrations"}
}

// Repository is the payment repository.
type Repository = eventstore.Repository[domain.Payment]

// NewRepository returns the repository of payment streams in store.
func NewRepository(store *eventstore.Store) *Repository {
	return eventstore.NewRepository(store, schema.AggregatePayment,
		func(string) domain.Payment { return domain.Payment{} },
		func(p domain.Payment, env schema.Envelope) (domain.Payment, error) { return p.Apply(env.Payload) })
}

// maxConflictRetries bounds how often a unit of work is redone after
// another writer changed one of its payments first.
const maxConflictRetries = 5

// Payments reads payments and runs units of work over them.
type Payments struct {
	repo *Repository
	// grace is how long after its request a charge is left to the process
	// that made the request before the sweep takes it over.
	grace time.Duration
}

// NewPayments returns payments kept by repo, whose charges the sweep takes
// over grace after their request (and again grace after each sweep).
func NewPayments(repo *Repository, grace time.Duration) *Payments {
	return &Payments{repo: repo, grace: grace}
}

// Load returns payment id as stored now and its version (0: no such
// payment), outside any unit of work.
func (p *Payments) Load(ctx context.Context, id string) (domain.Payment, int, error) {
	return p.repo.Load(ctx, p.repo.Store().Pool(), id)
}

// Begin starts a unit of work in tx (a transaction the inbox opened),
// loading the payments of ids in one query.
func (p *Payments) Begin(ctx context.Context, tx pgx.Tx, ids ...string) (*Unit, error) {
	u, err := p.repo.Begin(ctx, tx, ids...)
	if err != nil {
		return nil, err
	}
	return &Unit{Unit: u, tx: tx, grace: p.grace}, nil
}

// Update implements command.Units: fn decides on the payments of ids in a
// unit of work of its own transaction, which is then saved and committed.
// If a payment moved meanwhile, the work is redone on the new state. A
// failed commit is marked groupcommit.FailAll: whether it took effect is
// unknown.
func (p *Payments) Update(ctx context.Context, ids []string, fn func(ctx context.Context, payments command.Payments) error) error {
	err := p.repo.Store().Redo(ctx, maxConflictRetries, func(tx pgx.Tx) error {
		u, err := p.Begin(ctx, tx, ids...)
		if err != nil {
			return err
		}
		if err := fn(ctx, u); err != nil {
			return err
		}
		_, err = u.Save(ctx)
		return err
	})
	switch {
	case errors.Is(err, eventstore.ErrCommitUnknown):
		return groupcommit.FailAll(err)
	case errors.Is(err, eventstore.ErrConcurrency):
		return fmt.Errorf("payments keep changing under us: %w", err)
	}
	return err
}

// ClaimDue implements command.OwedCharges: it takes up to limit owed
// charges whose due time has passed, oldest first, and pushes their due time
// on by the grace period in the same statement, so that no other replica's
// sweep takes them before that lease runs out. Rows another sweep is taking
// right now are skipped.
func (p *Payments) ClaimDue(ctx context.Context, limit int) ([]command.Due, error) {
	rows, err := p.repo.Store().Pool().Query(ctx, `UPDATE payment_charges_owed SET due_at = now() + make_interval(secs => $2)
		WHERE payment_id IN (SELECT payment_id FROM payment_charges_owed WHERE due_at <= now()
			ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
		RETURNING payment_id, request_id, order_id, trace_parent`, limit, p.grace.Seconds())
	if err != nil {
		return nil, fmt.Errorf("claim owed charges: %w", err)
	}
	due, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (command.Due, error) {
		var d command.Due
		err := row.Scan(&d.PaymentID, &d.Cause.CausationID, &d.Cause.CorrelationID, &d.Cause.TraceParent)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim owed charges: %w", err)
	}
	return due, nil
}

// Unit is a unit of work over payments that keeps the charges owed in step
// with what it saves: a saved PaymentRequested adds its payment's charge,
// a saved outcome (captured, declined, failed) removes it — in the same
// transaction, so a charge is owed exactly while its payment is pending.
type Unit struct {
	*eventstore.Unit[domain.Payment]
	tx    pgx.Tx
	grace time.Duration
}

// Save saves every recorded event, then adds and removes the charges owed.
func (u *Unit) Save(ctx context.Context) ([]schema.Envelope, error) {
	saved, err := u.Unit.Save(ctx)
	if err != nil {
		return nil, err
	}
	var requested []schema.Envelope
	var settled []string
	for _, env := range saved {
		switch env.Payload.(type) {
		case schema.PaymentRequested:
			requested = append(requested, env)
		case schema.PaymentCaptured, schema.PaymentDeclined, schema.PaymentFailed:
			settled = append(settled, env.AggregateID)
		}
	}
	if len(requested) > 0 {
		payments, requests, orders, traces := make([]string, len(requested)), make([]string, len(requested)),
			make([]string, len(requested)), make([]string, len(requested))
		for i, env := range requested {
			payments[i], requests[i], orders[i], traces[i] = env.AggregateID, env.ID, env.CorrelationID, env.TraceParent
		}
		if _, err := u.tx.Exec(ctx, `INSERT INTO payment_charges_owed (payment_id, request_id, order_id, trace_parent, due_at)
			SELECT p, r, o, t, now() + make_interval(secs => $5) FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS x(p, r, o, t)
			ON CONFLICT (payment_id) DO NOTHING`, payments, requests, orders, traces, u.grace.Seconds()); err != nil {
			return nil, fmt.Errorf("add owed charges: %w", err)
		}
	}
	if len(settled) > 0 {
		if _, err := u.tx.Exec(ctx, `DELETE FROM payment_charges_owed WHERE payment_id = ANY($1)`, settled); err != nil {
			return nil, fmt.Errorf("remove owed charges: %w", err)
		}
	}
	return saved, nil
}
