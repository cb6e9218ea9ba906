// Package testgateway starts the real payment gateway for the payment
// service's tests, on a database of its own, so that charges, declines,
// slow answers and 503s are the simulated PSP's, not a fake's.
package testgateway

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/orderflow/orderflow/paymentgateway"
	"github.com/orderflow/orderflow/paymentgateway/client"
	"github.com/orderflow/orderflow/platform/logging"
	"github.com/orderflow/orderflow/platform/testenv"
)

// SlowDelay is how late the test gateway answers tok_slow charges: longer
// than any PSP timeout the tests configure.
const SlowDelay = 1500 * time.Millisecond

// Gateway is a running payment gateway.
type Gateway struct {
	URL    string
	Client *client.Client
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
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	log := logging.New(t.Output(), "paymentgateway", slog.LevelWarn)
	go func() { done <- paymentgateway.Run(ctx, cfg, log, ready) }()

	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("paymentgateway did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("paymentgateway did not start within 30s")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("paymentgateway stopped with: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("paymentgateway did not stop within 10s")
		}
	})
	url := "http://" + addr.String()
	return &Gateway{URL: url, Client: client.New(url, &http.Client{})}
}
