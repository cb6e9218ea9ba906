// Package process is the main function of every orderflow service, so that
// each starts and stops the same way: a JSON logger, the configuration read
// from the environment under the service's prefix and logged with secrets
// masked, OpenTelemetry tracing as the OTEL_* variables say (off without an
// endpoint; spans flushed at the end), a context cancelled by SIGINT or
// SIGTERM, and exit status 1 when the service fails.
package process

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/orderflow/orderflow/platform/envconfig"
	"github.com/orderflow/orderflow/platform/logging"
	"github.com/orderflow/orderflow/platform/tracing"
)

// RunFunc runs a service until ctx is done; ready, if not nil, receives its
// HTTP address.
type RunFunc[C any] func(ctx context.Context, cfg C, log *slog.Logger, ready chan<- net.Addr) error

// Main runs a service from main(): defaults overridden by the environment
// variables under envPrefix, then run. It does not return.
//
// <envPrefix>LOG_LEVEL sets the level of its log (debug, info, warn, error;
// default info).
func Main[C any](service, envPrefix string, defaults C, run RunFunc[C]) {
	level, err := logging.ParseLevel(os.Getenv(envPrefix + "LOG_LEVEL"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %sLOG_LEVEL: %v\n", service, envPrefix, err)
		os.Exit(1)
	}
	log := logging.New(os.Stdout, service, level)
	if err := start(log, service, envPrefix, defaults, run); err != nil {
		log.Error(service+" failed", "err", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func start[C any](log *slog.Logger, service, envPrefix string, cfg C, run RunFunc[C]) error {
	if err := envconfig.Load(envPrefix, &cfg); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log.LogAttrs(context.Background(), slog.LevelInfo, "config", envconfig.Attrs(envPrefix, &cfg)...)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	shutdown, err := tracing.Start(ctx, service)
	if err != nil {
		return err
	}
	log.Info("tracing", "exporting", tracing.On(), "endpoint", os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"))
	defer func() {
		flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(flushCtx); err != nil {
			log.Warn("tracing: could not flush the last spans", "err", err)
		}
	}()
	return run(ctx, cfg, log, nil)
}
