package paymentgateway_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/paymentgateway/client"
	"github.com/orderflow/orderflow/platform/auth"
	"github.com/orderflow/orderflow/platform/testenv"
)

// Every /v1 route wants the service token — the ledger and refunds above
// all — and the health checks want none.
func TestTheAPINeedsTheServiceToken(t *testing.T) {
	t.Parallel()
	g := start(t, testConfig(t))
	ref := key(t, "ref")
	ch, err := g.Client.CreateCharge(testenv.Context(t, 10*time.Second), key(t, "charge"),
		client.ChargeRequest{Amount: 500, Currency: "EUR", Source: "tok_visa", Reference: ref})
	require.NoError(t, err, "with the token")

	routes := []struct{ method, path, body string }{
		{http.MethodGet, "/v1/charges", ""},
		{http.MethodGet, "/v1/charges/" + ch.ID, ""},
		{http.MethodPost, "/v1/charges", chargeBody(700, "tok_visa", ref)},
		{http.MethodPost, "/v1/refunds", `{"charge":"` + ch.ID + `","amount":500}`},
	}
	for _, r := range routes {
		for _, authorization := range []string{"", "Bearer wrong-service-token-0123456789", "Basic " + testenv.ServiceToken} {
			a := doAs(t, authorization, r.method, g.URL+r.path, key(t, "k"), r.body)
			require.Equal(t, http.StatusUnauthorized, a.Status, "%s %s with %q: %s", r.method, r.path, authorization, a.Body)
			code, _ := a.ErrorCode(t)
			require.Equal(t, "UNAUTHENTICATED", code)
		}
	}
	charges := ledger(t, g, ref)
	require.Len(t, charges, 1, "the refused charge was not made")
	require.Zero(t, charges[0].AmountRefunded, "the refused refund was not made")

	for _, path := range []string{"/healthz", "/readyz", "/metrics"} { // Prometheus scrapes without the token
		require.Equal(t, http.StatusOK, doAs(t, "", http.MethodGet, g.URL+path, "", "").Status, path)
	}

	wrong := client.New(g.URL, &http.Client{Transport: auth.ServiceTransport("wrong-service-token-0123456789", nil)})
	_, err = wrong.GetCharge(testenv.Context(t, 10*time.Second), ch.ID)
	var ce *client.Error
	require.True(t, errors.As(err, &ce), "got %v", err)
	require.Equal(t, http.StatusUnauthorized, ce.StatusCode)
	require.Equal(t, "UNAUTHENTICATED", ce.Code)
	require.False(t, client.Temporary(err), "a wrong token is not worth a retry")
}
