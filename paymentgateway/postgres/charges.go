package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/paymentgateway/idempotency"
	"github.com/orderflow/orderflow/paymentgateway/psp"
)

// CreateCharge records ch and the reply that announces it under req's key, in
// one transaction. If the key was recorded first, nothing is written and the
// recorded reply is returned (Replayed): the caller decides whether it is a
// retry (same fingerprint) or a misuse of the key.
func (l *Ledger) CreateCharge(ctx context.Context, req idempotency.Request, ch psp.Charge, reply idempotency.Reply) (idempotency.Record, error) {
	rec, err := l.once(ctx, req, func(ctx context.Context, tx pgx.Tx) (idempotency.Reply, error) {
		_, err := tx.Exec(ctx, `
			INSERT INTO charges (id, idempotency_key, amount, currency, source, reference, description,
			                     status, failure_code, amount_refunded, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10)`,
			ch.ID, req.Key, ch.Amount, ch.Currency, ch.Source, ch.Reference, ch.Description,
			ch.Status, ch.FailureCode, ch.Created)
		if err != nil {
			return idempotency.Reply{}, fmt.Errorf("insert charge: %w", err)
		}
		return reply, nil
	})
	if err != nil {
		return idempotency.Record{}, fmt.Errorf("create charge: %w", err)
	}
	return rec, nil
}

const chargeColumns = `id, amount, currency, source, reference, description, status, failure_code, amount_refunded, created_at`

func scanCharge(row pgx.Row) (psp.Charge, error) {
	var ch psp.Charge
	err := row.Scan(&ch.ID, &ch.Amount, &ch.Currency, &ch.Source, &ch.Reference, &ch.Description,
		&ch.Status, &ch.FailureCode, &ch.AmountRefunded, &ch.Created)
	ch.Created = ch.Created.UTC()
	ch.Refunds = []psp.Refund{}
	return ch, err
}

// Charge returns a charge with its refunds, or psp.ErrNotFound.
func (l *Ledger) Charge(ctx context.Context, id string) (psp.Charge, error) {
	ch, err := scanCharge(l.pool.QueryRow(ctx, `SELECT `+chargeColumns+` FROM charges WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return psp.Charge{}, fmt.Errorf("charge %s: %w", id, psp.ErrNotFound)
	}
	if err != nil {
		return psp.Charge{}, fmt.Errorf("read charge: %w", err)
	}
	charges := []psp.Charge{ch}
	if err := l.attachRefunds(ctx, charges); err != nil {
		return psp.Charge{}, err
	}
	return charges[0], nil
}

// Charges returns a page of the ledger in creation order, each charge with
// its refunds, and whether more follow. An unknown q.StartingAfter is
// psp.ErrNotFound.
func (l *Ledger) Charges(ctx context.Context, q psp.ChargeQuery) ([]psp.Charge, bool, error) {
	var after int64
	if q.StartingAfter != "" {
		err := l.pool.QueryRow(ctx, `SELECT seq FROM charges WHERE id = $1`, q.StartingAfter).Scan(&after)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, false, fmt.Errorf("cursor %s: %w", q.StartingAfter, psp.ErrNotFound)
		}
		if err != nil {
			return nil, false, fmt.Errorf("read cursor: %w", err)
		}
	}
	// One row more than asked tells whether another page follows.
	rows, err := l.pool.Query(ctx, `
		SELECT `+chargeColumns+` FROM charges
		WHERE seq > $1 AND ($2 = '' OR reference = $2)
		ORDER BY seq LIMIT $3`, after, q.Reference, q.Limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("list charges: %w", err)
	}
	charges, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (psp.Charge, error) { return scanCharge(row) })
	if err != nil {
		return nil, false, fmt.Errorf("list charges: %w", err)
	}
	more := len(charges) > q.Limit
	if more {
		charges = charges[:q.Limit]
	}
	if err := l.attachRefunds(ctx, charges); err != nil {
		return nil, false, err
	}
	return charges, more, nil
}

func (l *Ledger) attachRefunds(ctx context.Context, charges []psp.Charge) error {
	if len(charges) == 0 {
		return nil
	}
	ids := make([]string, len(charges))
	index := make(map[string]int, len(charges))
	for i, ch := range charges {
		ids[i] = ch.ID
		index[ch.ID] = i
	}
	rows, err := l.pool.Query(ctx, `
		SELECT `+refundColumns+` FROM refunds WHERE charge_id = ANY($1) ORDER BY seq`, ids)
	if err != nil {
		return fmt.Errorf("read refunds: %w", err)
	}
	refunds, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (psp.Refund, error) { return scanRefund(row) })
	if err != nil {
		return fmt.Errorf("read refunds: %w", err)
	}
	for _, r := range refunds {
		i := index[r.ChargeID]
		charges[i].Refunds = append(charges[i].Refunds, r)
	}
	return nil
}
