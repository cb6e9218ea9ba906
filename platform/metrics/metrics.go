// Package metrics is how an orderflow process exposes Prometheus metrics:
// one registry per process, holding the Go runtime and process collectors
// and every series the process's parts define, served at GET /metrics.
//
// A series is defined once, next to the code it measures — the consumer
// loop, the outbox relay, the PSP adapter — or here for the one every
// server shares (HTTP). The registry is handed down to those parts, never
// held in a global, so tests that start several services in one process
// keep each service's series apart. Names follow Prometheus' conventions:
// orderflow_<subsystem>_<name>, base units (_seconds), _total for counters,
// and labels whose values are bounded (a route pattern, a status code, a
// partition; never an order id or a raw path).
package metrics

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every orderflow series.
const Namespace = "orderflow"

// Registry is a process's registry. It is a prometheus.Registerer, which
// is all the packages that define series need of it.
type Registry struct {
	*prometheus.Registry
}

// New returns a registry holding the Go runtime's collector (goroutines,
// GC, memory) and the process collector (CPU, open files, resident memory).
func New() *Registry {
	r := &Registry{prometheus.NewRegistry()}
	Register(r, collectors.NewGoCollector())
	Register(r, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Handler serves the registry in Prometheus' text format (or OpenMetrics,
// when the scraper asks for it).
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r, promhttp.HandlerOpts{Registry: r, EnableOpenMetrics: true})
}

// Register registers c with reg and returns it; if an identical collector
// is registered already, it returns that one instead, so that two parts of
// a process (two consumers, say) that define the same series share them. A
// collector that clashes with another (same name, other labels) is a bug
// in the code that defines it, and panics as prometheus.MustRegister does.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(fmt.Sprintf("metrics: %v", err))
}

// OrDiscard returns reg, or a registry of its own that nobody serves when
// reg is nil: for parts constructed without one (in tests, in tools).
func OrDiscard(reg prometheus.Registerer) prometheus.Registerer {
	if reg == nil {
		return prometheus.NewRegistry()
	}
	return reg
}
