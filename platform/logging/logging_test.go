package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/platform/logging"
	"github.com/orderflow/orderflow/platform/tracing"
)

func TestLinesCarryTheContextsAttributesAndTrace(t *testing.T) {
	var buf bytes.Buffer
	log := logging.New(&buf, "svc", slog.LevelInfo)
	ctx := logging.With(context.Background(), "order_id", "o-1")
	ctx = tracing.WithTraceParent(ctx, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	log.InfoContext(ctx, "handled")
	log.Info("no context")

	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	require.Len(t, lines, 2)
	var first, second map[string]any
	require.NoError(t, json.Unmarshal(lines[0], &first))
	require.NoError(t, json.Unmarshal(lines[1], &second))
	require.Equal(t, "svc", first["service"])
	require.Equal(t, "o-1", first["order_id"])
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", first["trace_id"])
	require.NotContains(t, second, "trace_id", "no trace, no trace_id")
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{"": slog.LevelInfo, "debug": slog.LevelDebug, "WARN": slog.LevelWarn, "error": slog.LevelError} {
		got, err := logging.ParseLevel(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	_, err := logging.ParseLevel("loud")
	require.ErrorContains(t, err, "use debug, info, warn or error")
}
