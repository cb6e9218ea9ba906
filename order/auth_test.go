package order_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/order"
	"github.com/orderflow/orderflow/order/api"
	"github.com/orderflow/orderflow/order/client"
	"github.com/orderflow/orderflow/platform/auth"
	"github.com/orderflow/orderflow/platform/testenv"
)

// The order service's API and profiles want the service token; the health
// checks and the metrics want none.
func TestTheAPINeedsTheServiceToken(t *testing.T) {
	f := start(t, func(c *order.Config) { c.Service.Profiling = true })
	ctx := testenv.Context(t, time.Minute)
	o, err := f.client.CreateOrder(ctx, validRequest())
	require.NoError(t, err, "with the token")

	for name, hc := range map[string]*http.Client{
		"no token":    {},
		"wrong token": {Transport: auth.ServiceTransport("wrong-service-token-0123456789", nil)},
	} {
		c := client.New(f.base, hc)
		_, err := c.GetOrder(ctx, o.ID)
		var ce *client.Error
		require.ErrorAs(t, err, &ce, name)
		require.Equal(t, http.StatusUnauthorized, ce.StatusCode, name)
		require.Equal(t, "UNAUTHENTICATED", ce.Code, name)
		_, err = c.CreateOrder(ctx, validRequest())
		require.Equal(t, "UNAUTHENTICATED", client.Code(err), name)
		_, err = c.CancelOrder(ctx, o.ID, api.CancelOrderRequest{})
		require.Equal(t, "UNAUTHENTICATED", client.Code(err), name)
	}
	var streams int
	require.NoError(t, f.pool.QueryRow(ctx, "SELECT count(*) FROM streams").Scan(&streams))
	require.Equal(t, 1, streams, "the refused create stored nothing")

	status := func(hc *http.Client, path string) int {
		t.Helper()
		resp, err := hc.Get(f.base + path)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	withToken := &http.Client{Transport: auth.ServiceTransport(testenv.ServiceToken, nil)}
	require.Equal(t, http.StatusOK, status(http.DefaultClient, "/healthz"))
	require.Equal(t, http.StatusOK, status(http.DefaultClient, "/readyz"))
	require.Equal(t, http.StatusOK, status(http.DefaultClient, "/metrics"), "Prometheus scrapes without the token")
	require.Equal(t, http.StatusUnauthorized, status(http.DefaultClient, "/debug/pprof/"))
	require.Equal(t, http.StatusOK, status(withToken, "/debug/pprof/"))
	require.Equal(t, http.StatusUnauthorized, status(http.DefaultClient, "/v1/orders/"+uuid.NewString()))
	require.Equal(t, http.StatusNotFound, status(withToken, "/v1/orders/"+uuid.NewString()))
}
