package e2e_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/e2e/harness"
	"github.com/orderflow/orderflow/order/api"
	pspclient "github.com/orderflow/orderflow/paymentgateway/client"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

const settle = 45 * time.Second

func newOrder(token string) api.CreateOrderRequest {
	return api.CreateOrderRequest{
		CustomerID: uuid.NewString(), Currency: "EUR", PaymentMethod: token,
		Items: []api.Item{{SKU: "sku-book", Quantity: 2, UnitPrice: 1250}, {SKU: "sku-pen", Quantity: 1, UnitPrice: 199}},
	}
}

func create(t *testing.T, sys *harness.System, token string) api.Order {
	t.Helper()
	o, err := sys.Orders.CreateOrder(context.Background(), newOrder(token))
	require.NoError(t, err)
	require.Equal(t, "PENDING", o.Status)
	require.EqualValues(t, 2699, o.Total)
	return o
}

// charges returns the PSP's charges for an order's payment.
func charges(t *testing.T, sys *harness.System, paymentID string) []pspclient.Charge {
	t.Helper()
	page, err := sys.PSP.ListCharges(context.Background(), pspclient.ListParams{Reference: paymentID, Limit: 100})
	require.NoError(t, err)
	return page.Data
}

func TestEveryTokenEndsInItsFinalState(t *testing.T) {
	sys := harness.Start(t, binDir, harness.Options{})
	tests := []struct {
		token         string
		orderStatus   string
		reason        string
		paymentStatus string
		failureCode   string
	}{
		{"tok_visa", "PAID", "", "CAPTURED", ""},
		{"tok_mastercard", "PAID", "", "CAPTURED", ""},
		{"tok_chargeDeclined", "CANCELLED", schema.ReasonPaymentDeclined, "DECLINED", "card_declined"},
		{"tok_insufficientFunds", "CANCELLED", schema.ReasonPaymentDeclined, "DECLINED", "insufficient_funds"},
		{"tok_slow", "PAID", "", "CAPTURED", ""},
		{"tok_flaky", "PAID", "", "CAPTURED", ""},
		{"tok_unavailable", "CANCELLED", schema.ReasonPaymentFailed, "FAILED", "psp_unavailable"},
		{"tok_stolenFromAMuseum", "CANCELLED", schema.ReasonPaymentDeclined, "DECLINED", "invalid_payment_method"},
	}
	orders := make([]api.Order, len(tests))
	for i, tt := range tests { // all in flight at once, as in production
		orders[i] = create(t, sys, tt.token)
	}
	for i, tt := range tests {
		t.Run(tt.token, func(t *testing.T) {
			o := sys.WaitOrder(orders[i].ID, tt.orderStatus, settle)
			require.Equal(t, tt.reason, o.CancellationReason)
			p := sys.WaitPayment(o.ID, tt.paymentStatus, settle)
			require.Equal(t, tt.failureCode, p.FailureCode)

			var captured int
			for _, ch := range charges(t, sys, p.ID) {
				if ch.Status == pspclient.StatusSucceeded {
					captured++
				}
			}
			if tt.paymentStatus == "CAPTURED" {
				require.Equal(t, 1, captured, "charged exactly once")
			} else {
				require.Zero(t, captured)
			}
		})
	}
	sys.CheckInvariants()
}

func TestCancelPaths(t *testing.T) {
	sys := harness.Start(t, binDir, harness.Options{})
	ctx := testenv.Context(t, 2*time.Minute)

	t.Run("cancel after capture refunds", func(t *testing.T) {
		o := create(t, sys, "tok_visa")
		sys.WaitOrder(o.ID, "PAID", settle)
		got, err := sys.Orders.CancelOrder(ctx, o.ID, api.CancelOrderRequest{Reason: "changed my mind"})
		require.NoError(t, err)
		require.Equal(t, "CANCELLING", got.Status)
		done := sys.WaitOrder(o.ID, "CANCELLED", settle)
		require.Equal(t, schema.ReasonCustomerRequest, done.CancellationReason)
		require.True(t, done.Refunded)
		p := sys.WaitPayment(o.ID, "REFUNDED", settle)
		chs := charges(t, sys, p.ID)
		require.Len(t, chs, 1)
		require.Equal(t, chs[0].Amount, chs[0].AmountRefunded)
	})

	t.Run("cancel before capture, capture arrives later and is refunded", func(t *testing.T) {
		o := create(t, sys, "tok_slow") // the PSP answers after the payment service's timeout
		_, err := sys.Orders.CancelOrder(ctx, o.ID, api.CancelOrderRequest{})
		require.NoError(t, err)
		sys.WaitOrder(o.ID, "CANCELLED", settle)
		p := sys.WaitPayment(o.ID, "REFUNDED", settle)
		chs := charges(t, sys, p.ID)
		require.Len(t, chs, 1, "one charge, refunded")
		require.Equal(t, chs[0].Amount, chs[0].AmountRefunded)
	})

	t.Run("cancel before a payment that never succeeds", func(t *testing.T) {
		o := create(t, sys, "tok_unavailable")
		_, err := sys.Orders.CancelOrder(ctx, o.ID, api.CancelOrderRequest{})
		require.NoError(t, err)
		done := sys.WaitOrder(o.ID, "CANCELLED", settle)
		require.Equal(t, schema.ReasonCustomerRequest, done.CancellationReason)
		sys.WaitPayment(o.ID, "FAILED", settle)
	})

	t.Run("cancel of a cancelled order changes nothing", func(t *testing.T) {
		o := create(t, sys, "tok_chargeDeclined")
		before := sys.WaitOrder(o.ID, "CANCELLED", settle)
		again, err := sys.Orders.CancelOrder(ctx, o.ID, api.CancelOrderRequest{Reason: "again"})
		require.NoError(t, err)
		require.Equal(t, "CANCELLED", again.Status)
		require.Equal(t, before.Version, again.Version)
		require.Equal(t, schema.ReasonPaymentDeclined, again.CancellationReason)
	})

	sys.CheckInvariants()
}

func TestPaymentDeadline(t *testing.T) {
	sys := harness.Start(t, binDir, harness.Options{PaymentTimeout: 3 * time.Second})

	// With the payment service down nothing is captured before the deadline.
	sys.Stop("payment")
	o := create(t, sys, "tok_visa")
	done := sys.WaitOrder(o.ID, "CANCELLED", settle)
	require.Equal(t, schema.ReasonPaymentTimeout, done.CancellationReason)

	// When it comes back it charges; compensation refunds the late capture.
	sys.StartService("payment")
	sys.WaitPayment(o.ID, "REFUNDED", settle)
	require.Equal(t, "CANCELLED", sys.WaitOrder(o.ID, "CANCELLED", settle).Status)
	sys.CheckInvariants()
}

func TestPaymentServiceKilledMidChargeChargesNobodyTwice(t *testing.T) {
	sys := harness.Start(t, binDir, harness.Options{})
	tokens := []string{"tok_visa", "tok_slow", "tok_flaky", "tok_mastercard", "tok_chargeDeclined"}
	var (
		wg     sync.WaitGroup
		orders = make([]api.Order, 40)
		errs   = make([]error, 40)
	)
	for i := range orders {
		wg.Go(func() {
			orders[i], errs[i] = sys.Orders.CreateOrder(context.Background(), newOrder(tokens[i%len(tokens)]))
		})
	}
	time.Sleep(700 * time.Millisecond) // charges in flight, some slow ones waiting for the PSP
	sys.Kill("payment")
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	time.Sleep(500 * time.Millisecond)
	sys.StartService("payment")

	for _, o := range orders {
		testenv.Eventually(t, settle, func() error {
			got, err := sys.Orders.GetOrder(context.Background(), o.ID)
			if err != nil {
				return err
			}
			if got.Status != "PAID" && got.Status != "CANCELLED" {
				return errStatus(got)
			}
			return nil
		})
	}
	report := sys.CheckInvariants()
	require.Equal(t, 40, report.Orders)
	require.Equal(t, 32, report.ByStatus["PAID"], "every capturable order paid")
}

func TestCompensationKilledWithADeadlinePending(t *testing.T) {
	sys := harness.Start(t, binDir, harness.Options{PaymentTimeout: 4 * time.Second})
	sys.Stop("payment")
	o := create(t, sys, "tok_visa")
	time.Sleep(time.Second) // the saga and its deadline are stored
	sys.Kill("compensation")
	time.Sleep(4 * time.Second) // the deadline passes while compensation is down
	sys.StartService("compensation")

	done := sys.WaitOrder(o.ID, "CANCELLED", settle)
	require.Equal(t, schema.ReasonPaymentTimeout, done.CancellationReason)
	sys.StartService("payment")
	sys.WaitPayment(o.ID, "REFUNDED", settle)
	sys.CheckInvariants()
}

type statusError struct{ o api.Order }

func (e statusError) Error() string { return "order " + e.o.ID + " is still " + e.o.Status }

func errStatus(o api.Order) error { return statusError{o} }
