package paymentgateway_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/paymentgateway/client"
	"github.com/orderflow/orderflow/platform/testenv"
)

func TestRestartKeepsChargesKeysAndAttempts(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	ctx := testenv.Context(t, 30*time.Second)
	g := start(t, cfg)

	chargeKey, ref := key(t, "charge"), key(t, "ref")
	req := client.ChargeRequest{Amount: 1234, Currency: "EUR", Source: "tok_visa", Reference: ref}
	ch, err := g.Client.CreateCharge(ctx, chargeKey, req)
	require.NoError(t, err)
	refund, err := g.Client.CreateRefund(ctx, key(t, "refund"), client.RefundRequest{Charge: ch.ID, Amount: 234})
	require.NoError(t, err)

	flakyKey := key(t, "flaky")
	flaky := client.ChargeRequest{Amount: 99, Currency: "EUR", Source: "tok_flaky", Reference: ref + "-flaky"}
	_, err = g.Client.CreateCharge(ctx, flakyKey, flaky)
	require.True(t, client.Temporary(err), "first flaky attempt: want 503, got %v", err)

	g.Stop()
	_, err = g.Client.GetCharge(ctx, ch.ID)
	require.True(t, client.Temporary(err), "the stopped gateway must not answer, got %v", err)

	g = start(t, cfg) // same database, new process
	got, err := g.Client.GetCharge(ctx, ch.ID)
	require.NoError(t, err)
	require.Equal(t, ch.ID, got.ID)
	require.Equal(t, int64(234), got.AmountRefunded)
	require.Equal(t, []client.Refund{refund}, got.Refunds)

	again, err := g.Client.CreateCharge(ctx, chargeKey, req)
	require.NoError(t, err)
	require.Equal(t, ch, again, "a retry after the restart still gets the first charge")
	require.Len(t, ledger(t, g, ref), 1)

	// The second flaky attempt still fails (FlakyFailures 2), the third passes.
	_, err = g.Client.CreateCharge(ctx, flakyKey, flaky)
	var cerr *client.Error
	require.True(t, errors.As(err, &cerr) && cerr.StatusCode == http.StatusServiceUnavailable, "second attempt: want 503, got %v", err)
	captured, err := g.Client.CreateCharge(ctx, flakyKey, flaky)
	require.NoError(t, err)
	require.Equal(t, client.StatusSucceeded, captured.Status)
}
