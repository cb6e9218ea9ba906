package command

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// RetryPolicy bounds how the service insists with the PSP for one charge:
// how many calls, how long each may take, and how long to wait between them.
type RetryPolicy struct {
	// Attempts is the number of calls, the first included.
	Attempts int
	// Timeout bounds one call: a PSP that answers later is treated as not
	// answering, and the call is repeated with the same idempotency key.
	Timeout time.Duration
	// Initial is the wait before the first retry; each further wait doubles,
	// up to Max.
	Initial time.Duration
	Max     time.Duration
}

// Validate reports a policy that could never make a call or never wait.
func (p RetryPolicy) Validate() error {
	var errs []error
	if p.Attempts < 1 {
		errs = append(errs, errors.New("attempts must be at least 1"))
	}
	if p.Timeout <= 0 {
		errs = append(errs, errors.New("the call timeout must be positive"))
	}
	if p.Initial <= 0 {
		errs = append(errs, errors.New("the initial backoff must be positive"))
	}
	if p.Max < p.Initial {
		errs = append(errs, errors.New("the maximum backoff must not be below the initial one"))
	}
	return errors.Join(errs...)
}

// Backoff returns the wait before retry n (1 for the first retry): Initial
// doubled n-1 times, capped at Max, then jittered over [d/2, d] so that many
// payments failing together do not retry in lockstep.
func (p RetryPolicy) Backoff(n int) time.Duration {
	d := p.ceiling(n)
	return d/2 + rand.N(d/2+1)
}

// ceiling is the longest wait before retry n.
func (p RetryPolicy) ceiling(n int) time.Duration {
	d := p.Initial
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// Budget returns the longest a charge can take under the policy: every
// call timing out, every wait at its longest, and the final lookup.
func (p RetryPolicy) Budget() time.Duration {
	total := time.Duration(p.Attempts+1) * p.Timeout
	for n := 1; n < p.Attempts; n++ {
		total += p.ceiling(n)
	}
	return total
}

// sleep waits d unless ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
