// Package health serves the liveness and readiness endpoints every orderflow
// process exposes: /healthz says the process is alive, /readyz says each of its
// dependencies (Postgres, Kafka, …) answers right now.
package health

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/orderflow/orderflow/platform/httpserver"
)

// Check reports whether one dependency answers.
type Check func(ctx context.Context) error

// Checker holds the named readiness checks of a process.
type Checker struct {
	mu      sync.Mutex
	checks  map[string]Check
	details map[string]func() any
	timeout time.Duration
}

// New returns a Checker whose checks each get timeout to answer.
func New(timeout time.Duration) *Checker {
	return &Checker{checks: map[string]Check{}, details: map[string]func() any{}, timeout: timeout}
}

// Add registers a readiness check under name.
func (c *Checker) Add(name string, check Check) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checks[name] = check
}

// AddDetail registers extra information shown by /readyz (e.g. a lag) that
// does not decide readiness.
func (c *Checker) AddDetail(name string, detail func() any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.details[name] = detail
}

// Register mounts /healthz and /readyz on mux.
func (c *Checker) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		httpserver.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", c.readyz)
}

// Ready runs every check and returns each one's result ("ok" or the error).
func (c *Checker) Ready(ctx context.Context) (bool, map[string]string) {
	c.mu.Lock()
	checks := make(map[string]Check, len(c.checks))
	for k, v := range c.checks {
		checks[k] = v
	}
	c.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		ready   = true
		results = make(map[string]string, len(checks))
	)
	for name, check := range checks {
		wg.Go(func() {
			result := "ok"
			if err := check(ctx); err != nil {
				result = err.Error()
			}
			mu.Lock()
			defer mu.Unlock()
			results[name] = result
			if result != "ok" {
				ready = false
			}
		})
	}
	wg.Wait()
	return ready, results
}

func (c *Checker) readyz(w http.ResponseWriter, r *http.Request) {
	ready, results := c.Ready(r.Context())
	body := map[string]any{"status": "ready", "checks": results}
	status := http.StatusOK
	if !ready {
		body["status"] = "unavailable"
		status = http.StatusServiceUnavailable
	}
	c.mu.Lock()
	fns := make(map[string]func() any, len(c.details))
	for k, fn := range c.details {
		fns[k] = fn
	}
	c.mu.Unlock()
	if len(fns) > 0 {
		details := map[string]any{}
		for k, fn := range fns {
			details[k] = fn()
		}
		body["details"] = details
	}
	httpserver.WriteJSON(w, status, body)
}
