package loadbench

import "time"

// Arrival is when the schedule starts order i (from 0) at rate orders per
// second from start: evenly spaced, computed from i rather than by adding
// intervals, so rounding never drifts.
func Arrival(start time.Time, rate, i int) time.Time {
	return start.Add(time.Duration(int64(i) * int64(time.Second) / int64(rate)))
}

// The payment methods of the load: a card that is captured and one that is
// declined, which takes the compensation path to CANCELLED.
const (
	TokenCaptured = "tok_visa"
	TokenDeclined = "tok_chargeDeclined"
)

// Token is the payment method of order i when share of the orders are
// declined: the declined ones are spread evenly (order i is declined when
// the running count of declines due steps up at i), so every window of the
// schedule holds its share.
func Token(i int, share float64) string {
	if int(float64(i+1)*share) > int(float64(i)*share) {
		return TokenDeclined
	}
	return TokenCaptured
}
