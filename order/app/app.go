// Package app holds the order service's use cases: the commands the gateway
// sends (create, cancel), the query it may ask (get), and the reactions to
// other services' events. One file per use case.
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderflow/orderflow/order/domain"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/schema"
)

// App runs the order use cases over the event store.
type App struct {
	pool  *pgxpool.Pool
	store *eventstore.Store
	now   func() time.Time
}

// New returns the order use cases.
func New(store *eventstore.Store) *App {
	return &App{pool: store.Pool(), store: store, now: time.Now}
}

func stream(orderID string) eventstore.StreamID {
	return eventstore.StreamID{Type: schema.AggregateOrder, ID: orderID}
}

// load folds order id from db; a missing order is a NOT_FOUND error.
func (a *App) load(ctx context.Context, db eventstore.DB, orderID string) (*domain.Order, error) {
	events, err := a.store.LoadTx(ctx, db, stream(orderID))
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return nil, domain.Errorf(domain.CodeNotFound, "order %s does not exist", orderID)
	}
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	return domain.Rehydrate(events)
}

// record appends events to the order at its loaded version inside tx and
// applies them, so o reflects what was stored.
func (a *App) record(ctx context.Context, tx pgx.Tx, o *domain.Order, events []schema.Event, cause schema.Cause) error {
	if len(events) == 0 {
		return nil
	}
	envs := make([]schema.Envelope, len(events))
	for i, ev := range events {
		envs[i] = schema.New(schema.AggregateOrder, o.ID, ev, cause, a.now())
	}
	stored, err := a.store.AppendTx(ctx, tx, stream(o.ID), o.Version, envs)
	if err != nil {
		return fmt.Errorf("append: %w", err)
	}
	for _, env := range stored {
		if err := o.Apply(env); err != nil {
			return err
		}
	}
	return nil
}

// react loads the order named by an incoming event inside tx, lets decide
// choose what to record, and records it, caused by the incoming event.
func (a *App) react(ctx context.Context, tx pgx.Tx, in schema.Envelope, orderID string,
	decide func(o *domain.Order) ([]schema.Event, error)) error {
	o, err := a.load(ctx, tx, orderID)
	if err != nil {
		return err
	}
	events, err := decide(o)
	if err != nil {
		return err
	}
	return a.record(ctx, tx, o, events, in.CausedBy())
}

// maxConflictRetries bounds how often a command reloads after another
// writer changed the order first.
const maxConflictRetries = 5

// retryOnConflict runs fn again while it fails with a version conflict.
func retryOnConflict(fn func() error) error {
	var err error
	for range maxConflictRetries {
		if err = fn(); !errors.Is(err, eventstore.ErrConcurrency) {
			return err
		}
	}
	return domain.Errorf(domain.CodeConflict, "the order is being changed concurrently; retry")
}
