package psp

// Behaviour is what the processor does when it is handed a token, before any
// decision about the card itself.
type Behaviour int

const (
	// Answer now with the charge's outcome (captured or declined).
	Answer Behaviour = iota
	// Slow charges are committed first and answered late, after the caller's
	// timeout, so that callers prove their retries reuse the idempotency key.
	Slow
	// Flaky tokens fail with 503 for the first attempts of each idempotency
	// key, then are captured: callers prove they retry.
	Flaky
	// Unavailable tokens always fail with 503: callers prove they give up.
	Unavailable
)

// Failure codes of a declined charge.
const (
	FailureCardDeclined         FailureCode = "card_declined"
	FailureInsufficientFunds    FailureCode = "insufficient_funds"
	FailureInvalidPaymentMethod FailureCode = "invalid_payment_method"
)

// FailureCode says why a card was declined.
type FailureCode string

// Message is the human-readable explanation of a decline.
func (c FailureCode) Message() string {
	switch c {
	case FailureCardDeclined:
		return "Your card was declined."
	case FailureInsufficientFunds:
		return "Your card has insufficient funds."
	case FailureInvalidPaymentMethod:
		return "The payment method is not a known card token."
	}
	return ""
}

// Rule is how the processor treats one token: its behaviour and, if the card
// is declined, why. A zero Decline means the card is captured.
type Rule struct {
	Behaviour Behaviour
	Decline   FailureCode
}

// RuleFor returns how the processor treats a token, as documented in
// DESIGN.md; callers rely on these names, so they must not change. Unknown
// tokens are declined as invalid_payment_method, the way a real processor
// declines a card it cannot read.
func RuleFor(source string) Rule {
	switch source {
	case "tok_visa", "tok_mastercard":
		return Rule{Behaviour: Answer}
	case "tok_chargeDeclined":
		return Rule{Behaviour: Answer, Decline: FailureCardDeclined}
	case "tok_insufficientFunds":
		return Rule{Behaviour: Answer, Decline: FailureInsufficientFunds}
	case "tok_slow":
		return Rule{Behaviour: Slow}
	case "tok_flaky":
		return Rule{Behaviour: Flaky}
	case "tok_unavailable":
		return Rule{Behaviour: Unavailable}
	}
	return Rule{Behaviour: Answer, Decline: FailureInvalidPaymentMethod}
}
