package client_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/order/api"
	"github.com/orderflow/orderflow/order/client"
	"github.com/orderflow/orderflow/platform/testenv"
)

// TestConcurrentCallsReuseConnections holds 64 calls open at once, so they
// need 64 connections, then makes 64 concurrent calls again: the second
// burst must find every connection of the first kept alive.
func TestConcurrentCallsReuseConnections(t *testing.T) {
	const burst = 64
	var (
		opened  atomic.Int64
		arrived sync.WaitGroup
		held    = make(chan struct{})
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		<-held
		_ = json.NewEncoder(w).Encode(api.Order{ID: r.PathValue("id")})
	}))
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := client.New(srv.URL, &http.Client{Timeout: 30 * time.Second})
	ctx := testenv.Context(t, time.Minute)

	for round := range 2 {
		arrived.Add(burst)
		held = make(chan struct{})
		var calls sync.WaitGroup
		for range burst {
			calls.Go(func() {
				_, err := c.GetOrder(ctx, uuid.NewString())
				require.NoError(t, err)
			})
		}
		arrived.Wait()
		close(held)
		calls.Wait()
		require.EqualValues(t, burst, opened.Load(), "connections opened after round %d", round+1)
	}
}
