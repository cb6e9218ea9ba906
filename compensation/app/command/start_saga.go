package command

import (
	"context"
	"time"

	"github.com/orderflow/orderflow/compensation/domain"
	"github.com/orderflow/orderflow/schema"
)

// StartSaga is the fact that an order was created.
type StartSaga struct {
	OrderID string
	Amount  int64
	// CreatedAt is when the order was created: the payment deadline counts
	// from it, not from when compensation got to hear of it.
	CreatedAt time.Time
	Cause     schema.Cause
}

// StartSagaHandler starts an order's saga with its payment deadline.
type StartSagaHandler struct {
	paymentTimeout time.Duration
	now            Clock
}

// NewStartSagaHandler returns the handler; payments not captured within
// paymentTimeout of the order's creation time out.
func NewStartSagaHandler(paymentTimeout time.Duration, now Clock) StartSagaHandler {
	return StartSagaHandler{paymentTimeout: paymentTimeout, now: now}
}

// Handle records SagaStarted, unless the saga has already started.
func (h StartSagaHandler) Handle(ctx context.Context, sagas Sagas, cmd StartSaga) error {
	return decide(ctx, sagas, cmd.OrderID, cmd.Cause, h.now(), func(s domain.Saga) ([]schema.Event, error) {
		return s.Start(cmd.OrderID, cmd.Amount, cmd.CreatedAt.Add(h.paymentTimeout))
	})
}
