package invariants_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/paymentgateway/client"
	"github.com/orderflow/orderflow/paymentgateway/gatewaytest"
	"github.com/orderflow/orderflow/platform/auth"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/pgmigrate"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
	"github.com/orderflow/orderflow/tools/invariants"
)

type world struct {
	t                       *testing.T
	ctx                     context.Context
	orders, payments, comps *eventstore.Store
	src                     invariants.Sources
	psp                     *client.Client
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := testenv.Context(t, 2*time.Minute)
	store := func() (*eventstore.Store, string) {
		dsn := testenv.PostgresDatabase(t)
		pool, err := pgxpool.New(ctx, dsn)
		require.NoError(t, err)
		t.Cleanup(pool.Close)
		require.NoError(t, pgmigrate.Run(ctx, pool, eventstore.Migrations()))
		return eventstore.New(pool, schema.NewCodec(schema.NewRegistry())), dsn
	}
	w := &world{t: t, ctx: ctx}
	var orderDSN, paymentDSN, compDSN string
	w.orders, orderDSN = store()
	w.payments, paymentDSN = store()
	w.comps, compDSN = store()
	gw := gatewaytest.Start(t)
	w.psp = gw.Client
	w.src = invariants.Sources{OrderDSN: orderDSN, PaymentDSN: paymentDSN, CompensationDSN: compDSN, PSPURL: gw.URL,
		ServiceToken: testenv.ServiceToken}
	return w
}

func (w *world) append(store *eventstore.Store, aggregate, id, orderID string, events ...schema.Event) {
	w.t.Helper()
	envs := make([]schema.Envelope, len(events))
	for i, e := range events {
		envs[i] = schema.New(aggregate, id, e, schema.Cause{CorrelationID: orderID}, time.Now())
	}
	_, err := store.Append(w.ctx, eventstore.StreamID{Type: aggregate, ID: id}, eventstore.NewStream, envs)
	require.NoError(w.t, err)
}

// order records an order with the given later events and its payment, and
// charges the PSP captures times for it. It returns the charges.
func (w *world) order(captures int, later ...schema.Event) (string, []client.Charge) {
	w.t.Helper()
	orderID, paymentID := uuid.NewString(), uuid.NewString()
	created := schema.OrderCreated{OrderID: orderID, CustomerID: uuid.NewString(), Currency: "EUR",
		Items: []schema.OrderItem{{SKU: "a", Quantity: 1, UnitPrice: 500}}, Total: 500, PaymentMethod: "tok_visa"}
	for i, e := range later {
		switch e := e.(type) {
		case schema.OrderPaid:
			e.OrderID, e.PaymentID = orderID, paymentID
			later[i] = e
		case schema.OrderCancellationRequested:
			e.OrderID = orderID
			later[i] = e
		case schema.OrderCancelled:
			e.OrderID = orderID
			later[i] = e
		}
	}
	w.append(w.orders, schema.AggregateOrder, orderID, orderID, append([]schema.Event{created}, later...)...)
	w.append(w.payments, schema.AggregatePayment, paymentID, orderID,
		schema.PaymentRequested{PaymentID: paymentID, OrderID: orderID, Amount: 500, Currency: "EUR", PaymentMethod: "tok_visa"})
	var charges []client.Charge
	for range captures {
		ch, err := w.psp.CreateCharge(w.ctx, uuid.NewString(), client.ChargeRequest{Amount: 500, Currency: "EUR", Source: "tok_visa", Reference: paymentID})
		require.NoError(w.t, err)
		charges = append(charges, ch)
	}
	return orderID, charges
}

func TestCheckPassesASettledSystem(t *testing.T) {
	w := newWorld(t)
	w.order(1, schema.OrderPaid{Amount: 500})
	_, charges := w.order(1, schema.OrderCancellationRequested{Reason: "CUSTOMER_REQUEST"}, schema.OrderCancelled{Reason: "CUSTOMER_REQUEST", Refunded: true})
	_, err := w.psp.CreateRefund(w.ctx, uuid.NewString(), client.RefundRequest{Charge: charges[0].ID})
	require.NoError(t, err)
	w.order(0, schema.OrderCancellationRequested{Reason: "PAYMENT_DECLINED"}, schema.OrderCancelled{Reason: "PAYMENT_DECLINED"})

	report, err := invariants.Check(w.ctx, w.src)
	require.NoError(t, err)
	require.Empty(t, report.Violations)
	require.Equal(t, 3, report.Orders)
	require.Equal(t, 2, report.Captures)
	require.Equal(t, 6, report.Streams)

	w.src.ServiceToken = ""
	_, err = invariants.Check(w.ctx, w.src)
	require.ErrorContains(t, err, "UNAUTHENTICATED", "the PSP's ledger wants the service token")
	require.ErrorContains(t, err, "PAYMENT_SERVICE_TOKEN")
}

func TestSourcesFromEnvFindTheServiceToken(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("PAYMENT_SERVICE_TOKEN", "")
	require.Empty(t, invariants.SourcesFromEnv().ServiceToken, "no variable, no file")

	require.NoError(t, os.MkdirAll(auth.DefaultDir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(auth.DefaultDir, auth.ServiceTokenFile), []byte("token-from-the-file-0123\n"), 0o600))
	require.Equal(t, "token-from-the-file-0123", invariants.SourcesFromEnv().ServiceToken, "make run's file")

	t.Setenv("PAYMENT_SERVICE_TOKEN", testenv.ServiceToken)
	require.Equal(t, testenv.ServiceToken, invariants.SourcesFromEnv().ServiceToken, "the variable first")
}

func TestCheckFindsEachViolation(t *testing.T) {
	w := newWorld(t)
	twice, _ := w.order(2, schema.OrderPaid{Amount: 500})
	kept, _ := w.order(1, schema.OrderCancellationRequested{Reason: "CUSTOMER_REQUEST"}, schema.OrderCancelled{Reason: "CUSTOMER_REQUEST"})
	pending, _ := w.order(0)
	unpaid, _ := w.order(0, schema.OrderPaid{Amount: 500})

	gapID := uuid.NewString()
	w.append(w.comps, schema.AggregateCompensation, gapID, gapID, schema.SagaSettled{OrderID: gapID}, schema.SagaSettled{OrderID: gapID})
	_, err := w.comps.Pool().Exec(w.ctx, "DELETE FROM events WHERE stream_id = $1 AND version = 1", gapID)
	require.NoError(t, err)

	report, err := invariants.Check(w.ctx, w.src)
	require.NoError(t, err)
	want := []string{
		"order " + twice + " charged 2 times",
		"order " + kept + " is CANCELLED but charge",
		"order " + pending + " is PENDING, not in a final state",
		"order " + unpaid + " is PAID without a capture",
		"stream compensation/" + gapID + " has a gap",
	}
	require.Len(t, report.Violations, len(want), "violations: %v", report.Violations)
	for _, v := range want {
		found := false
		for _, got := range report.Violations {
			found = found || strings.Contains(got, v)
		}
		require.True(t, found, "missing %q in %v", v, report.Violations)
	}
	require.False(t, report.OK())

	w.src.AllowInFlight = true
	report, err = invariants.Check(w.ctx, w.src)
	require.NoError(t, err)
	require.Len(t, report.Violations, len(want)-1, "in-flight orders allowed")
}
