package command

import (
	"context"
	"fmt"
	"time"

	"github.com/orderflow/orderflow/schema"
)

// FireDeadline is the fact that an order's stored payment deadline is due.
type FireDeadline struct {
	OrderID string
	Now     time.Time
}

// FireDeadlineHandler cancels orders whose payment was not captured in time.
type FireDeadlineHandler struct{}

// NewFireDeadlineHandler returns the handler.
func NewFireDeadlineHandler() FireDeadlineHandler { return FireDeadlineHandler{} }

// Handle records CancellationDecided{PAYMENT_TIMEOUT} if the saga is still
// active with nothing captured. No message caused it, so its cause is the
// SagaStarted event that set the deadline.
func (FireDeadlineHandler) Handle(ctx context.Context, sagas Sagas, cmd FireDeadline) error {
	saga, _, err := sagas.Get(ctx, cmd.OrderID)
	if err != nil {
		return err
	}
	events, err := saga.Saga.DeadlinePassed(cmd.Now)
	if err != nil {
		return fmt.Errorf("deadline of order %s: %w", cmd.OrderID, err)
	}
	return record(ctx, sagas, cmd.OrderID, events, schema.Cause{CausationID: saga.StartedBy}, cmd.Now)
}
