package command_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/compensation/app/command"
	"github.com/orderflow/orderflow/compensation/domain"
	"github.com/orderflow/orderflow/schema"
)

const orderID = "3d5f0c1a-9b7e-4c2d-8e6f-1a2b3c4d5e6f"

var (
	createdAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now       = createdAt.Add(5 * time.Second)
	clock     = func() time.Time { return now }
)

// fakeSagas is a unit of work in memory: each Record appends at the next
// version at once, as the event store's unit does until it is saved.
type fakeSagas struct{ streams map[string][]schema.Envelope }

func newFakeSagas() *fakeSagas { return &fakeSagas{streams: map[string][]schema.Envelope{}} }

func (f *fakeSagas) Get(_ context.Context, orderID string) (command.LoadedSaga, int, error) {
	saga := command.LoadedSaga{OrderID: orderID}
	for _, env := range f.streams[orderID] {
		saga = saga.Apply(env)
	}
	return saga, len(f.streams[orderID]), nil
}

func (f *fakeSagas) Record(_ context.Context, orderID string, events ...schema.Envelope) error {
	stream := f.streams[orderID]
	for _, env := range events {
		env.Version = len(stream) + 1
		stream = append(stream, env)
	}
	f.streams[orderID] = stream
	return nil
}

func (f *fakeSagas) types(orderID string) []string {
	var out []string
	for _, env := range f.streams[orderID] {
		out = append(out, env.Type)
	}
	return out
}

func startSaga(t *testing.T, sagas *fakeSagas) schema.Envelope {
	t.Helper()
	h := command.NewStartSagaHandler(30*time.Second, clock)
	require.NoError(t, h.Handle(context.Background(), sagas, command.StartSaga{
		OrderID: orderID, Amount: 4200, CreatedAt: createdAt,
		Cause: schema.Cause{CorrelationID: orderID, CausationID: "order-created-id", TraceParent: "00-trace-span-01"},
	}))
	return sagas.streams[orderID][0]
}

func TestStartSagaCountsTheDeadlineFromTheOrdersCreation(t *testing.T) {
	sagas := newFakeSagas()
	env := startSaga(t, sagas)

	require.Equal(t, schema.SagaStarted{OrderID: orderID, Amount: 4200, PaymentDeadline: createdAt.Add(30 * time.Second)}, env.Payload)
	require.Equal(t, schema.AggregateCompensation, env.AggregateType)
	require.Equal(t, orderID, env.AggregateID)
	require.Equal(t, orderID, env.CorrelationID)
	require.Equal(t, "order-created-id", env.CausationID)
	require.Equal(t, "00-trace-span-01", env.TraceParent)
	require.Equal(t, now, env.OccurredAt)
	require.NoError(t, schema.ValidateEnvelope(env))
}

func TestRecordedEventsAreCorrelatedByOrderID(t *testing.T) {
	sagas := newFakeSagas()
	startSaga(t, sagas)

	// A cause that carries some other correlation id must not move the
	// saga's events off the order's Kafka key.
	h := command.NewRecordPaymentFailureHandler(clock)
	require.NoError(t, h.Handle(context.Background(), sagas, command.RecordPaymentFailure{
		OrderID: orderID, Reason: schema.ReasonPaymentDeclined,
		Cause: schema.Cause{CorrelationID: "something-else", CausationID: "declined-id"},
	}))

	decided := sagas.streams[orderID][1]
	require.Equal(t, schema.CancellationDecided{OrderID: orderID, Reason: schema.ReasonPaymentDeclined}, decided.Payload)
	require.Equal(t, orderID, decided.CorrelationID)
	require.Equal(t, "declined-id", decided.CausationID)
}

func TestRecordPaymentFailureRefusesAnUnknownReason(t *testing.T) {
	sagas := newFakeSagas()
	startSaga(t, sagas)

	err := command.NewRecordPaymentFailureHandler(clock).Handle(context.Background(), sagas,
		command.RecordPaymentFailure{OrderID: orderID, Reason: "BORED"})
	require.ErrorContains(t, err, "BORED")
	require.Equal(t, []string{schema.TypeSagaStarted}, sagas.types(orderID))
}

func TestFireDeadline(t *testing.T) {
	deadline := createdAt.Add(30 * time.Second)
	tests := []struct {
		name    string
		now     time.Time
		want    []string
		wantErr error
		orderID string
	}{
		{name: "due: the cancel is decided", now: deadline, orderID: orderID,
			want: []string{schema.TypeSagaStarted, schema.TypeCancellationDecided}},
		{name: "not due yet: nothing happens", now: deadline.Add(-time.Second), orderID: orderID,
			want: []string{schema.TypeSagaStarted}},
		{name: "no such saga", now: deadline, orderID: "no-such-order", wantErr: domain.ErrNotStarted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sagas := newFakeSagas()
			startedBy := startSaga(t, sagas)

			err := command.NewFireDeadlineHandler().Handle(context.Background(), sagas,
				command.FireDeadline{OrderID: tt.orderID, Now: tt.now})
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, sagas.types(orderID))
			if len(tt.want) == 2 {
				decided := sagas.streams[orderID][1]
				require.Equal(t, schema.CancellationDecided{OrderID: orderID, Reason: schema.ReasonPaymentTimeout}, decided.Payload)
				require.Equal(t, startedBy.ID, decided.CausationID, "the deadline was set by SagaStarted")
				require.Equal(t, orderID, decided.CorrelationID)
				require.Equal(t, tt.now, decided.OccurredAt)
			}
		})
	}
}

func TestHandlersRecordTheirFacts(t *testing.T) {
	ctx := context.Background()
	sagas := newFakeSagas()
	startSaga(t, sagas)
	cause := schema.Cause{CausationID: "cause"}

	require.NoError(t, command.NewRecordCaptureHandler(clock).Handle(ctx, sagas, command.RecordCapture{OrderID: orderID,
		Capture: domain.Capture{PaymentID: "pay-1", ChargeID: "ch_1", Amount: 4200}, Cause: cause}))
	require.NoError(t, command.NewSettleSagaHandler(clock).Handle(ctx, sagas, command.SettleSaga{OrderID: orderID, Cause: cause}))
	require.NoError(t, command.NewStartCancellationHandler(clock).Handle(ctx, sagas, command.StartCancellation{
		OrderID: orderID, Reason: schema.ReasonCustomerRequest, Cause: cause}))
	require.NoError(t, command.NewRecordRefundHandler(clock).Handle(ctx, sagas, command.RecordRefund{
		OrderID: orderID, PaymentID: "pay-1", RefundID: "re_1", Cause: cause}))

	require.Equal(t, []string{
		schema.TypeSagaStarted, schema.TypeCaptureRecorded, schema.TypeSagaSettled, schema.TypeCancellationStarted,
		schema.TypeRefundRequested, schema.TypeRefundConfirmed, schema.TypeCancellationCompleted,
	}, sagas.types(orderID))
	for i, env := range sagas.streams[orderID] {
		require.Equal(t, i+1, env.Version)
		require.NoError(t, schema.ValidateEnvelope(env))
	}
}
