// Package gatewaytest starts the real payment gateway for other modules'
// tests, on a database of its own, so that charges, declines, slow answers
// and 503s are the simulated PSP's, not a fake's.
package gatewaytest

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/orderflow/orderflow/paymentgateway"
	"github.com/orderflow/orderflow/paymentgateway/client"
	"github.com/orderflow/orderflow/platform/auth"
	"github.com/orderflow/orderflow/platform/logging"
	"github.com/orderflow/orderflow/platform/testenv"
)

// SlowDelay is how late the test gateway answers tok_slow charges: longer
// than any PSP timeout the tests configure.
const SlowDelay = 1500 * time.Millisecond

// Gateway is a running payment gateway. It wants testenv.ServiceToken,
// which Client and HTTPClient send.
type Gateway struct {
	URL    string
	Client *client.Client
	// HTTPClient sends the service token, for callers that build their
	// own client of the gateway.
	HTTPClient *http.Client
}

// Start runs paymentgateway.Run until the test ends. tok_flaky fails twice
// per idempotency key before it is captured.
func Start(t testing.TB) *Gateway {
	t.Helper()
	cfg := paymentgateway.Config{
		HTTPAddr:        "127.0.0.1:0",
		PostgresDSN:     testenv.PostgresDatabase(t),
		SlowDelay:       SlowDelay,
		FlakyFailures:   2,
		ShutdownTimeout: 5 * time.Second,
		ServiceToken:    testenv.ServiceToken,
	}
	log := logging.New(t.Output(), "paymentgateway", slog.LevelWarn)
	url, _ := testenv.Serve(t, func(ctx context.Context, ready chan<- net.Addr) error {
		return paymentgateway.Run(ctx, cfg, log, ready)
	})
	hc := &http.Client{Transport: auth.ServiceTransport(testenv.ServiceToken, nil)}
	return &Gateway{URL: url, Client: client.New(url, hc), HTTPClient: hc}
}
