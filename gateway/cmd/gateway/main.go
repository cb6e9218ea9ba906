// Command gateway runs the GraphQL gateway.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/orderflow/orderflow/gateway"
	"github.com/orderflow/orderflow/platform/envconfig"
	"github.com/orderflow/orderflow/platform/logging"
)

func main() {
	log := logging.New(os.Stdout, "gateway", slog.LevelInfo)
	if err := run(log); err != nil {
		log.Error("gateway failed", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	cfg := gateway.DefaultConfig()
	if err := envconfig.Load(gateway.EnvPrefix, &cfg); err != nil {
		return err
	}
	log.LogAttrs(context.Background(), slog.LevelInfo, "config", envconfig.Attrs(gateway.EnvPrefix, &cfg)...)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return gateway.Run(ctx, cfg, log, nil)
}
