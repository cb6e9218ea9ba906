package compensation_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/platform/auth"
)

// The sagas' API wants the service token; the health checks want none.
func TestTheAPINeedsTheServiceToken(t *testing.T) {
	t.Parallel()
	svc := newTestService(t, 30*time.Second)

	_, err := svc.saga(uuid.NewString())
	require.ErrorContains(t, err, "404", "with the token: the route answers")

	for name, hc := range map[string]*http.Client{
		"no token":    {},
		"wrong token": {Transport: auth.ServiceTransport("wrong-service-token-0123456789", nil)},
	} {
		resp, err := hc.Get(svc.base + "/v1/sagas/" + uuid.NewString())
		require.NoError(t, err)
		var body struct {
			Error struct{ Code string } `json:"error"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, name)
		require.Equal(t, "UNAUTHENTICATED", body.Error.Code, name)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} { // Prometheus scrapes without the token
		resp, err := http.Get(svc.base + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
	}
}
