// Package process is the main function of every orderflow service, so that
// each starts and stops the same way: a JSON logger, the configuration read
// from the environment under the service's prefix and logged with secrets
// masked, a context cancelled by SIGINT or SIGTERM, and exit status 1 when
// the service fails.
package process

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/orderflow/orderflow/platform/envconfig"
	"github.com/orderflow/orderflow/platform/logging"
)

// RunFunc runs a service until ctx is done; ready, if not nil, receives its
// HTTP address.
type RunFunc[C any] func(ctx context.Context, cfg C, log *slog.Logger, ready chan<- net.Addr) error

// Main runs a service from main(): defaults overridden by the environment
// variables under envPrefix, then run. It does not return.
func Main[C any](service, envPrefix string, defaults C, run RunFunc[C]) {
	log := logging.New(os.Stdout, service, slog.LevelInfo)
	if err := start(log, envPrefix, defaults, run); err != nil {
		log.Error(service+" failed", "err", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func start[C any](log *slog.Logger, envPrefix string, cfg C, run RunFunc[C]) error {
	if err := envconfig.Load(envPrefix, &cfg); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log.LogAttrs(context.Background(), slog.LevelInfo, "config", envconfig.Attrs(envPrefix, &cfg)...)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, cfg, log, nil)
}
