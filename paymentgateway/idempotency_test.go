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

func TestRepeatedKeyReplaysTheFirstAnswerExactly(t *testing.T) {
	t.Parallel()
	g := start(t, testConfig(t))

	for _, token := range []string{"tok_visa", "tok_chargeDeclined"} {
		t.Run(token, func(t *testing.T) {
			k, ref := key(t, "k"), key(t, "ref")
			first := do(t, http.MethodPost, g.URL+"/v1/charges", k, chargeBody(1999, token, ref))
			require.Contains(t, []int{http.StatusCreated, http.StatusPaymentRequired}, first.Status)
			require.Empty(t, first.Header.Get("Idempotent-Replayed"))

			// Same parameters, spelled differently: still the same request.
			retry := do(t, http.MethodPost, g.URL+"/v1/charges", k,
				`{ "reference": "`+ref+`", "description": "test", "source": "`+token+`", "currency": "EUR", "amount": 1999 }`)
			require.Equal(t, first.Status, retry.Status)
			require.Equal(t, string(first.Body), string(retry.Body), "the retry gets the first answer byte for byte")
			require.Equal(t, "true", retry.Header.Get("Idempotent-Replayed"))

			require.Len(t, ledger(t, g, ref), 1)
		})
	}
}

func TestKeyReusedForADifferentChargeIsRefused(t *testing.T) {
	t.Parallel()
	g := start(t, testConfig(t))
	k, ref := key(t, "k"), key(t, "ref")

	first := do(t, http.MethodPost, g.URL+"/v1/charges", k, chargeBody(1999, "tok_visa", ref))
	require.Equal(t, http.StatusCreated, first.Status)

	for name, body := range map[string]string{
		"other amount":    chargeBody(2000, "tok_visa", ref),
		"other source":    chargeBody(1999, "tok_mastercard", ref),
		"other reference": chargeBody(1999, "tok_visa", ref+"x"),
	} {
		t.Run(name, func(t *testing.T) {
			got := do(t, http.MethodPost, g.URL+"/v1/charges", k, body)
			require.Equal(t, http.StatusConflict, got.Status)
			code, _ := got.ErrorCode(t)
			require.Equal(t, "idempotency_key_reused", code)
		})
	}
	require.Len(t, ledger(t, g, ref), 1)
	require.Empty(t, ledger(t, g, ref+"x"))

	// The client reports it as a permanent error.
	_, err := g.Client.CreateCharge(context.Background(), k, client.ChargeRequest{Amount: 1, Currency: "EUR", Source: "tok_visa"})
	var cerr *client.Error
	require.True(t, errors.As(err, &cerr), "want *client.Error, got %v", err)
	require.Equal(t, "idempotency_key_reused", cerr.Code)
	require.False(t, cerr.Temporary())
}

func TestConcurrentRequestsWithOneKeyChargeOnce(t *testing.T) {
	t.Parallel()
	g := start(t, testConfig(t))
	ctx := testenv.Context(t, 20*time.Second)

	for _, token := range []string{"tok_visa", "tok_slow"} {
		t.Run(token, func(t *testing.T) {
			k, ref := key(t, "k"), key(t, "ref")
			req := client.ChargeRequest{Amount: 4200, Currency: "EUR", Source: token, Reference: ref}

			const n = 20
			var wg sync.WaitGroup
			charges := make([]client.Charge, n)
			errs := make([]error, n)
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					charges[i], errs[i] = g.Client.CreateCharge(ctx, k, req)
				})
			}
			close(start)
			wg.Wait()

			for i := range n {
				require.NoError(t, errs[i], "request %d", i)
				require.Equal(t, charges[0].ID, charges[i].ID, "request %d got another charge", i)
				require.Equal(t, client.StatusSucceeded, charges[i].Status)
			}
			require.Len(t, ledger(t, g, ref), 1)
		})
	}
}

func TestKeysAreScopedPerEndpoint(t *testing.T) {
	t.Parallel()
	g := start(t, testConfig(t))
	ctx := testenv.Context(t, 10*time.Second)
	k := key(t, "shared")

	ch, err := g.Client.CreateCharge(ctx, k, client.ChargeRequest{Amount: 1000, Currency: "EUR", Source: "tok_visa"})
	require.NoError(t, err)
	refund, err := g.Client.CreateRefund(ctx, k, client.RefundRequest{Charge: ch.ID})
	require.NoError(t, err, "a refund may use the key of a charge")
	require.Equal(t, int64(1000), refund.Amount)
}
