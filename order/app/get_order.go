package app

import (
	"context"

	"github.com/orderflow/orderflow/order/domain"
)

// GetOrder returns the order as its event stream says now.
func (a *App) GetOrder(ctx context.Context, orderID string) (*domain.Order, error) {
	return a.load(ctx, a.pool, orderID)
}
