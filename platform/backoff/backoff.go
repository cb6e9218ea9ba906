// Package backoff holds the two primitives every retry loop in orderflow
// uses: a sleep that ends early when the context does, and jitter, so that
// many failing clients do not retry in lockstep.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Sleep waits d or until ctx is done; it reports whether the full d passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Jitter returns a random duration in [d/2, d].
func Jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}
