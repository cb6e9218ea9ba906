// Package compensation is the compensation service: the only part of
// orderflow that decides compensations. It follows each order's saga from
// the order and payment events, cancels orders whose payment was declined,
// failed or timed out, and makes sure money taken for a cancelled order is
// refunded (docs/saga.md). Its decisions are events in its own stream per
// order, so a restart resumes every saga — payment deadlines included —
// where it was.
//
// Run is the whole program; cmd/compensation only wires it to the process
// environment, so tests start the real thing on ":0".
package compensation

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/compensation/adapters/postgres"
	"github.com/orderflow/orderflow/compensation/app"
	"github.com/orderflow/orderflow/compensation/ports/deadline"
	"github.com/orderflow/orderflow/compensation/ports/events"
	"github.com/orderflow/orderflow/compensation/ports/httpapi"
	"github.com/orderflow/orderflow/platform/service"
)

// Name is the service's name: its consumer group (unless configured) and
// the service label of its logs.
const Name = "compensation"

// Run runs the compensation service until ctx is done. ready, if not nil,
// receives the HTTP address once the service listens.
func Run(ctx context.Context, cfg Config, log *slog.Logger, ready chan<- net.Addr) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	svc, err := service.Open(ctx, Name, cfg.Service, log, postgres.Migrations())
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}

	sagas := postgres.NewSagas(postgres.NewRepository(svc.Store))
	application := app.New(sagas, cfg.PaymentTimeout, time.Now)
	units := func(ctx context.Context, tx pgx.Tx, orderIDs ...string) (events.Unit, error) {
		u, err := sagas.Begin(ctx, tx, orderIDs...)
		if err != nil {
			return nil, err
		}
		return u, nil
	}
	handler := events.NewHandler(svc.Store, application, units)
	// A payment outcome often reaches compensation before its order's
	// OrderCreated (the payment service charges right after it, and the
	// two travel on different topics): that retry clears within
	// milliseconds, so the backoff starts there, not at 100 ms.
	if err := svc.Consume([]string{svc.Topics.Order, svc.Topics.Payment}, handler,
		service.RetryFrom(5*time.Millisecond)); err != nil {
		svc.Pool.Close()
		return fmt.Errorf("consume: %w", err)
	}

	deadlines := postgres.NewDeadlines(sagas, log)
	svc.Health.AddDetail("pendingDeadlines", func() any {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := deadlines.Pending(ctx)
		if err != nil {
			return err.Error()
		}
		return n
	})
	httpapi.Register(svc.Mux, application.Queries.Saga, log)
	poller := deadline.NewPoller(deadlines, application.Commands.FireDeadline, cfg.DeadlinePoll, time.Now, log)
	overdue := deadline.NewOverdueWatch(deadlines, svc.Metrics, 5*time.Second, log)

	return svc.Run(ctx, ready, poller.Run, overdue.Run)
}
