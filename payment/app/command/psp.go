package command

import (
	"context"
	"errors"
	"fmt"
)

// PSP is the card processor as the payment service needs it. Calls that
// move money take an idempotency key: repeated with the same key and input,
// they return the first result and never move money twice.
type PSP interface {
	// Charge asks for a charge. A declined card is a Charge that did not
	// succeed, not an error.
	Charge(ctx context.Context, idempotencyKey string, req ChargeRequest) (Charge, error)
	// FindCharges returns the charges made with reference, oldest first.
	FindCharges(ctx context.Context, reference string) ([]Charge, error)
	// Refund gives money back on a charge.
	Refund(ctx context.Context, idempotencyKey string, req RefundRequest) (Refund, error)
}

// ChargeRequest asks to charge Amount (minor units) to the card Source.
type ChargeRequest struct {
	Amount      int64
	Currency    string
	Source      string
	Reference   string
	Description string
}

// Charge is the PSP's record of a charge.
type Charge struct {
	ID        string
	Succeeded bool
	// FailureCode says why a charge that did not succeed was declined.
	FailureCode string
}

// RefundRequest asks to give Amount back on charge ChargeID.
type RefundRequest struct {
	ChargeID string
	Amount   int64
}

// Refund is the PSP's record of a refund.
type Refund struct {
	ID string
}

// Errors a PSP returns, wrapped, so the use cases know whether to retry and
// whether money may have moved.
var (
	// ErrPSPUnavailable: the PSP answered that it cannot serve the call now
	// (5xx, 429) or could not be reached at all. Nothing was done; the same
	// call may succeed later.
	ErrPSPUnavailable = errors.New("psp unavailable")
	// ErrPSPNoAnswer: the call was sent but no answer came in time. It may
	// have been carried out; repeat it with the same idempotency key to
	// learn the outcome.
	ErrPSPNoAnswer = errors.New("psp did not answer")
)

// PSPRejectedError is a call the PSP refused (a 4xx other than a decline):
// repeating it cannot succeed.
type PSPRejectedError struct {
	StatusCode int
	Code       string
	Message    string
}

func (e *PSPRejectedError) Error() string {
	return fmt.Sprintf("psp rejected the call: %d %s: %s", e.StatusCode, e.Code, e.Message)
}
