package domain

import (
	"fmt"

	"github.com/orderflow/orderflow/schema"
)

// Request decides the payment of a newly created order: the order's total,
// in its currency, with its payment method.
func Request(order schema.OrderCreated) (schema.PaymentRequested, error) {
	switch {
	case order.OrderID == "":
		return schema.PaymentRequested{}, fmt.Errorf("%w: the order has no id", ErrInvalid)
	case order.Total <= 0:
		return schema.PaymentRequested{}, fmt.Errorf("%w: order %s has a total of %d; it must be positive",
			ErrInvalid, order.OrderID, order.Total)
	case order.Currency == "":
		return schema.PaymentRequested{}, fmt.Errorf("%w: order %s has no currency", ErrInvalid, order.OrderID)
	case order.PaymentMethod == "":
		return schema.PaymentRequested{}, fmt.Errorf("%w: order %s has no payment method", ErrInvalid, order.OrderID)
	}
	return schema.PaymentRequested{
		PaymentID:     PaymentID(order.OrderID),
		OrderID:       order.OrderID,
		Amount:        order.Total,
		Currency:      order.Currency,
		PaymentMethod: order.PaymentMethod,
	}, nil
}

// Capture records that the PSP took the money with charge chargeID.
func (p Payment) Capture(chargeID string) (schema.PaymentCaptured, error) {
	if chargeID == "" {
		return schema.PaymentCaptured{}, fmt.Errorf("%w: a capture needs the PSP's charge id", ErrInvalid)
	}
	ev := schema.PaymentCaptured{PaymentID: p.id, OrderID: p.orderID, Amount: p.amount, ChargeID: chargeID}
	return ev, p.check(ev)
}

// Decline records that the card said no, with the PSP's code. chargeID is
// the declined charge, if the PSP made one.
func (p Payment) Decline(code, chargeID string) (schema.PaymentDeclined, error) {
	if code == "" {
		return schema.PaymentDeclined{}, fmt.Errorf("%w: a decline needs the PSP's code", ErrInvalid)
	}
	ev := schema.PaymentDeclined{PaymentID: p.id, OrderID: p.orderID, Amount: p.amount, ChargeID: chargeID, Code: code}
	return ev, p.check(ev)
}

// Fail records that no outcome could be had from the PSP after attempts calls.
func (p Payment) Fail(code string, attempts int) (schema.PaymentFailed, error) {
	if code == "" || attempts < 1 {
		return schema.PaymentFailed{}, fmt.Errorf("%w: a failure needs a code and at least one attempt", ErrInvalid)
	}
	ev := schema.PaymentFailed{PaymentID: p.id, OrderID: p.orderID, Amount: p.amount, Code: code, Attempts: attempts}
	return ev, p.check(ev)
}

// CanRefund says whether a refund of amount on chargeID may be asked of the
// PSP: the payment must be captured by that very charge, and the refund must
// be of the whole amount (this service refunds captures in full, so that
// REFUNDED means no money is kept).
func (p Payment) CanRefund(chargeID string, amount int64) error {
	if p.status != StatusCaptured {
		return fmt.Errorf("%w: cannot refund a %s payment", ErrIllegalTransition, p.status)
	}
	if chargeID != p.chargeID {
		return fmt.Errorf("%w: refund of charge %q, but payment %s was captured by charge %q",
			ErrInvalid, chargeID, p.id, p.chargeID)
	}
	if amount != p.amount {
		return fmt.Errorf("%w: refund of %d, but payment %s captured %d", ErrInvalid, amount, p.id, p.amount)
	}
	return nil
}

// Refund records that the PSP gave the captured amount back with refund
// refundID.
func (p Payment) Refund(chargeID, refundID string, amount int64) (schema.PaymentRefunded, error) {
	if err := p.CanRefund(chargeID, amount); err != nil {
		return schema.PaymentRefunded{}, err
	}
	if refundID == "" {
		return schema.PaymentRefunded{}, fmt.Errorf("%w: a refund needs the PSP's refund id", ErrInvalid)
	}
	ev := schema.PaymentRefunded{PaymentID: p.id, OrderID: p.orderID, Amount: amount, ChargeID: chargeID, RefundID: refundID}
	return ev, p.check(ev)
}

// check refuses ev unless it follows from the payment's status.
func (p Payment) check(ev schema.Event) error {
	_, err := p.Apply(ev)
	return err
}
