package app

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/order/domain"
	"github.com/orderflow/orderflow/schema"
)

// OnPaymentCaptured marks a pending order PAID. A capture of an order that is
// being or was cancelled is left to the compensation service to refund.
func (a *App) OnPaymentCaptured(ctx context.Context, tx pgx.Tx, in schema.Envelope, e schema.PaymentCaptured) error {
	return a.react(ctx, tx, in, e.OrderID, func(o *domain.Order) ([]schema.Event, error) {
		return o.MarkPaid(e.PaymentID, e.Amount)
	})
}
