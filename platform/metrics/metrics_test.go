package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/platform/metrics"
	"github.com/orderflow/orderflow/platform/metrics/metricstest"
)

func TestAServerCountsRequestsByRoutePatternNotPath(t *testing.T) {
	reg := metrics.New()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "missing" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("{}"))
	})
	mux.HandleFunc("POST /v1/orders", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusCreated) })
	mux.HandleFunc("GET /hijack", func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack() // reaches the connection through the wrapper
		if err == nil {
			_, _ = conn.Write([]byte("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"))
			conn.Close()
		}
	})
	mux.Handle("GET /metrics", reg.Handler())
	srv := httptest.NewServer(metrics.NewHTTP(reg).Wrap(mux))
	t.Cleanup(srv.Close)

	for _, req := range []struct{ method, path string }{
		{"GET", "/v1/orders/3f1c"}, {"GET", "/v1/orders/77aa"}, {"GET", "/v1/orders/missing"},
		{"POST", "/v1/orders"}, {"DELETE", "/v1/orders"}, {"GET", "/nowhere/3f1c"}, {"BREW", "/v1/orders"},
		{"GET", "/hijack"},
	} {
		r, err := http.NewRequest(req.method, srv.URL+req.path, nil)
		require.NoError(t, err)
		resp, err := srv.Client().Do(r)
		require.NoError(t, err)
		resp.Body.Close()
	}

	s := metricstest.Get(t, srv.URL)
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"two orders read, one route", []string{"method", "GET", "route", "GET /v1/orders/{id}", "code", "200"}, 2},
		{"a 404 of the route is the route's", []string{"route", "GET /v1/orders/{id}", "code", "404"}, 1},
		{"created", []string{"method", "POST", "route", "POST /v1/orders", "code", "201"}, 1},
		{"no route: unmatched", []string{"route", metrics.Unmatched, "code", "404"}, 1},
		{"wrong method: unmatched 405", []string{"method", "DELETE", "route", metrics.Unmatched, "code", "405"}, 1},
		{"an unknown method is OTHER", []string{"method", "OTHER"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := s.Value("orderflow_http_requests_total", tt.labels...)
			require.True(t, ok, "series %v: %v", tt.labels, s.Series("orderflow_http_requests_total"))
			require.Equal(t, tt.want, v)
			d, ok := s.Value("orderflow_http_request_duration_seconds", tt.labels...)
			require.True(t, ok)
			require.Equal(t, tt.want, d, "each request timed once")
		})
	}
	for _, series := range s.Series("orderflow_http_requests_total") {
		require.NotContains(t, series, "3f1c", "no path, no id in a label")
	}
	s.Require(t, 1, "go_goroutines")
	s.Require(t, 0, "process_cpu_seconds_total")
	s.Require(t, 0, "process_resident_memory_bytes")
}

func TestRegisterTwiceSharesTheSeries(t *testing.T) {
	reg := metrics.New()
	a := metrics.NewHTTP(reg)
	b := metrics.NewHTTP(reg) // a second server of the same process
	h := func(m *metrics.HTTP) http.Handler {
		return m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	}
	for _, m := range []*metrics.HTTP{a, b} {
		h(m).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	srv := httptest.NewServer(reg.Handler())
	t.Cleanup(srv.Close)
	v, ok := metricstest.Get(t, srv.URL).Value("orderflow_http_requests_total", "route", metrics.Unmatched)
	require.True(t, ok)
	require.Equal(t, 2.0, v)

	require.Panics(t, func() {
		metrics.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "orderflow_http_requests_total", Help: "clash"}))
	}, "the same name with other labels is a bug")
}
