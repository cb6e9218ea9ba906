package command

import (
	"context"

	"github.com/orderflow/orderflow/compensation/domain"
	"github.com/orderflow/orderflow/schema"
)

// SettleSaga is the fact that the order service marked an order PAID.
type SettleSaga struct {
	OrderID string
	Cause   schema.Cause
}

// SettleSagaHandler settles the saga of a paid order.
type SettleSagaHandler struct{ now Clock }

// NewSettleSagaHandler returns the handler.
func NewSettleSagaHandler(now Clock) SettleSagaHandler { return SettleSagaHandler{now: now} }

// Handle records SagaSettled if the saga is active or its cancel only decided.
func (h SettleSagaHandler) Handle(ctx context.Context, sagas Sagas, cmd SettleSaga) error {
	return decide(ctx, sagas, cmd.OrderID, cmd.Cause, h.now(), func(s domain.Saga) ([]schema.Event, error) {
		return s.OrderPaid()
	})
}
