// Package order is the order service: it owns the order aggregate, takes the
// gateway's commands over HTTP, and reacts to payment captures and to the
// compensation service's decisions. Run wires it on the shared plumbing.
package order

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/orderflow/orderflow/order/adapters/postgres"
	"github.com/orderflow/orderflow/order/app"
	"github.com/orderflow/orderflow/order/ports"
	"github.com/orderflow/orderflow/platform/envconfig"
	"github.com/orderflow/orderflow/platform/groupcommit"
	"github.com/orderflow/orderflow/platform/service"
)

// EnvPrefix prefixes every environment variable of the order service.
const EnvPrefix = "ORDER_"

// Config is the order service's configuration.
type Config struct {
	Service service.Config
	// CommandBatch is the most createOrder or cancelOrder requests that
	// share one transaction.
	CommandBatch int `env:"COMMAND_BATCH" default:"64"`
}

// DefaultConfig returns the defaults that work with `make infra`.
func DefaultConfig() Config {
	cfg := Config{Service: service.Config{
		HTTPAddr:    "127.0.0.1:8081",
		PostgresDSN: "postgres://orderflow:orderflow@127.0.0.1:5432/orderflow_order?sslmode=disable",
	}}
	_ = envconfig.Defaults(&cfg) // the tags are constants: checked by the tests
	return cfg
}

// Validate reports a missing or wrong setting.
func (c Config) Validate() error {
	if c.CommandBatch < 1 {
		return fmt.Errorf("ORDER_COMMAND_BATCH must be at least 1 (got %d)", c.CommandBatch)
	}
	return c.Service.Validate()
}

// Run runs the order service until ctx is done. ready, if not nil, receives
// the HTTP address once the service listens.
func Run(ctx context.Context, cfg Config, log *slog.Logger, ready chan<- net.Addr) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	svc, err := service.Open(ctx, "order", cfg.Service, log)
	if err != nil {
		return err
	}
	repo := postgres.NewRepository(svc.Store)
	orders := postgres.NewOrders(repo)
	application := app.New(orders, orders, time.Now, groupcommit.Config{MaxBatch: cfg.CommandBatch})
	ports.NewHTTP(application, log).Register(svc.Mux)
	if err := svc.Consume([]string{svc.Topics.Payment, svc.Topics.Compensation},
		ports.EventHandler(svc.Store, repo, application.Commands)); err != nil {
		return err
	}
	return svc.Run(ctx, ready)
}
