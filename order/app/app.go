// Package app gathers the order service's use cases — the commands that
// change orders and the query that reads one — so the ports get them from
// one place. It group-commits the gateway's commands: createOrder and
// cancelOrder requests that arrive together share one transaction.
package app

import (
	"context"

	"github.com/orderflow/orderflow/order/app/command"
	"github.com/orderflow/orderflow/order/app/query"
	"github.com/orderflow/orderflow/order/domain"
	"github.com/orderflow/orderflow/platform/groupcommit"
)

// Application is every use case of the service.
type Application struct {
	Commands Commands
	Queries  Queries
}

// Commands change orders.
type Commands struct {
	// CreateOrder and CancelOrder are group-committed: a request waits for
	// the commit of the one transaction it shares with the requests that
	// arrived with it, and gets its own answer or error.
	CreateOrder *groupcommit.Batcher[command.CreateOrder, domain.Order]
	CancelOrder *groupcommit.Batcher[command.CancelOrder, domain.Order]
	// The reactions to other services' events decide in a unit of work the
	// consumer opened for a batch of messages.
	MarkPaid             command.MarkPaidHandler
	DecideCancellation   command.DecideCancellationHandler
	CompleteCancellation command.CompleteCancellationHandler
}

// Queries read orders.
type Queries struct {
	Order query.OrderHandler
}

// Units runs fn on a unit of work in one transaction and commits what fn
// recorded.
type Units interface {
	Update(ctx context.Context, fn func(ctx context.Context, orders command.Orders, keys command.Keys) error) error
}

// New returns the application. Commands run in units; the query reads
// orders; now stamps recorded events.
func New(units Units, orders query.OrderLoader, now command.Clock, batch groupcommit.Config) Application {
	create, cancel := command.NewCreateOrdersHandler(now), command.NewCancelOrdersHandler(now)
	return Application{
		Commands: Commands{
			CreateOrder: groupcommit.New(batch, func(ctx context.Context, cmds []command.CreateOrder) ([]command.Result, error) {
				var out []command.Result
				err := units.Update(ctx, func(ctx context.Context, orders command.Orders, keys command.Keys) error {
					var err error
					out, err = create.Handle(ctx, orders, keys, cmds)
					return err
				})
				return out, err
			}),
			CancelOrder: groupcommit.New(batch, func(ctx context.Context, cmds []command.CancelOrder) ([]command.Result, error) {
				var out []command.Result
				err := units.Update(ctx, func(ctx context.Context, orders command.Orders, _ command.Keys) error {
					var err error
					out, err = cancel.Handle(ctx, orders, cmds)
					return err
				})
				return out, err
			}),
			MarkPaid:             command.NewMarkPaidHandler(now),
			DecideCancellation:   command.NewDecideCancellationHandler(now),
			CompleteCancellation: command.NewCompleteCancellationHandler(now),
		},
		Queries: Queries{Order: query.NewOrderHandler(orders)},
	}
}
