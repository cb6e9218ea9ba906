// Package ports adapts the outside world to the order use cases: the HTTP
// command API the gateway calls, and the Kafka events the service reacts to.
package ports

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/order/app"
	"github.com/orderflow/orderflow/order/domain"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/inbox"
	"github.com/orderflow/orderflow/schema"
)

// ConsumerName names the order service's inbox.
const ConsumerName = "order"

// EventHandler routes the events the order service reacts to, each handled
// once inside an inbox transaction. Other events are skipped without a
// transaction.
func EventHandler(db inbox.Transactor, a *app.App) consumer.Handler {
	handle := inbox.Handler(db, ConsumerName, func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		var err error
		switch e := msg.Envelope.Payload.(type) {
		case schema.PaymentCaptured:
			err = a.OnPaymentCaptured(ctx, tx, msg.Envelope, e)
		case schema.CancellationDecided:
			err = a.OnCancellationDecided(ctx, tx, msg.Envelope, e)
		case schema.CancellationCompleted:
			err = a.OnCancellationCompleted(ctx, tx, msg.Envelope, e)
		}
		return classify(err)
	})
	return consumer.Filter(func(msg consumer.Message) bool {
		switch msg.Envelope.Payload.(type) {
		case schema.PaymentCaptured, schema.CancellationDecided, schema.CancellationCompleted:
			return true
		}
		return false
	}, handle)
}

// classify marks errors no retry can fix — an event for an order that does
// not exist, or one that would break the order's status rules — as permanent,
// so they are dead-lettered with their reason instead of blocking.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, domain.ErrIllegalTransition) || domain.ErrorCode(err) == domain.CodeNotFound {
		return consumer.Permanent(err)
	}
	return err
}
