// Command order runs the order service.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/orderflow/orderflow/order"
	"github.com/orderflow/orderflow/platform/envconfig"
	"github.com/orderflow/orderflow/platform/logging"
)

func main() {
	log := logging.New(os.Stdout, "order", slog.LevelInfo)
	if err := run(log); err != nil {
		log.Error("order service failed", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	cfg := order.DefaultConfig()
	if err := envconfig.Load(order.EnvPrefix, &cfg); err != nil {
		return err
	}
	log.LogAttrs(context.Background(), slog.LevelInfo, "config", envconfig.Attrs(order.EnvPrefix, &cfg)...)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return order.Run(ctx, cfg, log, nil)
}
