package paymentgateway_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/paymentgateway/client"
	"github.com/orderflow/orderflow/platform/testenv"
)

func TestRefunds(t *testing.T) {
	t.Parallel()
	g := start(t, testConfig(t))
	ctx := testenv.Context(t, 20*time.Second)

	charge := func(t *testing.T, source string) client.Charge {
		t.Helper()
		ch, err := g.Client.CreateCharge(ctx, key(t, "charge"), client.ChargeRequest{Amount: 1999, Currency: "EUR", Source: source})
		require.NoError(t, err)
		return ch
	}
	refundErr := func(t *testing.T, req client.RefundRequest) *client.Error {
		t.Helper()
		_, err := g.Client.CreateRefund(ctx, key(t, "refund"), req)
		var cerr *client.Error
		require.True(t, errors.As(err, &cerr), "want *client.Error, got %v", err)
		require.False(t, cerr.Temporary())
		return cerr
	}

	t.Run("full", func(t *testing.T) {
		ch := charge(t, "tok_visa")
		refund, err := g.Client.CreateRefund(ctx, key(t, "refund"), client.RefundRequest{Charge: ch.ID})
		require.NoError(t, err)
		require.Regexp(t, `^re_`, refund.ID)
		require.Equal(t, ch.ID, refund.Charge)
		require.Equal(t, int64(1999), refund.Amount)
		require.Equal(t, "EUR", refund.Currency)
		require.Equal(t, client.StatusSucceeded, refund.Status)

		got, err := g.Client.GetCharge(ctx, ch.ID)
		require.NoError(t, err)
		require.Equal(t, int64(1999), got.AmountRefunded)
		require.True(t, got.Refunded)
		require.Equal(t, []client.Refund{refund}, got.Refunds)

		cerr := refundErr(t, client.RefundRequest{Charge: ch.ID})
		require.Equal(t, http.StatusBadRequest, cerr.StatusCode)
		require.Equal(t, "charge_already_refunded", cerr.Code)
	})

	t.Run("partial, then the rest", func(t *testing.T) {
		ch := charge(t, "tok_mastercard")
		first, err := g.Client.CreateRefund(ctx, key(t, "r1"), client.RefundRequest{Charge: ch.ID, Amount: 500})
		require.NoError(t, err)
		require.Equal(t, int64(500), first.Amount)
		rest, err := g.Client.CreateRefund(ctx, key(t, "r2"), client.RefundRequest{Charge: ch.ID})
		require.NoError(t, err)
		require.Equal(t, int64(1499), rest.Amount)

		got, err := g.Client.GetCharge(ctx, ch.ID)
		require.NoError(t, err)
		require.Equal(t, int64(1999), got.AmountRefunded)
		require.Equal(t, []client.Refund{first, rest}, got.Refunds)
	})

	t.Run("more than what is left is refused", func(t *testing.T) {
		ch := charge(t, "tok_visa")
		_, err := g.Client.CreateRefund(ctx, key(t, "r1"), client.RefundRequest{Charge: ch.ID, Amount: 1000})
		require.NoError(t, err)
		cerr := refundErr(t, client.RefundRequest{Charge: ch.ID, Amount: 1000})
		require.Equal(t, http.StatusBadRequest, cerr.StatusCode)
		require.Equal(t, "amount_too_large", cerr.Code)

		got, err := g.Client.GetCharge(ctx, ch.ID)
		require.NoError(t, err)
		require.Equal(t, int64(1000), got.AmountRefunded)
	})

	t.Run("declined charge is refused", func(t *testing.T) {
		ch := charge(t, "tok_chargeDeclined")
		require.Equal(t, client.StatusFailed, ch.Status)
		cerr := refundErr(t, client.RefundRequest{Charge: ch.ID})
		require.Equal(t, http.StatusBadRequest, cerr.StatusCode)
		require.Equal(t, "charge_not_refundable", cerr.Code)
	})

	t.Run("unknown charge", func(t *testing.T) {
		cerr := refundErr(t, client.RefundRequest{Charge: "ch_doesnotexist"})
		require.Equal(t, http.StatusNotFound, cerr.StatusCode)
		require.Equal(t, "resource_missing", cerr.Code)
		require.Equal(t, "charge", cerr.Param)
	})

	t.Run("repeated key refunds once", func(t *testing.T) {
		ch := charge(t, "tok_visa")
		k := key(t, "refund")
		first, err := g.Client.CreateRefund(ctx, k, client.RefundRequest{Charge: ch.ID, Amount: 300})
		require.NoError(t, err)
		for range 3 {
			again, err := g.Client.CreateRefund(ctx, k, client.RefundRequest{Charge: ch.ID, Amount: 300})
			require.NoError(t, err)
			require.Equal(t, first, again)
		}
		got, err := g.Client.GetCharge(ctx, ch.ID)
		require.NoError(t, err)
		require.Equal(t, int64(300), got.AmountRefunded)
		require.Len(t, got.Refunds, 1)

		_, err = g.Client.CreateRefund(ctx, k, client.RefundRequest{Charge: ch.ID, Amount: 301})
		var cerr *client.Error
		require.True(t, errors.As(err, &cerr), "want *client.Error, got %v", err)
		require.Equal(t, "idempotency_key_reused", cerr.Code)
	})

	t.Run("a refused refund is replayed, not retried", func(t *testing.T) {
		ch := charge(t, "tok_visa")
		k := key(t, "refund")
		first := do(t, http.MethodPost, g.URL+"/v1/refunds", k, `{"charge":"`+ch.ID+`","amount":5000}`)
		require.Equal(t, http.StatusBadRequest, first.Status)
		again := do(t, http.MethodPost, g.URL+"/v1/refunds", k, `{"charge":"`+ch.ID+`","amount":5000}`)
		require.Equal(t, string(first.Body), string(again.Body))
		require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
	})
}

func TestConcurrentRefundsNeverExceedTheCharge(t *testing.T) {
	t.Parallel()
	g := start(t, testConfig(t))
	ctx := testenv.Context(t, 20*time.Second)
	ch, err := g.Client.CreateCharge(ctx, key(t, "charge"), client.ChargeRequest{Amount: 1000, Currency: "EUR", Source: "tok_visa"})
	require.NoError(t, err)

	const n = 12
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		succeeded int
		tooLarge  int
	)
	for i := range n {
		wg.Go(func() {
			_, err := g.Client.CreateRefund(context.WithoutCancel(ctx), key(t, "refund"), client.RefundRequest{Charge: ch.ID, Amount: 300})
			mu.Lock()
			defer mu.Unlock()
			var cerr *client.Error
			switch {
			case err == nil:
				succeeded++
			case errors.As(err, &cerr) && cerr.Code == "amount_too_large":
				tooLarge++
			default:
				t.Errorf("refund %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	require.Equal(t, 3, succeeded, "3 × 300 fit in 1000, a fourth does not")
	require.Equal(t, n-3, tooLarge)

	got, err := g.Client.GetCharge(ctx, ch.ID)
	require.NoError(t, err)
	require.Equal(t, int64(900), got.AmountRefunded)
	require.Len(t, got.Refunds, 3)
}
