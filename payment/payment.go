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
	"net/http"

	"github.com/orderflow/orderflow/payment/adapters"
	"github.com/orderflow/orderflow/payment/app"
	"github.com/orderflow/orderflow/payment/app/command"
	"github.com/orderflow/orderflow/payment/app/query"
	"github.com/orderflow/orderflow/payment/ports"
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
	svc, err := service.Open(ctx, name, cfg.Service, log)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}

	psp := adapters.NewPSP(cfg.PSP.URL, &http.Client{})
	svc.Health.Add("psp", psp.Ping)
	payments := adapters.NewPaymentRepository(svc.Store, name)
	charge := command.NewChargePayment(payments, command.NewCharger(psp, cfg.PSP.RetryPolicy(), log), log)
	application := app.Application{
		Commands: app.Commands{
			RequestPayment: command.NewRequestPayment(payments, charge, log),
			ChargePayment:  charge,
			RefundPayment:  command.NewRefundPayment(payments, psp, cfg.PSP.Timeout, log),
		},
		Queries: app.Queries{
			GetPayment: query.NewGetPayment(payments),
		},
	}

	ports.NewHTTPServer(application, log).Register(svc.Mux)
	topics := []string{svc.Topics.Order, svc.Topics.Payment, svc.Topics.Compensation}
	if err := svc.Consume(topics, ports.EventHandler(application)); err != nil {
		svc.Pool.Close()
		return fmt.Errorf("consume: %w", err)
	}
	return svc.Run(ctx, ready)
}
