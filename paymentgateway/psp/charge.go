package psp

import (
	"time"
	"unicode/utf8"
)

// Limits of a charge request. MaxAmount matches the largest order total the
// gateway accepts, so any valid order can be charged.
const (
	MaxAmount         = 100_000_000
	MaxSourceLen      = 255
	MaxReferenceLen   = 255
	MaxDescriptionLen = 1000
	MaxIDLen          = 255
)

// Status is where a charge or refund ended up.
type Status string

// Charge and refund statuses.
const (
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
)

// ChargeRequest is what a caller asks to be charged.
type ChargeRequest struct {
	Amount      int64
	Currency    string
	Source      string
	Reference   string
	Description string
}

// Validate returns a *Error naming the first field to fix, or nil.
func (r ChargeRequest) Validate() error {
	switch {
	case r.Amount <= 0:
		return invalid("amount", "amount must be a positive integer in minor units (e.g. 1999 for 19.99)")
	case r.Amount > MaxAmount:
		return invalid("amount", "amount must be at most 100000000 minor units")
	case r.Currency == "":
		return missing("currency", "currency is required: a three-letter ISO 4217 code such as EUR")
	case !validCurrency(r.Currency):
		return invalid("currency", "currency must be a three-letter upper-case ISO 4217 code such as EUR")
	case r.Source == "":
		return missing("source", "source is required: a payment method token such as tok_visa")
	case len(r.Source) > MaxSourceLen || !utf8.ValidString(r.Source):
		return invalid("source", "source must be a token of at most 255 bytes")
	case len(r.Reference) > MaxReferenceLen || !utf8.ValidString(r.Reference):
		return invalid("reference", "reference must be at most 255 bytes of UTF-8")
	case len(r.Description) > MaxDescriptionLen || !utf8.ValidString(r.Description):
		return invalid("description", "description must be at most 1000 bytes of UTF-8")
	}
	return nil
}

func validCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for _, r := range c {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// Charge is an attempt to take money from a card, captured or declined. A
// declined charge is kept too: it is part of the ledger a caller reconciles.
type Charge struct {
	ID             string
	Amount         int64
	Currency       string
	Source         string
	Reference      string
	Description    string
	Status         Status
	FailureCode    FailureCode
	AmountRefunded int64
	Refunds        []Refund
	Created        time.Time
}

// NewCharge decides the outcome of a valid request whose token answers (it
// is not unavailable, nor a flaky attempt meant to fail). randomDecline turns
// a charge that would be captured into a card_declined one, for load tests.
func NewCharge(id string, req ChargeRequest, randomDecline bool, now time.Time) Charge {
	ch := Charge{
		ID:          id,
		Amount:      req.Amount,
		Currency:    req.Currency,
		Source:      req.Source,
		Reference:   req.Reference,
		Description: req.Description,
		Status:      StatusSucceeded,
		Refunds:     []Refund{},
		// Postgres keeps microseconds: truncating here makes the first answer
		// and every later read of the charge identical.
		Created: now.UTC().Truncate(time.Microsecond),
	}
	decline := RuleFor(req.Source).Decline
	if decline == "" && randomDecline {
		decline = FailureCardDeclined
	}
	if decline != "" {
		ch.Status = StatusFailed
		ch.FailureCode = decline
	}
	return ch
}

// Refundable is what is left to refund.
func (c Charge) Refundable() int64 {
	if c.Status != StatusSucceeded {
		return 0
	}
	return c.Amount - c.AmountRefunded
}

// Refunded reports whether the whole amount went back to the card.
func (c Charge) Refunded() bool {
	return c.Status == StatusSucceeded && c.AmountRefunded == c.Amount
}

// Limits of a page of the ledger.
const (
	DefaultPageSize = 10
	MaxPageSize     = 100
)

// ChargeQuery selects a page of the ledger, oldest first. Paging forward with
// StartingAfter (the last id of the previous page) walks every charge once.
type ChargeQuery struct {
	Reference     string // only charges with this reference, if set
	Limit         int
	StartingAfter string // a charge id
}

// Validate returns a *Error naming the first field to fix, or nil.
func (q ChargeQuery) Validate() error {
	if q.Limit < 1 || q.Limit > MaxPageSize {
		return invalid("limit", "limit must be an integer between 1 and 100")
	}
	return nil
}
