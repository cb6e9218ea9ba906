package tracing

import (
	"crypto/rand"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderflow/orderflow/platform/httpserver"
)

// Handler continues the trace of an incoming request (its traceparent
// header) in a server span named after the route that served it ("POST
// /v1/orders"), so that r.Context() carries the span to what the handler
// does. With tracing off there is no span, but the trace context is still
// in r.Context() — the caller's, or a new trace's when the request brought
// none — so TraceParent(r.Context()) is set and the events stored for the
// request carry it. The route pattern
// the ServeMux found is copied back onto r, for the handlers around this
// one.
func Handler(next http.Handler) http.Handler {
	tracer := Tracer("http")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		if !On() && !trace.SpanContextFromContext(ctx).IsValid() {
			// Nothing records spans, but the request still starts a trace:
			// the events stored for it, and all they cause in every
			// service, share its trace id (an order's timeline shows it).
			ctx = trace.ContextWithRemoteSpanContext(ctx, newRoot())
		}
		if !On() || r.Header.Get("Upgrade") != "" { // a websocket's request lasts as long as it: no span
			inner := r.WithContext(ctx)
			next.ServeHTTP(w, inner)
			r.Pattern = inner.Pattern // for the handlers around this one (metrics)
			return
		}
		ctx, span := tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path)))
		defer span.End()
		sw := httpserver.NewStatusWriter(w)
		inner := r.WithContext(ctx)
		next.ServeHTTP(sw, inner)
		r.Pattern = inner.Pattern // for the handlers around this one (metrics)
		if inner.Pattern != "" {
			name := inner.Pattern
			if !strings.Contains(name, " ") { // a pattern for every method
				name = r.Method + " " + name
			}
			span.SetName(name)
			span.SetAttributes(attribute.String("http.route", inner.Pattern))
		}
		span.SetAttributes(attribute.Int("http.response.status_code", sw.Status()))
		if sw.Status() >= 500 {
			span.SetStatus(codes.Error, http.StatusText(sw.Status()))
		}
	})
}

// newRoot is the context of a new, sampled trace with random ids.
func newRoot() trace.SpanContext {
	var tid trace.TraceID
	var sid trace.SpanID
	_, _ = rand.Read(tid[:]) // crypto/rand.Read never fails
	_, _ = rand.Read(sid[:])
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: true})
}

// Transport sends each request through base (http.DefaultTransport if nil)
// in a client span, with the span's traceparent header; with tracing off it
// only passes the context's trace on.
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return transport{base: base, tracer: Tracer("http")}
}

type transport struct {
	base   http.RoundTripper
	tracer trace.Tracer
}

func (t transport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	var span trace.Span
	if On() {
		ctx, span = t.tracer.Start(ctx, r.Method+" "+r.URL.Path, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("server.address", r.URL.Host)))
		defer span.End()
	}
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return t.base.RoundTrip(r) // no trace to pass on: leave the request as it is
	}
	r = r.Clone(ctx) // a RoundTripper must not change its request
	propagator.Inject(ctx, propagation.HeaderCarrier(r.Header))
	resp, err := t.base.RoundTrip(r)
	if span != nil {
		switch {
		case err != nil:
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		default:
			span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
			if resp.StatusCode >= 500 {
				span.SetStatus(codes.Error, resp.Status)
			}
		}
	}
	return resp, err
}
