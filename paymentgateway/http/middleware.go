package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/orderflow/orderflow/paymentgateway/idempotency"
	"github.com/orderflow/orderflow/platform/httpserver"
)

// sleep waits d, or less if ctx ends first (the caller gave up).
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// delayed holds back h's answer by d, after h did its work, the way network
// and processing latency would.
func delayed(d time.Duration, h http.Handler) http.Handler {
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&delayWriter{ResponseWriter: w, ctx: r.Context(), d: d}, r)
	})
}

type delayWriter struct {
	http.ResponseWriter
	ctx   context.Context
	d     time.Duration
	slept bool
}

func (w *delayWriter) WriteHeader(status int) {
	if !w.slept {
		w.slept = true
		sleep(w.ctx, w.d)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *delayWriter) Write(b []byte) (int, error) {
	if !w.slept {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *delayWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests writes one line per request.
func logRequests(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := httpserver.NewStatusWriter(w)
		h.ServeHTTP(sw, r)
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.Status()),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		}
		if key := r.Header.Get(idempotency.Header); key != "" {
			attrs = append(attrs, slog.String("idempotency_key", key))
		}
		if w.Header().Get(replayedHeader) != "" {
			attrs = append(attrs, slog.Bool("replayed", true))
		}
		log.LogAttrs(r.Context(), slog.LevelInfo, "http request", attrs...)
	})
}

// jsonRouting answers requests that match no route (404, or 405 with Allow)
// with a JSON error like every other answer, instead of ServeMux's text.
func jsonRouting(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		probe := &statusProbe{header: http.Header{}}
		h.ServeHTTP(probe, r)
		if probe.status != http.StatusNotFound && probe.status != http.StatusMethodNotAllowed {
			mux.ServeHTTP(w, r) // a redirect to the clean path: let ServeMux answer it
			return
		}
		if allow := probe.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		status, code := probe.status, "resource_missing"
		if status == http.StatusMethodNotAllowed {
			code = "method_not_allowed"
		}
		send(w, errorReply(status, errorJSON{Code: code,
			Message: fmt.Sprintf("Unrecognized request: %s %s.", r.Method, r.URL.Path)}))
	})
}

// statusProbe records what ServeMux would answer to an unroutable request.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(status int)      { p.status = status }
