// Package app gathers the compensation service's use cases — the commands
// that react to facts and the queries that report on sagas — so that the
// ports get them from one place.
package app

import (
	"time"

	"github.com/orderflow/orderflow/compensation/app/command"
	"github.com/orderflow/orderflow/compensation/app/query"
)

// Application is every use case of the service.
type Application struct {
	Commands Commands
	Queries  Queries
}

// Commands react to facts about orders and payments.
type Commands struct {
	StartSaga            command.StartSagaHandler
	RecordPaymentFailure command.RecordPaymentFailureHandler
	RecordCapture        command.RecordCaptureHandler
	SettleSaga           command.SettleSagaHandler
	StartCancellation    command.StartCancellationHandler
	RecordRefund         command.RecordRefundHandler
	FireDeadline         command.FireDeadlineHandler
}

// Queries report on sagas.
type Queries struct {
	Saga query.SagaHandler
}

// New returns the application. Payments not captured within paymentTimeout
// of their order's creation time out; now stamps recorded events.
func New(sagas query.SagaLoader, paymentTimeout time.Duration, now command.Clock) Application {
	return Application{
		Commands: Commands{
			StartSaga:            command.NewStartSagaHandler(paymentTimeout, now),
			RecordPaymentFailure: command.NewRecordPaymentFailureHandler(now),
			RecordCapture:        command.NewRecordCaptureHandler(now),
			SettleSaga:           command.NewSettleSagaHandler(now),
			StartCancellation:    command.NewStartCancellationHandler(now),
			RecordRefund:         command.NewRecordRefundHandler(now),
			FireDeadline:         command.NewFireDeadlineHandler(),
		},
		Queries: Queries{Saga: query.NewSagaHandler(sagas)},
	}
}
