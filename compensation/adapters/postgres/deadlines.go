package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderflow/orderflow/compensation/app/command"
	"github.com/orderflow/orderflow/platform/eventstore"
)

// Deadlines finds due payment deadlines and hands each to a use case in a
// transaction that holds the deadline's row lock.
type Deadlines struct {
	pool  *pgxpool.Pool
	store *eventstore.Store
	log   *slog.Logger
	// retryAfter postpones a deadline whose handling failed, so that a
	// saga that keeps failing cannot starve the deadlines behind it.
	retryAfter time.Duration
}

// NewDeadlines returns the deadline store.
func NewDeadlines(pool *pgxpool.Pool, store *eventstore.Store, log *slog.Logger) *Deadlines {
	return &Deadlines{pool: pool, store: store, log: log, retryAfter: time.Second}
}

// FireDue locks up to limit deadlines due at now — skipping those another
// replica holds, so no deadline fires twice — and calls fire for each in a
// savepoint of one transaction. fire is expected to leave the saga's
// deadline row deleted once it no longer applies (Sagas.Save does). A
// deadline whose fire fails is rolled back alone and tried again after a
// pause. FireDue returns how many deadlines it locked.
func (d *Deadlines) FireDue(ctx context.Context, now time.Time, limit int,
	fire func(ctx context.Context, sagas command.SagaRepository, orderID string) error) (int, error) {
	var locked int
	err := d.store.Tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT order_id FROM deadlines WHERE due_at <= $1
			ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit)
		if err != nil {
			return fmt.Errorf("select due deadlines: %w", err)
		}
		orderIDs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("select due deadlines: %w", err)
		}
		locked = len(orderIDs)
		for _, orderID := range orderIDs {
			err := pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
				return fire(ctx, NewSagas(d.store, sp), orderID)
			})
			if err == nil {
				continue
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			d.log.WarnContext(ctx, "payment deadline not fired, will retry", "order_id", orderID,
				"retry_in", d.retryAfter.String(), "err", err)
			if _, err := tx.Exec(ctx, `UPDATE deadlines SET due_at = $2 WHERE order_id = $1`,
				orderID, now.Add(d.retryAfter)); err != nil {
				return fmt.Errorf("postpone deadline: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("fire deadlines: %w", err)
	}
	return locked, nil
}

// Pending counts the deadlines that can still fire.
func (d *Deadlines) Pending(ctx context.Context) (int, error) {
	var n int
	if err := d.pool.QueryRow(ctx, `SELECT count(*) FROM deadlines`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count deadlines: %w", err)
	}
	return n, nil
}
