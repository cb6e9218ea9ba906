package app

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/order/domain"
	"github.com/orderflow/orderflow/schema"
)

// OnCancellationDecided applies the compensation service's decision to
// cancel a pending order (declined, failed or late payment).
func (a *App) OnCancellationDecided(ctx context.Context, tx pgx.Tx, in schema.Envelope, e schema.CancellationDecided) error {
	return a.react(ctx, tx, in, e.OrderID, func(o *domain.Order) ([]schema.Event, error) {
		return o.DecideCancellation(e.Reason)
	})
}
