package deadline

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/platform/metrics"
)

// OverdueGrace is how long past its payment deadline a saga may still be
// waiting before it counts as overdue: the poller fires a deadline within
// a poll interval (200 ms by default), so a saga this late is stuck.
const OverdueGrace = 10 * time.Second

// OverdueDeadlines counts the stored deadlines that passed more than grace
// ago.
type OverdueDeadlines interface {
	Overdue(ctx context.Context, grace time.Duration) (int, error)
}

// OverdueWatch keeps the gauge orderflow_compensation_sagas_past_deadline:
// sagas whose payment deadline passed more than OverdueGrace ago and that
// are still active — neither settled nor cancelled — measured by one
// indexed query every interval, not on any saga's path.
type OverdueWatch struct {
	deadlines OverdueDeadlines
	gauge     prometheus.Gauge
	every     time.Duration
	log       *slog.Logger
}

// NewOverdueWatch defines the gauge on reg.
func NewOverdueWatch(deadlines OverdueDeadlines, reg prometheus.Registerer, every time.Duration, log *slog.Logger) *OverdueWatch {
	gauge := metrics.Register(metrics.OrDiscard(reg), prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Subsystem: "compensation", Name: "sagas_past_deadline",
		Help: "Active sagas (not settled, not cancelled) whose payment deadline passed more than 10s ago without firing; measured every few seconds.",
	}))
	return &OverdueWatch{deadlines: deadlines, gauge: gauge, every: every, log: log}
}

// Run measures until ctx is done. A failed query leaves the gauge as it
// was, and is tried again next interval.
func (w *OverdueWatch) Run(ctx context.Context) error {
	t := time.NewTicker(w.every)
	defer t.Stop()
	for {
		qctx, cancel := context.WithTimeout(ctx, w.every)
		n, err := w.deadlines.Overdue(qctx, OverdueGrace)
		cancel()
		switch {
		case err == nil:
			w.gauge.Set(float64(n))
		case ctx.Err() == nil:
			w.log.DebugContext(ctx, "count overdue sagas", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
