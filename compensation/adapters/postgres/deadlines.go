package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/compensation/app/command"
)

// Deadlines finds due payment deadlines and hands them to a use case in a
// transaction that holds their row locks.
type Deadlines struct {
	sagas *Sagas
	log   *slog.Logger
	// retryAfter postpones a deadline whose handling failed, so that a
	// saga that keeps failing cannot starve the deadlines behind it.
	retryAfter time.Duration
}

// NewDeadlines returns the deadline store, firing deadlines on units of
// sagas.
func NewDeadlines(sagas *Sagas, log *slog.Logger) *Deadlines {
	return &Deadlines{sagas: sagas, log: log, retryAfter: time.Second}
}

// FireDue locks up to limit deadlines due at now — skipping those another
// replica or a consumer holds, so no deadline fires twice — and calls fire
// for each on one unit of work: one query loads their sagas, one save
// writes what was decided and deletes the deadlines that cannot fire any
// more. If that fails, the batch is rolled back to a savepoint (the locks
// stay) and each deadline is fired on a unit of its own in a savepoint of
// its own, so a deadline whose fire fails is rolled back alone and tried
// again after a pause. FireDue returns how many deadlines it locked.
func (d *Deadlines) FireDue(ctx context.Context, now time.Time, limit int,
	fire func(ctx context.Context, sagas command.Sagas, orderID string) error) (int, error) {
	var locked int
	err := d.sagas.repo.Store().Tx(ctx, func(tx pgx.Tx) error {
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
		if locked == 0 {
			return nil
		}
		err = d.fire(ctx, tx, orderIDs, fire)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case locked == 1:
			return d.postpone(ctx, tx, orderIDs[0], now, err)
		}
		d.log.DebugContext(ctx, "payment deadlines not fired together, firing them one by one",
			"deadlines", locked, "err", err)
		for _, orderID := range orderIDs {
			err := d.fire(ctx, tx, []string{orderID}, fire)
			if err == nil {
				continue
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err := d.postpone(ctx, tx, orderID, now, err); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("fire deadlines: %w", err)
	}
	return locked, nil
}

// fire fires the deadlines of orderIDs on one unit in a savepoint of tx.
// The unit keeps the deadline rows of every saga it fired in step, even of
// one whose fire decided nothing: a row left behind by a saga that cannot
// time out any more is dropped instead of being fired on every poll.
func (d *Deadlines) fire(ctx context.Context, tx pgx.Tx, orderIDs []string,
	fire func(ctx context.Context, sagas command.Sagas, orderID string) error) error {
	return pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
		unit, err := d.sagas.Begin(ctx, sp, orderIDs...)
		if err != nil {
			return err
		}
		for _, orderID := range orderIDs {
			if err := fire(ctx, unit, orderID); err != nil {
				return err
			}
		}
		unit.sync(orderIDs...)
		return unit.Save(ctx)
	})
}

// postpone logs why the deadline of orderID was not fired and moves it
// retryAfter past now.
func (d *Deadlines) postpone(ctx context.Context, tx pgx.Tx, orderID string, now time.Time, cause error) error {
	d.log.WarnContext(ctx, "payment deadline not fired, will retry", "order_id", orderID,
		"retry_in", d.retryAfter.String(), "err", cause)
	if _, err := tx.Exec(ctx, `UPDATE deadlines SET due_at = $2 WHERE order_id = $1`,
		orderID, now.Add(d.retryAfter)); err != nil {
		return fmt.Errorf("postpone deadline: %w", err)
	}
	return nil
}

// Pending counts the deadlines that can still fire.
func (d *Deadlines) Pending(ctx context.Context) (int, error) {
	var n int
	if err := d.sagas.repo.Store().Pool().QueryRow(ctx, `SELECT count(*) FROM deadlines`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count deadlines: %w", err)
	}
	return n, nil
}

// Overdue counts the sagas whose payment deadline passed more than grace
// ago, by the database's clock, and is still stored: sagas neither paid
// nor cancelled that the poller has not fired. The due_at index answers
// it by reading the overdue rows only.
func (d *Deadlines) Overdue(ctx context.Context, grace time.Duration) (int, error) {
	var n int
	if err := d.sagas.repo.Store().Pool().QueryRow(ctx,
		`SELECT count(*) FROM deadlines WHERE due_at < now() - make_interval(secs => $1)`,
		grace.Seconds()).Scan(&n); err != nil {
		return 0, fmt.Errorf("count overdue deadlines: %w", err)
	}
	return n, nil
}
