package adapters

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/payment/app/command"
	"github.com/orderflow/orderflow/platform/metrics"
)

// PSPOption adjusts the PSP NewPSP returns.
type PSPOption func(*PSP)

// WithMetrics times every call to the PSP on reg's
// orderflow_payment_psp_request_duration_seconds, by call (charge, refund,
// find_charges) and outcome: captured, declined, refunded or found for an
// answer; rejected (a 4xx), unavailable (503, 429, refused), timeout (no
// answer before the caller's deadline), no_answer (cut off, unreadable,
// other 5xx), canceled or failed for the rest.
func WithMetrics(reg prometheus.Registerer) PSPOption {
	return func(p *PSP) { p.latency = newPSPLatency(reg) }
}

func newPSPLatency(reg prometheus.Registerer) *prometheus.HistogramVec {
	return metrics.Register(metrics.OrDiscard(reg), prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metrics.Namespace, Subsystem: "payment", Name: "psp_request_duration_seconds",
		Help:    "Time of one call to the PSP, by call (charge, refund, find_charges) and outcome (captured, declined, refunded, found, rejected, unavailable, timeout, no_answer, canceled, failed).",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"call", "outcome"}))
}

// observe records a call that started at start and ended with outcome
// (for an answer) or err.
func (p *PSP) observe(call string, start time.Time, outcome string, err error) {
	if err != nil {
		outcome = errorOutcome(err)
	}
	p.latency.WithLabelValues(call, outcome).Observe(time.Since(start).Seconds())
}

// errorOutcome names a classified PSP error.
func errorOutcome(err error) string {
	var rejected *command.PSPRejectedError
	switch {
	case errors.As(err, &rejected):
		return "rejected"
	case errors.Is(err, command.ErrPSPUnavailable):
		return "unavailable"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, command.ErrPSPNoAnswer):
		return "no_answer"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "failed"
}
