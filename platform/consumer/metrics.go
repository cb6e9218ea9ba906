package consumer

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/platform/metrics"
)

// Metrics are the series of every consumer of a process, by consumer group
// and topic: how each message ended, the handler's latency and batch
// sizes, retries, dead letters, and each assigned partition's lag. Define
// them once per registry (NewMetrics) and hand the same Metrics to every
// consumer of the process.
type Metrics struct {
	messages    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	batch       *prometheus.HistogramVec
	retries     *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
	lag         *prometheus.GaugeVec
	parked      *prometheus.CounterVec
	replays     *prometheus.CounterVec
	held        *prometheus.GaugeVec
}

// Outcomes of a message, the outcome label of
// orderflow_consumer_messages_total.
const (
	OutcomeOK           = "ok"            // handled at the first attempt
	OutcomeRetried      = "retried"       // handled after transient failures
	OutcomeDeadLettered = "dead_lettered" // published to the dead-letter topic
	OutcomeSkipped      = "skipped"       // not a type the handler takes (Config.Types)
	OutcomeParked       = "parked"        // set aside past the retry budget, or behind its order's parked message
)

// Outcomes of a replay, the outcome label of orderflow_consumer_replays_total.
const (
	ReplayHandled      = "handled"       // the handler took it
	ReplayParked       = "parked"        // failed past the retry budget again
	ReplayDeadLettered = "dead_lettered" // failed permanently
)

// Reasons a message was dead-lettered, the reason label of
// orderflow_consumer_dead_letters_total.
const (
	reasonUndecodable = "undecodable" // not an event the codec knows
	reasonPermanent   = "permanent"   // the handler said no retry can fix it
	reasonPanic       = "panic"       // the handler panicked
)

// NewMetrics defines the consumer series on reg; nil gets a registry
// nobody serves. Calling it again on the same registry returns Metrics
// over the same series.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	reg = metrics.OrDiscard(reg)
	byTopic := []string{"group", "topic"}
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: metrics.Namespace, Subsystem: "consumer", Name: name, Help: help}
	}
	return &Metrics{
		messages: metrics.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts(opts("messages_total",
			"Messages done with, by consumer group, topic and outcome (ok, retried, dead_lettered, skipped, parked).")),
			[]string{"group", "topic", "outcome"})),
		duration: metrics.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metrics.Namespace, Subsystem: "consumer", Name: "handler_duration_seconds",
			Help:    "Time of one handler call (a batch or a single message), by consumer group and topic.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5 ms to 16 s
		}, byTopic)),
		batch: metrics.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metrics.Namespace, Subsystem: "consumer", Name: "batch_messages",
			Help:    "Messages handed to the handler in one call, by consumer group and topic.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10), // 1 to 512
		}, byTopic)),
		retries: metrics.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts(opts("retries_total",
			"Handler attempts that failed transiently and are retried, by consumer group and topic.")), byTopic)),
		deadLetters: metrics.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts(opts("dead_letters_total",
			"Messages published to the dead-letter topic, by consumer group, topic and reason (undecodable, permanent, panic).")),
			[]string{"group", "topic", "reason"})),
		lag: metrics.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts(opts("lag_messages",
			"Messages of an assigned partition not handled yet: its high watermark less the offset after the last message handled (or the committed offset). Refreshed every few seconds.")),
			[]string{"group", "topic", "partition"})),
		parked: metrics.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts(opts("parked_total",
			"Messages parked: failed transiently past the retry budget (reason budget), or held behind their order's parked message (reason held), by consumer group and topic.")),
			[]string{"group", "topic", "reason"})),
		replays: metrics.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts(opts("replays_total",
			"Replays of parked and dead-lettered messages, by consumer group, topic and outcome (handled, parked, dead_lettered).")),
			[]string{"group", "topic", "outcome"})),
		held: metrics.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts(opts("held_keys",
			"Keys (orders) an assigned partition holds because a message of theirs is parked: their later messages are parked behind it.")),
			[]string{"group", "topic", "partition"})),
	}
}

// partitionMetrics are one partition's series, looked up once when its
// worker starts so that the hot path does no label lookup.
type partitionMetrics struct {
	ok, retried, deadLettered, skipped prometheus.Counter
	parked, parkedBudget, parkedHeld   prometheus.Counter
	retries                            prometheus.Counter
	replays                            *prometheus.CounterVec
	duration, batch                    prometheus.Observer
	deadLetters                        *prometheus.CounterVec
	group, topic                       string
}

func (m *Metrics) partition(group, topic string) partitionMetrics {
	outcome := func(o string) prometheus.Counter { return m.messages.WithLabelValues(group, topic, o) }
	return partitionMetrics{
		ok: outcome(OutcomeOK), retried: outcome(OutcomeRetried),
		deadLettered: outcome(OutcomeDeadLettered), skipped: outcome(OutcomeSkipped),
		parked:       outcome(OutcomeParked),
		parkedBudget: m.parked.WithLabelValues(group, topic, "budget"),
		parkedHeld:   m.parked.WithLabelValues(group, topic, "held"),
		retries:      m.retries.WithLabelValues(group, topic),
		replays:      m.replays,
		duration:     m.duration.WithLabelValues(group, topic),
		batch:        m.batch.WithLabelValues(group, topic),
		deadLetters:  m.deadLetters,
		group:        group, topic: topic,
	}
}

func (p partitionMetrics) deadLetter(reason string) {
	p.deadLettered.Inc()
	p.deadLetters.WithLabelValues(p.group, p.topic, reason).Inc()
}
