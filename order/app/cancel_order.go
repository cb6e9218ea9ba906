package app

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/order/domain"
	"github.com/orderflow/orderflow/schema"
)

// CancelOrder is a customer's request to cancel an order.
type CancelOrder struct {
	OrderID     string
	Note        string
	RequestID   string
	TraceParent string
}

// CancelOrder moves a PENDING or PAID order to CANCELLING; the compensation
// service takes it to CANCELLED, refunding what was captured. Cancelling a
// cancelling or cancelled order changes nothing and returns it.
func (a *App) CancelOrder(ctx context.Context, cmd CancelOrder) (*domain.Order, error) {
	var out *domain.Order
	err := retryOnConflict(func() error {
		return a.store.Tx(ctx, func(tx pgx.Tx) error {
			o, err := a.load(ctx, tx, cmd.OrderID)
			if err != nil {
				return err
			}
			events, err := o.RequestCancellation(schema.ReasonCustomerRequest, cmd.Note)
			if err != nil {
				return err
			}
			cause := schema.Cause{CorrelationID: o.ID, CausationID: cmd.RequestID, TraceParent: cmd.TraceParent}
			if err := a.record(ctx, tx, o, events, cause); err != nil {
				return err
			}
			out = o
			return nil
		})
	})
	return out, err
}
