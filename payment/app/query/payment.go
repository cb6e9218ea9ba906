// Package query answers questions about payments without changing them.
package query

import (
	"context"
	"fmt"

	"github.com/orderflow/orderflow/payment/domain"
)

// PaymentReader loads payments.
type PaymentReader interface {
	// Load returns the payment and its version (0: no such payment).
	Load(ctx context.Context, paymentID string) (domain.Payment, int, error)
}

// Payment is a payment as it stands now.
type Payment struct {
	ID            string
	OrderID       string
	Status        domain.Status
	Amount        int64
	Currency      string
	PaymentMethod string
	ChargeID      string
	RefundID      string
	FailureCode   string
	Attempts      int
	Version       int
}

// GetPayment returns the payment of an order.
type GetPayment struct {
	reader PaymentReader
}

// NewGetPayment returns the query.
func NewGetPayment(reader PaymentReader) GetPayment { return GetPayment{reader: reader} }

// Handle returns the payment of orderID, or an error wrapping
// domain.ErrNotFound.
func (q GetPayment) Handle(ctx context.Context, orderID string) (Payment, error) {
	p, version, err := q.reader.Load(ctx, domain.PaymentID(orderID))
	if err == nil && version == 0 {
		err = domain.ErrNotFound
	}
	if err != nil {
		return Payment{}, fmt.Errorf("payment of order %s: %w", orderID, err)
	}
	return Payment{
		ID:            p.ID(),
		OrderID:       p.OrderID(),
		Status:        p.Status(),
		Amount:        p.Amount(),
		Currency:      p.Currency(),
		PaymentMethod: p.PaymentMethod(),
		ChargeID:      p.ChargeID(),
		RefundID:      p.RefundID(),
		FailureCode:   p.FailureCode(),
		Attempts:      p.Attempts(),
		Version:       version,
	}, nil
}
