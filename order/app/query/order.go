// Package query holds the order service's read use case: an order as its
// event stream says now.
package query

import (
	"context"

	"github.com/orderflow/orderflow/order/domain"
)

// OrderLoader loads an order outside any unit of work; version 0 means it
// does not exist.
type OrderLoader interface {
	Load(ctx context.Context, id string) (domain.Order, int, error)
}

// OrderHandler returns an order.
type OrderHandler struct{ orders OrderLoader }

// NewOrderHandler returns the handler reading from orders.
func NewOrderHandler(orders OrderLoader) OrderHandler { return OrderHandler{orders: orders} }

// Handle returns order id; a missing order is NOT_FOUND.
func (h OrderHandler) Handle(ctx context.Context, id string) (domain.Order, error) {
	o, version, err := h.orders.Load(ctx, id)
	if err != nil {
		return domain.Order{}, err
	}
	if version == 0 {
		return domain.Order{}, domain.Errorf(domain.CodeNotFound, "order %s does not exist", id)
	}
	return o, nil
}
