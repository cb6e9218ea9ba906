package tracing_test

import (
	"context"
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderflow/orderflow/platform/tracing"
)

const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestTraceParentRoundTrip(t *testing.T) {
	ctx := tracing.WithTraceParent(context.Background(), parent)
	sc := trace.SpanContextFromContext(ctx)
	require.True(t, sc.IsRemote())
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", sc.TraceID().String())
	require.Equal(t, parent, tracing.TraceParent(ctx))

	require.Equal(t, "", tracing.TraceParent(context.Background()), "no span, no traceparent")
	require.Equal(t, context.Background(), tracing.WithTraceParent(context.Background(), ""))
	require.False(t, trace.SpanContextFromContext(tracing.WithTraceParent(context.Background(), "garbage")).IsValid())
}

func TestTraceID(t *testing.T) {
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", tracing.TraceID(parent))
	for _, bad := range []string{"", "00-abc-def-01", "not-a-trace-parent"} {
		require.Empty(t, tracing.TraceID(bad), bad)
	}
}

func TestKafkaHeadersCarryTheTrace(t *testing.T) {
	m := &kafka.Message{Headers: []kafka.Header{{Key: "event-id", Value: []byte("e1")}, {Key: "traceparent", Value: []byte("stale")}}}
	h := tracing.KafkaHeaders{Message: m}
	h.Set("traceparent", parent)
	require.Equal(t, parent, h.Get("traceparent"))
	require.ElementsMatch(t, []string{"event-id", "traceparent"}, h.Keys(), "replaced, not added")
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", trace.SpanContextFromContext(tracing.FromMessage(context.Background(), m)).TraceID().String())
}

func TestOffWithoutAnEndpoint(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	require.False(t, tracing.Enabled())
	shutdown, err := tracing.Start(context.Background(), "test")
	require.NoError(t, err)
	_, span := tracing.Tracer("test").Start(context.Background(), "op")
	require.False(t, span.IsRecording(), "the no-op provider records nothing")
	span.End()
	require.NoError(t, shutdown(context.Background()))

	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
	require.True(t, tracing.Enabled())
	t.Setenv("OTEL_SDK_DISABLED", "true")
	require.False(t, tracing.Enabled())
}
