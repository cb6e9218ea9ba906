package outbox

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/platform/metrics"
)

// Metrics are a relay's series: the outbox's depth and the age of its
// oldest row (measured every MeasureInterval with one cheap query), rows
// published, the time from a row's creation to Kafka's acknowledgement,
// and whether this relay is the active one.
type Metrics struct {
	pending    prometheus.Gauge
	oldest     prometheus.Gauge
	published  prometheus.Counter
	handedOver prometheus.Counter
	recovered  prometheus.Counter
	latency    prometheus.Histogram
	leader     prometheus.Gauge
}

// NewMetrics defines the outbox series on reg; nil gets a registry nobody
// serves.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	reg = metrics.OrDiscard(reg)
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: metrics.Namespace, Subsystem: "outbox", Name: name, Help: help}
	}
	return &Metrics{
		pending: metrics.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts(opts("pending_rows",
			"Outbox rows not yet published and deleted (counted up to a million), measured every few seconds.")))),
		oldest: metrics.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts(opts("oldest_pending_age_seconds",
			"Age of the oldest outbox row not yet published, 0 when the outbox is empty; measured every few seconds.")))),
		published: metrics.Register(reg, prometheus.NewCounter(prometheus.CounterOpts(opts("published_total",
			"Outbox rows this relay produced and Kafka acknowledged.")))),
		handedOver: metrics.Register(reg, prometheus.NewCounter(prometheus.CounterOpts(opts("handed_over_total",
			"Outbox rows produced as a commit of the relay's own process handed them over, without reading the outbox: the rest were fetched.")))),
		recovered: metrics.Register(reg, prometheus.NewCounter(prometheus.CounterOpts(opts("recovered_total",
			"Outbox rows found already in Kafka when a relay session started, deleted without being sent again.")))),
		latency: metrics.Register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: metrics.Namespace, Subsystem: "outbox", Name: "commit_to_ack_seconds",
			Help:    "Time from an outbox row's creation (its event's append) to Kafka's acknowledgement of its message.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16), // 1 ms to 32 s
		})),
		leader: metrics.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts(opts("relay_leader",
			"1 while this process's relay holds the outbox lock and relays, else 0 (a hot standby).")))),
	}
}

// depthSQL counts the outbox (at most a million rows, so that a huge
// backlog costs a bounded scan) and reads the age of its first row through
// the primary key, by the database's clock like created_at.
const depthSQL = `
SELECT (SELECT count(*) FROM (SELECT 1 FROM outbox LIMIT 1000000) capped),
       coalesce((SELECT extract(epoch FROM now() - created_at) FROM outbox ORDER BY id LIMIT 1), 0)::float8`

// measure refreshes the depth gauges every MeasureInterval until ctx ends.
// Every relay measures, active or not: the outbox is the database's, and
// a backlog must show even while no relay can lead.
func (r *Relay) measure(ctx context.Context) {
	t := time.NewTicker(r.cfg.MeasureInterval)
	defer t.Stop()
	for {
		var (
			rows int64
			age  float64
		)
		qctx, cancel := context.WithTimeout(ctx, r.cfg.MeasureInterval)
		err := r.pool.QueryRow(qctx, depthSQL).Scan(&rows, &age)
		cancel()
		switch {
		case err == nil:
			r.cfg.Metrics.pending.Set(float64(rows))
			r.cfg.Metrics.oldest.Set(max(age, 0))
		case ctx.Err() == nil:
			r.log.Debug("measure the outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
