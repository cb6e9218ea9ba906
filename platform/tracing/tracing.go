// Package tracing sets a process up for OpenTelemetry: a tracer provider
// that exports spans over OTLP, configured by the standard OTEL_* variables,
// the W3C trace-context propagator, and the helpers that carry a trace
// through what orderflow stores and sends — an event's traceparent and a
// Kafka message's headers — so that one order is one trace across every
// service.
//
// Tracing is off unless OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set: the global provider then stays
// OpenTelemetry's no-op one, whose spans record nothing and export nothing.
// OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn it off too.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// propagator is the W3C trace context, the format of an event's
// traceparent; every process uses it.
var propagator = propagation.TraceContext{}

// on is set once Start installed an exporting provider.
var on atomic.Bool

// On reports whether this process exports spans (Start found an endpoint).
// Instrumentation that would cost something per message checks it once.
func On() bool { return on.Load() }

// Enabled reports whether the environment asks for spans to be exported.
func Enabled() bool {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") || os.Getenv("OTEL_TRACES_EXPORTER") == "none" {
		return false
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Start installs the process's tracer provider for service (the default of
// OTEL_SERVICE_NAME) and returns the function that flushes and stops it.
// When tracing is off (see Enabled) it installs nothing and the returned
// function does nothing.
func Start(ctx context.Context, service string) (shutdown func(context.Context) error, err error) {
	otel.SetTextMapPropagator(propagator)
	if !Enabled() {
		return func(context.Context) error { return nil }, nil
	}
	exporter, err := otlptracehttp.New(ctx) // endpoint, headers, timeout: OTEL_EXPORTER_OTLP_*
	if err != nil {
		return nil, fmt.Errorf("tracing: otlp exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", service)))
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	if fromEnv, err := resource.New(ctx, resource.WithFromEnv()); err == nil {
		res, _ = resource.Merge(res, fromEnv) // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	}
	// The sampler comes from OTEL_TRACES_SAMPLER (default: parent-based,
	// always on).
	provider := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	otel.SetTracerProvider(provider)
	on.Store(true)
	return provider.Shutdown, nil
}

// Tracer returns the tracer of an instrumentation scope, from the global
// provider (a no-op one when tracing is off).
func Tracer(scope string) trace.Tracer { return otel.Tracer("github.com/orderflow/orderflow/" + scope) }

// WithTraceParent returns ctx continuing the trace of a W3C traceparent,
// such as the one stored in an event envelope ("" leaves ctx as it is).
func WithTraceParent(ctx context.Context, traceParent string) context.Context {
	if traceParent == "" {
		return ctx
	}
	return propagator.Extract(ctx, propagation.MapCarrier{"traceparent": traceParent})
}

// TraceParent returns the W3C traceparent of ctx's span, "" if it has none.
func TraceParent(ctx context.Context) string {
	c := propagation.MapCarrier{}
	propagator.Inject(ctx, c)
	return c["traceparent"]
}

// TraceID returns the trace id of a traceparent
// ("00-<trace id>-<span id>-<flags>", surrounding blanks tolerated), ""
// if it is not a valid one.
func TraceID(traceParent string) string {
	sc := trace.SpanContextFromContext(WithTraceParent(context.Background(), strings.TrimSpace(traceParent)))
	if !sc.IsValid() {
		return ""
	}
	return sc.TraceID().String()
}

// KafkaHeaders adapts a Kafka message's headers to the propagators'
// carrier: Inject writes traceparent (and tracestate) headers, Extract
// reads them.
type KafkaHeaders struct{ Message *kafka.Message }

var _ propagation.TextMapCarrier = KafkaHeaders{}

// Get returns the value of the last header named key.
func (h KafkaHeaders) Get(key string) string {
	for i := len(h.Message.Headers) - 1; i >= 0; i-- {
		if h.Message.Headers[i].Key == key {
			return string(h.Message.Headers[i].Value)
		}
	}
	return ""
}

// Set replaces the header named key.
func (h KafkaHeaders) Set(key, value string) {
	kept := h.Message.Headers[:0]
	for _, hd := range h.Message.Headers {
		if hd.Key != key {
			kept = append(kept, hd)
		}
	}
	h.Message.Headers = append(kept, kafka.Header{Key: key, Value: []byte(value)})
}

// Keys lists the header names.
func (h KafkaHeaders) Keys() []string {
	keys := make([]string, len(h.Message.Headers))
	for i, hd := range h.Message.Headers {
		keys[i] = hd.Key
	}
	return keys
}

// FromMessage returns ctx continuing the trace a Kafka message carries.
func FromMessage(ctx context.Context, m *kafka.Message) context.Context {
	return propagator.Extract(ctx, KafkaHeaders{Message: m})
}
