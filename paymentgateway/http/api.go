// Package httpapi is the processor's HTTP API, shaped like a real card
// processor's: JSON bodies, amounts in minor units, an Idempotency-Key header
// on every call that moves money, declines answered as 402 with the declined
// charge, and every error a JSON object with a code a program can act on and
// a message a person can act on.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/orderflow/orderflow/paymentgateway/idempotency"
	"github.com/orderflow/orderflow/paymentgateway/psp"
	"github.com/orderflow/orderflow/platform/health"
)

// Options tune how the simulated processor behaves.
type Options struct {
	// Latency is added to every charge and refund answer.
	Latency time.Duration
	// DeclineRate is the share (0–1) of charges that would be captured but
	// are declined as card_declined instead.
	DeclineRate float64
	// SlowDelay is how late tok_slow charges are answered, after they are
	// committed.
	SlowDelay time.Duration
	// FlakyFailures is how many attempts per idempotency key fail with 503
	// before a tok_flaky charge goes through.
	FlakyFailures int
	// Metrics, if set, serves the process's Prometheus metrics at
	// GET /metrics.
	Metrics http.Handler
}

// Ledger is the durable state the API needs.
type Ledger interface {
	CountAttempt(ctx context.Context, req idempotency.Request) (int, error)
	CreateCharge(ctx context.Context, req idempotency.Request, ch psp.Charge, reply idempotency.Reply) (idempotency.Record, error)
	CreateRefund(ctx context.Context, req idempotency.Request, chargeID string, decide func(*psp.Charge) (*psp.Refund, idempotency.Reply)) (idempotency.Record, error)
	Charge(ctx context.Context, id string) (psp.Charge, error)
	Charges(ctx context.Context, q psp.ChargeQuery) ([]psp.Charge, bool, error)
}

// Idempotency scopes: a key is unique per endpoint.
const (
	scopeCharges = "POST /v1/charges"
	scopeRefunds = "POST /v1/refunds"
)

// maxBody bounds request bodies; a charge is a few hundred bytes.
const maxBody = 64 << 10

// writeTimeout bounds a ledger write. Writes run detached from the request:
// once the processor has started to move money it finishes, whether or not
// the caller is still waiting, as a real processor would.
const writeTimeout = 10 * time.Second

type api struct {
	opts   Options
	ledger Ledger
	log    *slog.Logger
	now    func() time.Time
}

// NewHandler returns the processor's HTTP handler: the /v1 API, the health
// endpoints of checker, /metrics, JSON answers for unknown routes, and a
// log line per request.
func NewHandler(opts Options, ledger Ledger, checker *health.Checker, log *slog.Logger) http.Handler {
	a := &api{opts: opts, ledger: ledger, log: log, now: time.Now}
	mux := http.NewServeMux()
	checker.Register(mux)
	mux.Handle("POST /v1/charges", delayed(opts.Latency, http.HandlerFunc(a.createCharge)))
	mux.Handle("POST /v1/refunds", delayed(opts.Latency, http.HandlerFunc(a.createRefund)))
	mux.HandleFunc("GET /v1/charges/{id}", a.getCharge)
	mux.HandleFunc("GET /v1/charges", a.listCharges)
	if opts.Metrics != nil {
		mux.Handle("GET /metrics", opts.Metrics)
	}
	return logRequests(log, jsonRouting(mux))
}
