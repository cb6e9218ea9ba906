// Package query answers questions about sagas for operators and tests:
// where an order's compensation stands.
package query

import (
	"context"
	"errors"
	"time"

	"github.com/orderflow/orderflow/compensation/domain"
)

// ErrNotFound means no saga has started for the order.
var ErrNotFound = errors.New("saga not found")

// SagaLoader reads a saga outside any unit of work.
type SagaLoader interface {
	// Load returns the saga and its stream version; a saga that has not
	// started is returned as such, with version 0.
	Load(ctx context.Context, orderID string) (domain.Saga, int, error)
}

// Saga is what an order's compensation saga has seen and decided.
type Saga struct {
	OrderID         string
	Status          domain.Status
	Reason          string
	Amount          int64
	Captured        bool
	Capture         domain.Capture
	RefundRequested bool
	Refunded        bool
	PaymentDeadline time.Time
	// DeadlinePending tells whether the payment deadline can still fire.
	DeadlinePending bool
	Version         int
}

// SagaHandler answers "where does this order's saga stand?".
type SagaHandler struct{ sagas SagaLoader }

// NewSagaHandler returns the handler.
func NewSagaHandler(sagas SagaLoader) SagaHandler { return SagaHandler{sagas: sagas} }

// Handle returns the saga of orderID, or ErrNotFound.
func (h SagaHandler) Handle(ctx context.Context, orderID string) (Saga, error) {
	s, version, err := h.sagas.Load(ctx, orderID)
	if err != nil {
		return Saga{}, err
	}
	if !s.Started() {
		return Saga{}, ErrNotFound
	}
	capture, captured := s.Capture()
	return Saga{
		OrderID:         orderID,
		Status:          s.Status(),
		Reason:          s.Reason(),
		Amount:          s.Amount(),
		Captured:        captured,
		Capture:         capture,
		RefundRequested: s.RefundRequested(),
		Refunded:        s.Refunded(),
		PaymentDeadline: s.PaymentDeadline(),
		DeadlinePending: s.DeadlinePending(),
		Version:         version,
	}, nil
}
