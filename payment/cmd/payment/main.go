// Command payment runs the payment service. Its settings come from PAYMENT_*
// environment variables (see payment.Config).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/orderflow/orderflow/payment"
	"github.com/orderflow/orderflow/platform/envconfig"
	"github.com/orderflow/orderflow/platform/logging"
)

func main() {
	log := logging.New(os.Stdout, "payment", slog.LevelInfo)
	if err := run(log); err != nil {
		log.Error("payment service failed", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	cfg := payment.DefaultConfig()
	if err := envconfig.Load(payment.EnvPrefix, &cfg); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log.LogAttrs(context.Background(), slog.LevelInfo, "config", envconfig.Attrs(payment.EnvPrefix, &cfg)...)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return payment.Run(ctx, cfg, log, nil)
}
