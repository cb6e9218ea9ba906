package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/gateway/mirror"
	"github.com/orderflow/orderflow/gateway/statusfeed"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/metrics"
)

// gatewayMetrics is the gateway's registry and the series of its parts:
// HTTP, GraphQL operations, subscriptions, its consumers (projector and
// mirror) and the mirror's own.
type gatewayMetrics struct {
	reg       *metrics.Registry
	http      *metrics.HTTP
	consumers *consumer.Metrics
	graphql   *operationMetrics

	mirrorLag     prometheus.Gauge
	mirrorLagOnce sync.Once // the lag is exposed once it was measured
}

func newMetrics(feed *statusfeed.Feed) *gatewayMetrics {
	reg := metrics.New()
	metrics.Register(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Subsystem: "gateway", Name: "subscriptions_active",
		Help: "orderStatusChanged subscriptions this gateway serves now.",
	}, func() float64 { return float64(feed.Stats().Subscribers) }))
	return &gatewayMetrics{
		reg:       reg,
		http:      metrics.NewHTTP(reg),
		consumers: consumer.NewMetrics(reg),
		graphql:   newOperationMetrics(reg),
		mirrorLag: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: metrics.Namespace, Subsystem: "gateway", Name: "mirror_lag_events",
			Help: "Kafka events not yet mirrored into JetStream.",
		}),
	}
}

func (m *gatewayMetrics) handler() http.Handler { return m.reg.Handler() }

// graphQL returns the extensions that measure the API's operations.
func (m *gatewayMetrics) graphQL() []graphql.HandlerExtension {
	return []graphql.HandlerExtension{m.graphql}
}

// mirror exposes the mirror's counters, read from its stats at each scrape.
func (m *gatewayMetrics) mirror(mi *mirror.Mirror) {
	metrics.Register(m.reg, prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "gateway", Name: "mirror_published_total",
		Help: "Events this gateway published into JetStream.",
	}, func() float64 { return float64(mi.Stats().Published) }))
	metrics.Register(m.reg, prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "gateway", Name: "mirror_duplicates_total",
		Help: "Publishes JetStream recognised as duplicates (by Nats-Msg-Id).",
	}, func() float64 { return float64(mi.Stats().Duplicates) }))
}

func (m *gatewayMetrics) setMirrorLag(lag int64) {
	m.mirrorLag.Set(float64(lag))
	m.mirrorLagOnce.Do(func() { metrics.Register(m.reg, m.mirrorLag) })
}

// lagWatch measures the mirror's lag every few seconds, for /metrics and the
// /readyz details, so neither waits on Kafka admin calls.
type lagWatch struct {
	m       *mirror.Mirror
	metrics *gatewayMetrics
	log     *slog.Logger
	last    atomic.Value // string
}

func newLagWatch(m *mirror.Mirror, mt *gatewayMetrics, log *slog.Logger) *lagWatch {
	mt.mirror(m)
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
			w.metrics.setMirrorLag(lag)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
