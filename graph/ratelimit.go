package graph

import (
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/orderflow/orderflow/graph/model"
)

// limiters rate-limits each customer with a token bucket: a request (or a
// websocket's connection_init) takes a token; tokens come back at rate per
// second up to burst. Buckets of customers idle for longer than a full
// refill are dropped, so memory follows the active customers.
type limiters struct {
	rate  rate.Limit
	burst int

	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
	now       func() time.Time
}

func newLimiters(perSecond float64, burst int) *limiters {
	return &limiters{rate: rate.Limit(perSecond), burst: burst, buckets: map[string]*rate.Limiter{}, now: time.Now}
}

// allow takes a token of customer's bucket. If there is none, it says how
// long until there is one.
func (l *limiters) allow(customer string) (wait time.Duration, ok bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b, found := l.buckets[customer]
	if !found {
		b = rate.NewLimiter(l.rate, l.burst)
		l.buckets[customer] = b
	}
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// sweep drops full buckets (those of customers idle long enough to have
// refilled: a new bucket is the same), at most once per refill period.
func (l *limiters) sweep(now time.Time) {
	refill := time.Duration(float64(l.burst) / float64(l.rate) * float64(time.Second))
	if now.Sub(l.lastSweep) < refill {
		return
	}
	l.lastSweep = now
	for customer, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, customer)
		}
	}
}

// rateLimited is the error of a refused request; wait is rounded up to
// whole seconds, as Retry-After carries them.
func rateLimited(wait time.Duration) *model.Error {
	return &model.Error{Code: model.CodeRateLimited, Message: fmt.Sprintf(
		"too many requests for this customer; retry after %d s", retryAfterSeconds(wait))}
}

func retryAfterSeconds(wait time.Duration) int {
	return int(math.Max(1, math.Ceil(wait.Seconds())))
}
