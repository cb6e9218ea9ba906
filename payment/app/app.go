// Package app is the payment service's application layer: the use cases the
// ports call, grouped into commands (which change payments) and queries
// (which only read them).
package app

import (
	"github.com/orderflow/orderflow/payment/app/command"
	"github.com/orderflow/orderflow/payment/app/query"
)

// Application is every use case of the payment service.
type Application struct {
	Commands Commands
	Queries  Queries
}

// Commands are the reactions to the saga's events.
type Commands struct {
	RequestPayment command.RequestPaymentHandler
	ChargePayment  *command.ChargePayment
	RefundPayment  command.RefundPaymentHandler
}

// Queries read payments.
type Queries struct {
	GetPayment query.GetPayment
}
