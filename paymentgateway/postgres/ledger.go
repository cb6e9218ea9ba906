// Package postgres keeps the processor's ledger in PostgreSQL: charges,
// refunds, the first answer given under each idempotency key, and attempt
// counts. Every change that moves money is written in one transaction with
// the idempotency key that caused it, so a retry, a concurrent duplicate or a
// crash between the two can never charge or refund twice.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderflow/orderflow/paymentgateway/idempotency"
	"github.com/orderflow/orderflow/platform/pgmigrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate brings the ledger's tables up to date.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	if err := pgmigrate.Run(ctx, pool, pgmigrate.Set{Name: "paymentgateway", FS: migrations, Dir: "migrations"}); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Ledger is the processor's durable state.
type Ledger struct {
	pool *pgxpool.Pool
}

// NewLedger returns a Ledger on pool, whose database Migrate has prepared.
func NewLedger(pool *pgxpool.Pool) *Ledger {
	return &Ledger{pool: pool}
}

// Ping reports whether the database answers.
func (l *Ledger) Ping(ctx context.Context) error {
	return l.pool.Ping(ctx)
}

// Recorded returns the answer recorded under req's key, if any. It does not
// lock: a request that finds nothing must still go through once, which
// settles races with concurrent requests.
func (l *Ledger) Recorded(ctx context.Context, req idempotency.Request) (idempotency.Record, bool, error) {
	rec, err := recorded(ctx, l.pool, req)
	if errors.Is(err, pgx.ErrNoRows) {
		return idempotency.Record{}, false, nil
	}
	if err != nil {
		return idempotency.Record{}, false, fmt.Errorf("read key: %w", err)
	}
	return rec, true, nil
}

// CountAttempt counts one more attempt under req's key and returns the count,
// including this one.
func (l *Ledger) CountAttempt(ctx context.Context, req idempotency.Request) (int, error) {
	var n int
	err := l.pool.QueryRow(ctx, `
		INSERT INTO attempts (endpoint, key, count) VALUES ($1, $2, 1)
		ON CONFLICT (endpoint, key) DO UPDATE SET count = attempts.count + 1, last_at = now()
		RETURNING count`, req.Endpoint, req.Key).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count attempt: %w", err)
	}
	return n, nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func recorded(ctx context.Context, q querier, req idempotency.Request) (idempotency.Record, error) {
	rec := idempotency.Record{Replayed: true}
	err := q.QueryRow(ctx, `
		SELECT fingerprint, status_code, body FROM idempotency_keys WHERE endpoint = $1 AND key = $2`,
		req.Endpoint, req.Key).Scan(&rec.Fingerprint, &rec.Reply.Status, &rec.Reply.Body)
	return rec, err
}

// errKeyTaken ends the transaction of a request whose key was recorded first.
var errKeyTaken = errors.New("idempotency key taken")

// errNotStored ends the transaction of a request whose reply must not be kept.
var errNotStored = errors.New("reply not storable")

// once runs work in a transaction that holds req's key, and records work's
// reply under the key in that same transaction. If the key is already
// recorded — earlier, or by a concurrent request, which this one waits for —
// work does not run and the recorded reply is returned instead (Replayed).
// A reply that is not storable (5xx) rolls everything back.
func (l *Ledger) once(ctx context.Context, req idempotency.Request, work func(ctx context.Context, tx pgx.Tx) (idempotency.Reply, error)) (idempotency.Record, error) {
	var reply idempotency.Reply
	err := pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
		// The placeholder is invisible to others until commit. A concurrent
		// insert of the same key blocks on it, then does nothing once this
		// transaction commits, or proceeds if it rolls back.
		tag, err := tx.Exec(ctx, `
			INSERT INTO idempotency_keys (endpoint, key, fingerprint, status_code, body)
			VALUES ($1, $2, $3, 0, '') ON CONFLICT (endpoint, key) DO NOTHING`,
			req.Endpoint, req.Key, req.Fingerprint)
		if err != nil {
			return fmt.Errorf("claim key: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return errKeyTaken
		}
		if reply, err = work(ctx, tx); err != nil {
			return err
		}
		if !reply.Storable() {
			return errNotStored
		}
		body := reply.Body
		if body == nil {
			body = []byte{} // an empty answer, not an unknown one
		}
		if _, err := tx.Exec(ctx, `
			UPDATE idempotency_keys SET status_code = $3, body = $4 WHERE endpoint = $1 AND key = $2`,
			req.Endpoint, req.Key, reply.Status, body); err != nil {
			return fmt.Errorf("record reply: %w", err)
		}
		return nil
	})
	switch {
	case errors.Is(err, errKeyTaken):
		rec, err := recorded(ctx, l.pool, req)
		if err != nil {
			return idempotency.Record{}, fmt.Errorf("read key: %w", err)
		}
		return rec, nil
	case errors.Is(err, errNotStored):
		return idempotency.Record{Fingerprint: req.Fingerprint, Reply: reply}, nil
	case err != nil:
		return idempotency.Record{}, err
	}
	return idempotency.Record{Fingerprint: req.Fingerprint, Reply: reply}, nil
}
