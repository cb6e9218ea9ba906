// Package payment is the payment service: it takes the money for each new
// order through the card processor (PSP), records the outcome in the order's
// payment stream, and gives the money back when the compensation service
// asks. Its events drive the rest of the saga (docs/saga.md).
//
// Run is the whole program; cmd/payment only wires it to the process
// environment, so tests start the real thing on ":0".
package payment

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/orderflow/orderflow/payment/adapters"
	"github.com/orderflow/orderflow/payment/adapters/postgres"
	"github.com/orderflow/orderflow/payment/app"
	"github.com/orderflow/orderflow/payment/app/command"
	"github.com/orderflow/orderflow/payment/app/query"
	"github.com/orderflow/orderflow/payment/ports"
	"github.com/orderflow/orderflow/platform/groupcommit"
	"github.com/orderflow/orderflow/platform/service"
)

// name is the service's name: its consumer group (unless configured), its
// inbox, and its tag in logs.
const name = "payment"

// Run runs the payment service until ctx is done. ready, if not nil,
// receives the HTTP address once the service listens.
func Run(ctx context.Context, cfg Config, log *slog.Logger, ready chan<- net.Addr) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	svc, err := service.Open(ctx, name, cfg.Service, log, postgres.Migrations())
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	// The deployment shares one service token: the PSP wants the one the
	// payment service itself is called with.
	psp := adapters.NewPSP(cfg.PSP.URL, adapters.NewHTTPClient(cfg.Charges.Concurrency, cfg.Service.ServiceToken),
		adapters.WithMetrics(svc.Metrics))
	svc.Health.Add("psp", psp.Ping)
	payments := postgres.NewPayments(postgres.NewRepository(svc.Store), cfg.Charges.SweepGrace)
	charge := command.NewChargePayment(payments, command.NewCharger(psp, cfg.PSP.RetryPolicy(), log),
		cfg.Charges.Concurrency, groupcommit.Config{MaxBatch: cfg.Charges.OutcomeBatch}, time.Now, log)
	application := app.Application{
		Commands: app.Commands{
			RequestPayment: command.NewRequestPaymentHandler(time.Now),
			ChargePayment:  charge,
			RefundPayment: command.NewRefundPaymentHandler(payments, psp, cfg.PSP.Timeout, cfg.Charges.Concurrency,
				time.Now, log),
		},
		Queries: app.Queries{
			GetPayment: query.NewGetPayment(payments),
		},
	}
	ports.NewHTTPServer(application, log).Register(svc.Mux)

	// The service does not read its own topic: it charges right after a
	// request commits, and the sweep charges what a crash interrupted.
	topics := []string{svc.Topics.Order, svc.Topics.Compensation}
	if err := svc.Consume(topics, ports.EventHandler(svc.Store, payments, application.Commands),
		service.OnlyTypes(ports.Types()...)); err != nil {
		svc.Pool.Close()
		return fmt.Errorf("consume: %w", err)
	}
	sweep := command.NewSweep(payments, payments, charge, cfg.Charges.SweepInterval, cfg.Charges.OutcomeBatch, log)
	return svc.Run(ctx, ready, charge.Run, sweep.Run)
}
