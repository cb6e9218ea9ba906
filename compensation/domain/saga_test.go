package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/compensation/domain"
	"github.com/orderflow/orderflow/schema"
)

const (
	orderID   = "6f1c2a57-8d0e-4a8b-9c3e-2b1d7e4f5a60"
	paymentID = "0b7d2f1e-5c4a-5e3b-8a9d-1f2e3d4c5b6a"
	chargeID  = "ch_123"
	refundID  = "re_456"
	amount    = int64(4200)
)

var (
	createdAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	deadline  = createdAt.Add(30 * time.Second)
)

// Recorded events, as the saga's stream would hold them.
var (
	started   = schema.SagaStarted{OrderID: orderID, Amount: amount, PaymentDeadline: deadline}
	captured  = schema.CaptureRecorded{OrderID: orderID, PaymentID: paymentID, ChargeID: chargeID, Amount: amount}
	settled   = schema.SagaSettled{OrderID: orderID}
	refundReq = schema.RefundRequested{OrderID: orderID, PaymentID: paymentID, ChargeID: chargeID, Amount: amount}
	refundOK  = schema.RefundConfirmed{OrderID: orderID, PaymentID: paymentID, RefundID: refundID}
)

func decided(reason string) schema.Event {
	return schema.CancellationDecided{OrderID: orderID, Reason: reason}
}

func cancelStarted(reason string) schema.Event {
	return schema.CancellationStarted{OrderID: orderID, Reason: reason}
}

func completed(reason string, refunded bool) schema.Event {
	return schema.CancellationCompleted{OrderID: orderID, Reason: reason, Refunded: refunded}
}

func history(events ...schema.Event) []schema.Event { return events }

// Facts as the compensation service observes them.
type fact func(domain.Saga) ([]schema.Event, error)

var (
	orderCreated    fact = func(s domain.Saga) ([]schema.Event, error) { return s.Start(orderID, amount, deadline) }
	paymentDeclined fact = func(s domain.Saga) ([]schema.Event, error) { return s.PaymentDeclined() }
	paymentFailed   fact = func(s domain.Saga) ([]schema.Event, error) { return s.PaymentFailed() }
	paymentCaptured fact = func(s domain.Saga) ([]schema.Event, error) {
		return s.PaymentCaptured(domain.Capture{PaymentID: paymentID, ChargeID: chargeID, Amount: amount})
	}
	otherCaptured fact = func(s domain.Saga) ([]schema.Event, error) {
		return s.PaymentCaptured(domain.Capture{PaymentID: "other-payment", ChargeID: "ch_other", Amount: amount})
	}
	orderPaid       fact = func(s domain.Saga) ([]schema.Event, error) { return s.OrderPaid() }
	paymentRefunded fact = func(s domain.Saga) ([]schema.Event, error) { return s.PaymentRefunded(paymentID, refundID) }
	otherRefunded   fact = func(s domain.Saga) ([]schema.Event, error) { return s.PaymentRefunded("other-payment", refundID) }
)

func cancelRequested(reason string) fact {
	return func(s domain.Saga) ([]schema.Event, error) { return s.CancellationRequested(reason) }
}

func clockAt(now time.Time) fact {
	return func(s domain.Saga) ([]schema.Event, error) { return s.DeadlinePassed(now) }
}

// TestSagaReactions walks docs/saga.md's table: in each state, each fact
// records exactly the listed events, and the same fact seen again (a
// redelivery, or the same news by another route) records nothing more.
func TestSagaReactions(t *testing.T) {
	const (
		declined = schema.ReasonPaymentDeclined
		failed   = schema.ReasonPaymentFailed
		timeout  = schema.ReasonPaymentTimeout
		customer = schema.ReasonCustomerRequest
	)
	afterDeadline := deadline.Add(time.Millisecond)

	tests := []struct {
		name       string
		given      []schema.Event
		when       fact
		want       []schema.Event
		wantErr    error
		wantStatus domain.Status
	}{
		// OrderCreated
		{name: "order created starts the saga with its payment deadline",
			when: orderCreated, want: history(started), wantStatus: domain.StatusActive},
		{name: "order created again changes nothing",
			given: history(started, captured), when: orderCreated, wantStatus: domain.StatusActive},

		// PaymentDeclined / PaymentFailed
		{name: "decline of an active saga decides the cancel",
			given: history(started), when: paymentDeclined, want: history(decided(declined)), wantStatus: domain.StatusDecided},
		{name: "failure of an active saga decides the cancel",
			given: history(started), when: paymentFailed, want: history(decided(failed)), wantStatus: domain.StatusDecided},
		{name: "decline before the saga started is retried later",
			when: paymentDeclined, wantErr: domain.ErrNotStarted},
		{name: "failure before the saga started is retried later",
			when: paymentFailed, wantErr: domain.ErrNotStarted},
		{name: "decline after a capture changes nothing",
			given: history(started, captured), when: paymentDeclined, wantStatus: domain.StatusActive},
		{name: "decline of a settled saga changes nothing",
			given: history(started, captured, settled), when: paymentDeclined, wantStatus: domain.StatusSettled},
		{name: "decline after the deadline decided changes nothing",
			given: history(started, decided(timeout)), when: paymentDeclined, wantStatus: domain.StatusDecided},
		{name: "failure while cancelling changes nothing",
			given: history(started, cancelStarted(customer)), when: paymentFailed, wantStatus: domain.StatusCancelling},
		{name: "failure of a cancelled saga changes nothing",
			given: history(started, cancelStarted(customer), completed(customer, false)), when: paymentFailed,
			wantStatus: domain.StatusCancelled},

		// payment deadline
		{name: "deadline passed with nothing captured decides the cancel",
			given: history(started), when: clockAt(afterDeadline), want: history(decided(timeout)), wantStatus: domain.StatusDecided},
		{name: "deadline reached to the instant decides the cancel",
			given: history(started), when: clockAt(deadline), want: history(decided(timeout)), wantStatus: domain.StatusDecided},
		{name: "deadline not reached yet changes nothing",
			given: history(started), when: clockAt(deadline.Add(-time.Millisecond)), wantStatus: domain.StatusActive},
		{name: "deadline after a capture changes nothing",
			given: history(started, captured), when: clockAt(afterDeadline), wantStatus: domain.StatusActive},
		{name: "deadline of a settled saga changes nothing",
			given: history(started, captured, settled), when: clockAt(afterDeadline), wantStatus: domain.StatusSettled},
		{name: "deadline after a decline was decided changes nothing",
			given: history(started, decided(declined)), when: clockAt(afterDeadline), wantStatus: domain.StatusDecided},
		{name: "deadline while cancelling changes nothing",
			given: history(started, cancelStarted(customer)), when: clockAt(afterDeadline), wantStatus: domain.StatusCancelling},
		{name: "deadline of a saga that never started is an error",
			when: clockAt(afterDeadline), wantErr: domain.ErrNotStarted},

		// PaymentCaptured
		{name: "capture of an active saga is recorded",
			given: history(started), when: paymentCaptured, want: history(captured), wantStatus: domain.StatusActive},
		{name: "capture while a cancel is only decided is recorded, not refunded",
			given: history(started, decided(timeout)), when: paymentCaptured, want: history(captured), wantStatus: domain.StatusDecided},
		{name: "capture arriving after OrderPaid is recorded",
			given: history(started, settled), when: paymentCaptured, want: history(captured), wantStatus: domain.StatusSettled},
		{name: "capture after the cancel started is refunded",
			given: history(started, cancelStarted(customer)), when: paymentCaptured, want: history(captured, refundReq),
			wantStatus: domain.StatusCancelling},
		{name: "capture after the cancel completed is refunded",
			given: history(started, cancelStarted(customer), completed(customer, false)), when: paymentCaptured,
			want: history(captured, refundReq), wantStatus: domain.StatusCancelled},
		{name: "capture of a paid order the customer cancelled is refunded",
			given: history(started, settled, cancelStarted(customer)), when: paymentCaptured, want: history(captured, refundReq),
			wantStatus: domain.StatusCancelling},
		{name: "capture already recorded changes nothing",
			given: history(started, captured), when: paymentCaptured, wantStatus: domain.StatusActive},
		{name: "capture already refunded changes nothing",
			given: history(started, cancelStarted(customer), completed(customer, false), captured, refundReq, refundOK),
			when:  paymentCaptured, wantStatus: domain.StatusCancelled},
		{name: "capture of another payment breaks the invariant",
			given: history(started, captured), when: otherCaptured, wantErr: domain.ErrUnknownPayment},
		{name: "capture before the saga started is retried later",
			when: paymentCaptured, wantErr: domain.ErrNotStarted},

		// OrderPaid
		{name: "paid order settles the saga",
			given: history(started, captured), when: orderPaid, want: history(settled), wantStatus: domain.StatusSettled},
		{name: "paid order settles the saga before its capture is seen",
			given: history(started), when: orderPaid, want: history(settled), wantStatus: domain.StatusSettled},
		{name: "paid order settles a decided cancel the order service refused",
			given: history(started, decided(timeout), captured), when: orderPaid, want: history(settled),
			wantStatus: domain.StatusSettled},
		{name: "paid while cancelling changes nothing",
			given: history(started, cancelStarted(customer)), when: orderPaid, wantStatus: domain.StatusCancelling},
		{name: "paid after cancelled changes nothing",
			given: history(started, cancelStarted(customer), completed(customer, false)), when: orderPaid,
			wantStatus: domain.StatusCancelled},
		{name: "paid before the saga started is an error",
			when: orderPaid, wantErr: domain.ErrNotStarted},

		// OrderCancellationRequested
		{name: "cancel of an active saga with nothing captured completes at once",
			given: history(started), when: cancelRequested(customer),
			want: history(cancelStarted(customer), completed(customer, false)), wantStatus: domain.StatusCancelled},
		{name: "cancel after a declined payment completes at once",
			given: history(started, decided(declined)), when: cancelRequested(declined),
			want: history(cancelStarted(declined), completed(declined, false)), wantStatus: domain.StatusCancelled},
		{name: "cancel after a failed payment completes at once",
			given: history(started, decided(failed)), when: cancelRequested(failed),
			want: history(cancelStarted(failed), completed(failed, false)), wantStatus: domain.StatusCancelled},
		{name: "cancel after a timeout with a late capture refunds it",
			given: history(started, decided(timeout), captured), when: cancelRequested(timeout),
			want: history(cancelStarted(timeout), refundReq), wantStatus: domain.StatusCancelling},
		{name: "customer cancel of a paid order refunds it",
			given: history(started, captured, settled), when: cancelRequested(customer),
			want: history(cancelStarted(customer), refundReq), wantStatus: domain.StatusCancelling},
		{name: "customer cancel of a captured, not yet paid order refunds it",
			given: history(started, captured), when: cancelRequested(customer),
			want: history(cancelStarted(customer), refundReq), wantStatus: domain.StatusCancelling},
		{name: "customer cancel of a paid order whose capture is not seen yet waits for it",
			given: history(started, settled), when: cancelRequested(customer),
			want: history(cancelStarted(customer)), wantStatus: domain.StatusCancelling},
		{name: "cancel while cancelling changes nothing",
			given: history(started, captured, settled, cancelStarted(customer), refundReq), when: cancelRequested(customer),
			wantStatus: domain.StatusCancelling},
		{name: "cancel of a cancelled saga changes nothing",
			given: history(started, cancelStarted(customer), completed(customer, false)), when: cancelRequested(customer),
			wantStatus: domain.StatusCancelled},
		{name: "cancel before the saga started is an error",
			when: cancelRequested(customer), wantErr: domain.ErrNotStarted},

		// PaymentRefunded
		{name: "refund while cancelling completes the cancel as refunded",
			given: history(started, captured, settled, cancelStarted(customer), refundReq), when: paymentRefunded,
			want: history(refundOK, completed(customer, true)), wantStatus: domain.StatusCancelled},
		{name: "refund of a timed-out order's late capture completes the cancel",
			given: history(started, decided(timeout), captured, cancelStarted(timeout), refundReq), when: paymentRefunded,
			want: history(refundOK, completed(timeout, true)), wantStatus: domain.StatusCancelled},
		{name: "refund of a capture that came after the cancel completed is confirmed",
			given: history(started, cancelStarted(customer), completed(customer, false), captured, refundReq),
			when:  paymentRefunded, want: history(refundOK), wantStatus: domain.StatusCancelled},
		{name: "refund already confirmed changes nothing",
			given: history(started, captured, settled, cancelStarted(customer), refundReq, refundOK, completed(customer, true)),
			when:  paymentRefunded, wantStatus: domain.StatusCancelled},
		{name: "refund of another payment breaks the invariant",
			given: history(started, captured, settled, cancelStarted(customer), refundReq), when: otherRefunded,
			wantErr: domain.ErrUnknownPayment},
		{name: "refund before the saga started is retried later",
			when: paymentRefunded, wantErr: domain.ErrNotStarted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			saga := domain.FromHistory(tt.given...)
			before := saga

			got, err := tt.when(saga)
			require.Equal(t, before, saga, "deciding never changes the saga")
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				require.Empty(t, got, "a refused fact records nothing")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			for _, e := range got {
				require.NoError(t, e.Validate(), "recorded events are valid for the wire")
			}

			after := apply(saga, got...)
			require.Equal(t, tt.wantStatus, after.Status())

			again, err := tt.when(after)
			require.NoError(t, err)
			require.Empty(t, again, "the same fact seen twice records nothing more")
		})
	}
}

func TestSagaState(t *testing.T) {
	saga := domain.FromHistory(started, captured, settled, cancelStarted(schema.ReasonCustomerRequest), refundReq)

	require.Equal(t, orderID, saga.OrderID())
	require.Equal(t, amount, saga.Amount())
	require.Equal(t, deadline, saga.PaymentDeadline())
	require.Equal(t, schema.ReasonCustomerRequest, saga.Reason())
	capture, ok := saga.Capture()
	require.True(t, ok)
	require.Equal(t, domain.Capture{PaymentID: paymentID, ChargeID: chargeID, Amount: amount}, capture)
	require.True(t, saga.RefundRequested())
	require.False(t, saga.Refunded())

	done := saga.Apply(refundOK)
	require.True(t, done.Refunded())
	require.False(t, saga.Refunded(), "Apply returns a new saga and leaves the old one as it was")
}

func TestSagaDeadlinePending(t *testing.T) {
	tests := []struct {
		name  string
		given []schema.Event
		want  bool
	}{
		{"not started", nil, false},
		{"active", history(started), true},
		{"active with a capture", history(started, captured), false},
		{"settled", history(started, settled), false},
		{"decided", history(started, decided(schema.ReasonPaymentTimeout)), false},
		{"cancelling", history(started, cancelStarted(schema.ReasonCustomerRequest)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, domain.FromHistory(tt.given...).DeadlinePending())
		})
	}
}

func TestSagaIgnoresEventsOfOtherKinds(t *testing.T) {
	saga := domain.FromHistory(started)
	require.Equal(t, saga, saga.Apply(schema.OrderCancelled{OrderID: orderID, Reason: schema.ReasonCustomerRequest}))
}

func apply(s domain.Saga, events ...schema.Event) domain.Saga {
	for _, e := range events {
		s = s.Apply(e)
	}
	return s
}
