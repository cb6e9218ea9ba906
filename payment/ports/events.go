package ports

import (
	"context"
	"errors"

	"github.com/orderflow/orderflow/payment/app"
	"github.com/orderflow/orderflow/payment/app/command"
	"github.com/orderflow/orderflow/payment/domain"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/schema"
)

// EventHandler routes the events the payment service reacts to by type:
// OrderCreated requests a payment, the service's own PaymentRequested
// charges it, RefundRequested refunds it. Every other event is skipped.
//
// Each use case records the message as handled in the same transaction as
// its effect; the charge and refund call the PSP before that transaction, so
// they do not use inbox.Handler.
func EventHandler(a app.Application) consumer.Handler {
	return consumer.PerMessage(func(ctx context.Context, msg consumer.Message) error {
		env := msg.Envelope
		var err error
		switch e := env.Payload.(type) {
		case schema.OrderCreated:
			err = a.Commands.RequestPayment.Handle(ctx, env, e)
		case schema.PaymentRequested:
			err = a.Commands.ChargePayment.Handle(ctx, env, e)
		case schema.RefundRequested:
			err = a.Commands.RefundPayment.Handle(ctx, env, e)
		}
		return classify(err)
	})
}

// classify marks the errors no retry can fix as permanent, so the message
// goes to the dead-letter topic with the reason instead of blocking its
// partition: a broken payment rule, a payment that does not exist, a PSP
// that refused the call outright. Anything else (the database, a PSP that is
// down or slow) is retried.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var rejected *command.PSPRejectedError
	if errors.Is(err, domain.ErrIllegalTransition) || errors.Is(err, domain.ErrInvalid) ||
		errors.Is(err, domain.ErrNotFound) || errors.As(err, &rejected) {
		return consumer.Permanent(err)
	}
	return err
}
