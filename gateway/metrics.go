package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/orderflow/orderflow/gateway/mirror"
)

// metrics are the gateway's Prometheus metrics, in the text exposition
// format. They are few, so they are written out by hand rather than through a
// client library.
type metrics struct {
	mirrorLag        atomic.Int64
	mirrorLagKnown   atomic.Bool
	mirrorPublished  atomic.Int64
	mirrorDuplicates atomic.Int64
}

func newMetrics() *metrics { return &metrics{} }

func (m *metrics) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		if m.mirrorLagKnown.Load() {
			fmt.Fprintf(w, "# HELP orderflow_gateway_mirror_lag_events Kafka events not yet mirrored into JetStream.\n")
			fmt.Fprintf(w, "# TYPE orderflow_gateway_mirror_lag_events gauge\n")
			fmt.Fprintf(w, "orderflow_gateway_mirror_lag_events %d\n", m.mirrorLag.Load())
		}
		fmt.Fprintf(w, "# HELP orderflow_gateway_mirror_published_total Events this gateway published into JetStream.\n")
		fmt.Fprintf(w, "# TYPE orderflow_gateway_mirror_published_total counter\n")
		fmt.Fprintf(w, "orderflow_gateway_mirror_published_total %d\n", m.mirrorPublished.Load())
		fmt.Fprintf(w, "# HELP orderflow_gateway_mirror_duplicates_total Publishes JetStream recognised as duplicates (by Nats-Msg-Id).\n")
		fmt.Fprintf(w, "# TYPE orderflow_gateway_mirror_duplicates_total counter\n")
		fmt.Fprintf(w, "orderflow_gateway_mirror_duplicates_total %d\n", m.mirrorDuplicates.Load())
	})
}

// lagWatch measures the mirror's lag every few seconds, for /metrics and the
// /readyz details, so neither waits on Kafka admin calls.
type lagWatch struct {
	m       *mirror.Mirror
	metrics *metrics
	log     *slog.Logger
	last    atomic.Value // string
}

func newLagWatch(m *mirror.Mirror, mt *metrics, log *slog.Logger) *lagWatch {
	w := &lagWatch{m: m, metrics: mt, log: log}
	w.last.Store("not measured yet")
	return w
}

func (w *lagWatch) value() any { return w.last.Load() }

func (w *lagWatch) run(ctx context.Context) error {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		mctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		lag, err := w.m.Lag(mctx)
		cancel()
		if err != nil {
			w.last.Store("unknown: " + err.Error())
		} else {
			w.last.Store(fmt.Sprintf("%d events", lag))
			w.metrics.mirrorLag.Store(lag)
			w.metrics.mirrorLagKnown.Store(true)
		}
		st := w.m.Stats()
		w.metrics.mirrorPublished.Store(st.Published)
		w.metrics.mirrorDuplicates.Store(st.Duplicates)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
