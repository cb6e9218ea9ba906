// Package paymentgateway is the simulated card processor (PSP) that orderflow
// charges through. It exists so that the payment and compensation services
// can be tested against something that fails the way real processors do:
// declines, slow answers that outlive the caller's timeout, 503s that pass on
// retry, and idempotency keys that make retries safe.
//
// Run is the whole program; cmd/paymentgateway only wires it to the process
// environment, so tests start the real thing on ":0".
package paymentgateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	httpapi "github.com/orderflow/orderflow/paymentgateway/http"
	"github.com/orderflow/orderflow/paymentgateway/postgres"
	"github.com/orderflow/orderflow/platform/auth"
	"github.com/orderflow/orderflow/platform/health"
	"github.com/orderflow/orderflow/platform/httpserver"
	"github.com/orderflow/orderflow/platform/metrics"
	"github.com/orderflow/orderflow/platform/tracing"
)

// EnvPrefix prefixes every environment variable of the process.
const EnvPrefix = "PAYMENTGATEWAY_"

// Config is the process's configuration, read from PAYMENTGATEWAY_* variables.
type Config struct {
	// HTTPAddr is loopback by default; every route but /healthz, /readyz
	// and /metrics needs the service token as well.
	HTTPAddr    string `env:"HTTP_ADDR" default:"127.0.0.1:8083"`
	PostgresDSN string `env:"POSTGRES_DSN" default:"postgres://orderflow:orderflow@127.0.0.1:5432/orderflow_paymentgateway?sslmode=disable" secret:"true"`
	// Latency is added to every charge and refund answer.
	Latency time.Duration `env:"LATENCY" default:"0s"`
	// DeclineRate is the share (0–1) of otherwise captured charges declined
	// as card_declined, for load tests.
	DeclineRate float64 `env:"DECLINE_RATE" default:"0"`
	// SlowDelay is how late tok_slow charges are answered.
	SlowDelay time.Duration `env:"SLOW_DELAY" default:"3s"`
	// FlakyFailures is how many 503s each idempotency key gets before a
	// tok_flaky charge succeeds.
	FlakyFailures int `env:"FLAKY_FAILURES" default:"2"`
	// ShutdownTimeout bounds how long requests in hand may take to finish.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" default:"10s"`
	// ServiceToken is the deployment's shared secret: every request but
	// /healthz, /readyz and /metrics must carry it as a bearer token, so
	// that only the payment service (and the operators' tools) charge,
	// refund or read the ledger. `make run` generates one in .data/auth/service-token.
	ServiceToken string `env:"SERVICE_TOKEN" secret:"true"`
}

// Validate says what is wrong with the configuration, or returns nil.
func (c Config) Validate() error {
	var errs []error
	if c.HTTPAddr == "" {
		errs = append(errs, errors.New(EnvPrefix+"HTTP_ADDR must not be empty"))
	}
	if c.PostgresDSN == "" {
		errs = append(errs, errors.New(EnvPrefix+"POSTGRES_DSN must not be empty"))
	}
	if c.Latency < 0 {
		errs = append(errs, errors.New(EnvPrefix+"LATENCY must not be negative"))
	}
	if c.DeclineRate < 0 || c.DeclineRate > 1 {
		errs = append(errs, errors.New(EnvPrefix+"DECLINE_RATE must be between 0 and 1"))
	}
	if c.SlowDelay < 0 {
		errs = append(errs, errors.New(EnvPrefix+"SLOW_DELAY must not be negative"))
	}
	if c.FlakyFailures < 0 {
		errs = append(errs, errors.New(EnvPrefix+"FLAKY_FAILURES must not be negative"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New(EnvPrefix+"SHUTDOWN_TIMEOUT must be positive"))
	}
	if err := auth.CheckServiceToken(c.ServiceToken); err != nil {
		what := "is too short"
		if c.ServiceToken == "" {
			what = "is required"
		}
		errs = append(errs, fmt.Errorf("%sSERVICE_TOKEN %s: %w", EnvPrefix, what, err))
	}
	return errors.Join(errs...)
}

// Run migrates the ledger and serves the API until ctx ends, then shuts down
// gracefully. The bound address is sent on ready (may be nil) once it listens.
func Run(ctx context.Context, cfg Config, log *slog.Logger, ready chan<- net.Addr) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	pool, err := pgxpool.New(ctx, cfg.PostgresDSN)
	if err != nil {
		return fmt.Errorf("connect postgres: %w", err)
	}
	defer pool.Close()
	if err := postgres.Migrate(ctx, pool); err != nil {
		return err
	}
	ledger := postgres.NewLedger(pool)

	checker := health.New(2 * time.Second)
	checker.Add("postgres", ledger.Ping)
	reg := metrics.New()
	handler := httpapi.NewHandler(httpapi.Options{
		Latency:       cfg.Latency,
		DeclineRate:   cfg.DeclineRate,
		SlowDelay:     cfg.SlowDelay,
		FlakyFailures: cfg.FlakyFailures,
		Metrics:       reg.Handler(),
	}, ledger, checker, log)

	// /metrics is open like the health checks, so that Prometheus scrapes
	// it without the service token: it holds counts and timings, no secret
	// and no charge's data.
	handler = auth.RequireServiceToken(cfg.ServiceToken, handler, "/healthz", "/readyz", "/metrics")
	handler = metrics.NewHTTP(reg).Wrap(tracing.Handler(handler))

	if err := httpserver.Serve(ctx, log, cfg.HTTPAddr, handler, cfg.ShutdownTimeout, ready); err != nil {
		return fmt.Errorf("http: %w", err)
	}
	return nil
}
