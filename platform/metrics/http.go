package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/platform/httpserver"
)

// HTTP is the series of an HTTP server: requests answered and how long
// they took, by method, route and status code. The route is the pattern
// of the http.ServeMux route that served the request (r.Pattern, such as
// "POST /v1/orders" or "GET /v1/orders/{id}"), never the path itself, so
// that a series holds every order's requests; a request no route took (a
// 404, or one the service token refused before routing) is "unmatched".
type HTTP struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// Unmatched is the route label of requests that no ServeMux route served.
const Unmatched = "unmatched"

// NewHTTP defines the HTTP series on reg.
func NewHTTP(reg prometheus.Registerer) *HTTP {
	labels := []string{"method", "route", "code"}
	return &HTTP{
		requests: Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests answered, by method, route pattern and status code.",
		}, labels)),
		duration: Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer an HTTP request, by method, route pattern and status code (websockets are not timed).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, labels)),
	}
}

// Wrap counts and times every request next answers. It must be the
// outermost handler but for ones that keep the *http.Request as it is:
// the ServeMux sets Pattern on the request it is given, and Wrap reads it
// from the same request once next returned.
func (m *HTTP) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := httpserver.NewStatusWriter(w)
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = Unmatched
		}
		status := sw.Status()
		method, code := methodLabel(r.Method), strconv.Itoa(status)
		m.requests.WithLabelValues(method, route, code).Inc()
		// A websocket's "request" lasts as long as the connection: its
		// duration would drown the others.
		if status != http.StatusSwitchingProtocols {
			m.duration.WithLabelValues(method, route, code).Observe(time.Since(start).Seconds())
		}
	})
}

// methodLabel bounds the method label: a client may send any token.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}
