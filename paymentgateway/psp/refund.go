package psp

import (
	"fmt"
	"time"
)

// Refund gives back (part of) a captured charge.
type Refund struct {
	ID       string
	ChargeID string
	Amount   int64
	Currency string
	Status   Status
	Created  time.Time
}

// RefundRequest asks to refund a charge. A nil Amount means all that is left.
type RefundRequest struct {
	Charge string
	Amount *int64
}

// Validate returns a *Error naming the first field to fix, or nil.
func (r RefundRequest) Validate() error {
	switch {
	case r.Charge == "":
		return missing("charge", "charge is required: the id of the charge to refund (ch_…)")
	case len(r.Charge) > MaxIDLen:
		return invalid("charge", "charge must be a charge id (ch_…)")
	case r.Amount != nil && *r.Amount <= 0:
		return invalid("amount", "amount must be a positive integer in minor units, or left out to refund what remains")
	}
	return nil
}

// Refund decides whether req can be granted and returns the refund. It does
// not change c: the store applies the refund in the same transaction that
// holds the charge locked, so that concurrent refunds see each other.
func (c Charge) Refund(id string, req RefundRequest, now time.Time) (Refund, error) {
	if c.Status != StatusSucceeded {
		return Refund{}, &Error{Code: CodeChargeNotRefundable,
			Message: fmt.Sprintf("charge %s was not captured (status %s): there is nothing to refund", c.ID, c.Status)}
	}
	left := c.Refundable()
	if left == 0 {
		return Refund{}, &Error{Code: CodeChargeAlreadyRefunded,
			Message: fmt.Sprintf("charge %s has already been refunded in full", c.ID)}
	}
	amount := left
	if req.Amount != nil {
		amount = *req.Amount
	}
	if amount > left {
		return Refund{}, &Error{Code: CodeAmountTooLarge, Param: "amount",
			Message: fmt.Sprintf("refund amount %d is greater than the %d left to refund on charge %s", amount, left, c.ID)}
	}
	return Refund{
		ID:       id,
		ChargeID: c.ID,
		Amount:   amount,
		Currency: c.Currency,
		Status:   StatusSucceeded,
		Created:  now.UTC().Truncate(time.Microsecond),
	}, nil
}
