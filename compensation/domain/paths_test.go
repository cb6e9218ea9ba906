package domain_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/compensation/domain"
	"github.com/orderflow/orderflow/schema"
)

// TestSagaPaths plays whole sagas, fact by fact, as docs/saga.md's "Every
// path ends" describes them, each fact delivered twice, and checks the
// saga's complete record.
func TestSagaPaths(t *testing.T) {
	const (
		declined = schema.ReasonPaymentDeclined
		failed   = schema.ReasonPaymentFailed
		timeout  = schema.ReasonPaymentTimeout
		customer = schema.ReasonCustomerRequest
	)
	passed := clockAt(deadline)

	tests := []struct {
		name       string
		facts      []fact
		want       []schema.Event
		wantStatus domain.Status
	}{
		{name: "captured",
			facts:      []fact{orderCreated, paymentCaptured, orderPaid},
			want:       history(started, captured, settled),
			wantStatus: domain.StatusSettled},
		{name: "captured, OrderPaid seen before the capture",
			facts:      []fact{orderCreated, orderPaid, paymentCaptured, passed},
			want:       history(started, settled, captured),
			wantStatus: domain.StatusSettled},
		{name: "declined",
			facts:      []fact{orderCreated, paymentDeclined, cancelRequested(declined)},
			want:       history(started, decided(declined), cancelStarted(declined), completed(declined, false)),
			wantStatus: domain.StatusCancelled},
		{name: "PSP unreachable",
			facts:      []fact{orderCreated, paymentFailed, passed, cancelRequested(failed)},
			want:       history(started, decided(failed), cancelStarted(failed), completed(failed, false)),
			wantStatus: domain.StatusCancelled},
		{name: "deadline",
			facts:      []fact{orderCreated, passed, cancelRequested(timeout)},
			want:       history(started, decided(timeout), cancelStarted(timeout), completed(timeout, false)),
			wantStatus: domain.StatusCancelled},
		{name: "deadline, capture after the order was cancelled",
			facts: []fact{orderCreated, passed, cancelRequested(timeout), paymentCaptured, paymentRefunded},
			want: history(started, decided(timeout), cancelStarted(timeout), completed(timeout, false),
				captured, refundReq, refundOK),
			wantStatus: domain.StatusCancelled},
		{name: "deadline, capture before the order service cancelled",
			facts: []fact{orderCreated, passed, paymentCaptured, cancelRequested(timeout), paymentRefunded},
			want: history(started, decided(timeout), captured, cancelStarted(timeout), refundReq,
				refundOK, completed(timeout, true)),
			wantStatus: domain.StatusCancelled},
		{name: "deadline, but the order was paid first: no refund",
			facts:      []fact{orderCreated, passed, paymentCaptured, orderPaid},
			want:       history(started, decided(timeout), captured, settled),
			wantStatus: domain.StatusSettled},
		{name: "customer cancel before capture, late capture refunded",
			facts: []fact{orderCreated, cancelRequested(customer), paymentCaptured, passed, paymentRefunded},
			want: history(started, cancelStarted(customer), completed(customer, false),
				captured, refundReq, refundOK),
			wantStatus: domain.StatusCancelled},
		{name: "customer cancel after capture",
			facts: []fact{orderCreated, paymentCaptured, orderPaid, cancelRequested(customer), paymentRefunded},
			want: history(started, captured, settled, cancelStarted(customer), refundReq,
				refundOK, completed(customer, true)),
			wantStatus: domain.StatusCancelled},
		{name: "customer cancel of a paid order whose capture is seen late",
			facts: []fact{orderCreated, orderPaid, cancelRequested(customer), paymentCaptured, paymentRefunded},
			want: history(started, settled, cancelStarted(customer), captured, refundReq,
				refundOK, completed(customer, true)),
			wantStatus: domain.StatusCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				saga     domain.Saga
				recorded []schema.Event
			)
			for i, f := range tt.facts {
				for delivery := range 2 {
					events, err := f(saga)
					require.NoError(t, err, "fact %d, delivery %d", i, delivery)
					recorded = append(recorded, events...)
					saga = apply(saga, events...)
				}
			}
			require.Equal(t, tt.want, recorded)
			require.Equal(t, tt.wantStatus, saga.Status())
			require.False(t, saga.DeadlinePending(), "a finished saga leaves no deadline behind")
			require.Equal(t, saga, domain.FromHistory(recorded...), "the record rebuilds the same saga")
		})
	}
}
