package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/paymentgateway/idempotency"
	"github.com/orderflow/orderflow/paymentgateway/psp"
)

// CreateRefund locks charge chargeID and hands it to decide (nil if there is
// no such charge), which returns the refund to make (nil for none) and the
// reply that announces the decision. The refund, the charge's new refunded
// amount and the reply are recorded under req's key in one transaction. The lock makes concurrent refunds of one
// charge take turns, so together they can never exceed its amount. If the key
// was recorded first, nothing is written and the recorded reply is returned.
func (l *Ledger) CreateRefund(ctx context.Context, req idempotency.Request, chargeID string, decide func(ch *psp.Charge) (*psp.Refund, idempotency.Reply)) (idempotency.Record, error) {
	rec, err := l.once(ctx, req, func(ctx context.Context, tx pgx.Tx) (idempotency.Reply, error) {
		var locked *psp.Charge
		ch, err := scanCharge(tx.QueryRow(ctx, `SELECT `+chargeColumns+` FROM charges WHERE id = $1 FOR UPDATE`, chargeID))
		switch {
		case err == nil:
			locked = &ch
		case !errors.Is(err, pgx.ErrNoRows):
			return idempotency.Reply{}, fmt.Errorf("lock charge: %w", err)
		}
		refund, reply := decide(locked)
		if refund == nil {
			return reply, nil
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO refunds (id, idempotency_key, charge_id, amount, currency, status, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			refund.ID, req.Key, refund.ChargeID, refund.Amount, refund.Currency, refund.Status, refund.Created); err != nil {
			return idempotency.Reply{}, fmt.Errorf("insert refund: %w", err)
		}
		if _, err := tx.Exec(ctx, `
			UPDATE charges SET amount_refunded = amount_refunded + $2 WHERE id = $1`,
			refund.ChargeID, refund.Amount); err != nil {
			return idempotency.Reply{}, fmt.Errorf("apply refund: %w", err)
		}
		return reply, nil
	})
	if err != nil {
		return idempotency.Record{}, fmt.Errorf("create refund: %w", err)
	}
	return rec, nil
}

const refundColumns = `id, charge_id, amount, currency, status, created_at`

func scanRefund(row pgx.Row) (psp.Refund, error) {
	var r psp.Refund
	err := row.Scan(&r.ID, &r.ChargeID, &r.Amount, &r.Currency, &r.Status, &r.Created)
	r.Created = r.Created.UTC()
	return r, err
}
