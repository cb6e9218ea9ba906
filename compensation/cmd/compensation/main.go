// Command compensation runs the compensation service. Its settings come from
// COMPENSATION_* environment variables (see compensation.Config).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/orderflow/orderflow/compensation"
	"github.com/orderflow/orderflow/platform/envconfig"
	"github.com/orderflow/orderflow/platform/logging"
)

func main() {
	log := logging.New(os.Stdout, compensation.Name, slog.LevelInfo)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log); err != nil {
		log.Error("compensation stopped", "err", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger) error {
	cfg := compensation.DefaultConfig()
	if err := envconfig.Load(compensation.EnvPrefix, &cfg); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log.LogAttrs(ctx, slog.LevelInfo, "starting", envconfig.Attrs(compensation.EnvPrefix, &cfg)...)
	if err := compensation.Run(ctx, cfg, log, nil); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}
