package paymentgateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/paymentgateway"
	"github.com/orderflow/orderflow/paymentgateway/client"
	"github.com/orderflow/orderflow/platform/auth"
	"github.com/orderflow/orderflow/platform/logging"
	"github.com/orderflow/orderflow/platform/testenv"
)

// testConfig is the configuration of a gateway on a fresh database of its
// own, with delays short enough for tests.
func testConfig(t *testing.T) paymentgateway.Config {
	t.Helper()
	return paymentgateway.Config{
		HTTPAddr:        "127.0.0.1:0",
		PostgresDSN:     testenv.PostgresDatabase(t) + "&pool_max_conns=8",
		SlowDelay:       time.Second,
		FlakyFailures:   2,
		ShutdownTimeout: 5 * time.Second,
		ServiceToken:    testenv.ServiceToken,
	}
}

// gateway is a running paymentgateway.Run.
type gateway struct {
	URL    string
	Client *client.Client
	stop   func()
}

// Stop ends Run and fails the test if it did not shut down cleanly.
func (g *gateway) Stop() { g.stop() }

// start runs the real program with cfg until the test ends (or Stop).
func start(t *testing.T, cfg paymentgateway.Config) *gateway {
	t.Helper()
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
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("paymentgateway did not start within 20s")
	}

	var stopped atomic.Bool
	stop := func() {
		if stopped.Swap(true) {
			return
		}
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err, "Run must return nil after a clean shutdown")
		case <-time.After(10 * time.Second):
			t.Error("paymentgateway did not stop within 10s")
		}
	}
	t.Cleanup(stop)
	url := "http://" + addr.String()
	hc := &http.Client{Transport: auth.ServiceTransport(testenv.ServiceToken, nil)}
	return &gateway{URL: url, Client: client.New(url, hc), stop: stop}
}

// key returns an idempotency key no other test uses.
func key(t *testing.T, name string) string {
	t.Helper()
	return testenv.UniqueName(strings.ReplaceAll(t.Name(), "/", "_") + "_" + name)
}

// answer is a raw HTTP answer, for assertions on status codes and bytes.
type answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the answer's body into a generic map.
func (a answer) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(a.Body, &m), "answer is not a JSON object: %s", a.Body)
	return m
}

// ErrorCode returns error.code and error.param of an error answer, checking
// that it is JSON with a message a person can act on.
func (a answer) ErrorCode(t *testing.T) (code, param string) {
	t.Helper()
	require.Equal(t, "application/json", a.Header.Get("Content-Type"))
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Param   string `json:"param"`
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(a.Body, &body), "error is not JSON: %s", a.Body)
	require.NotEmpty(t, body.Error.Message, "error without a message: %s", a.Body)
	return body.Error.Code, body.Error.Param
}

// do sends a raw request with the service token; a non-empty key goes in
// the Idempotency-Key header.
func do(t *testing.T, method, url, key, body string) answer {
	t.Helper()
	return doAs(t, "Bearer "+testenv.ServiceToken, method, url, key, body)
}

// doAs sends a raw request with the Authorization header authorization
// (none if empty).
func doAs(t *testing.T, authorization, method, url, key, body string) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func chargeBody(amount int64, source, reference string) string {
	return fmt.Sprintf(`{"amount":%d,"currency":"EUR","source":%q,"reference":%q,"description":"test"}`, amount, source, reference)
}

// ledger returns every charge with reference, walking all pages.
func ledger(t *testing.T, g *gateway, reference string) []client.Charge {
	t.Helper()
	var out []client.Charge
	for ch, err := range g.Client.AllCharges(testenv.Context(t, 10*time.Second), client.ListParams{Reference: reference, Limit: 100}) {
		require.NoError(t, err)
		out = append(out, ch)
	}
	return out
}

func compact(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, json.Compact(&buf, b))
	return buf.String()
}
