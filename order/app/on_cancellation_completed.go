package app

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/order/domain"
	"github.com/orderflow/orderflow/schema"
)

// OnCancellationCompleted moves a cancelling order to CANCELLED once the
// compensation service has made sure captured money is refunded.
func (a *App) OnCancellationCompleted(ctx context.Context, tx pgx.Tx, in schema.Envelope, e schema.CancellationCompleted) error {
	return a.react(ctx, tx, in, e.OrderID, func(o *domain.Order) ([]schema.Event, error) {
		return o.CompleteCancellation(e.Reason, e.Refunded)
	})
}
