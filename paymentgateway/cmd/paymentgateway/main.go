// Command paymentgateway runs the simulated card processor. Its settings come
// from PAYMENTGATEWAY_* environment variables (see paymentgateway.Config).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/orderflow/orderflow/paymentgateway"
	"github.com/orderflow/orderflow/platform/envconfig"
	"github.com/orderflow/orderflow/platform/logging"
)

func main() {
	log := logging.New(os.Stdout, "paymentgateway", slog.LevelInfo)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log); err != nil {
		log.Error("paymentgateway stopped", "error", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger) error {
	var cfg paymentgateway.Config
	if err := envconfig.Load(paymentgateway.EnvPrefix, &cfg); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log.LogAttrs(ctx, slog.LevelInfo, "starting", envconfig.Attrs(paymentgateway.EnvPrefix, &cfg)...)
	if err := paymentgateway.Run(ctx, cfg, log, nil); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}
