package client_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/paymentgateway/client"
)

// answering returns a client of a server that always answers status and body.
func answering(t *testing.T, status int, body string) *client.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return client.New(srv.URL, srv.Client())
}

func TestCreateChargeTellsDeclinedFromRefusedFromUnreachable(t *testing.T) {
	tests := []struct {
		name          string
		status        int
		body          string
		wantStatus    string
		wantFailure   string
		wantErrStatus int
		wantErrCode   string
		wantTemporary bool
	}{
		{
			name: "captured", status: 201,
			body:       `{"id":"ch_1","object":"charge","amount":100,"status":"succeeded","failure_code":null}`,
			wantStatus: client.StatusSucceeded,
		},
		{
			name: "declined is a charge, not an error", status: 402,
			body:       `{"error":{"code":"card_declined","message":"no","charge":"ch_2"},"charge":{"id":"ch_2","status":"failed","failure_code":"card_declined"}}`,
			wantStatus: client.StatusFailed, wantFailure: "card_declined",
		},
		{
			name: "bad request", status: 400,
			body:          `{"error":{"code":"parameter_invalid","param":"amount","message":"amount must be positive"}}`,
			wantErrStatus: 400, wantErrCode: "parameter_invalid",
		},
		{
			name: "key reused", status: 409,
			body:          `{"error":{"code":"idempotency_key_reused","message":"use a new key"}}`,
			wantErrStatus: 409, wantErrCode: "idempotency_key_reused",
		},
		{
			name: "rate limited", status: 429,
			body:          `{"error":{"code":"rate_limited","message":"slow down"}}`,
			wantErrStatus: 429, wantErrCode: "rate_limited", wantTemporary: true,
		},
		{
			name: "unavailable", status: 503,
			body:          `{"error":{"code":"service_unavailable","message":"retry"}}`,
			wantErrStatus: 503, wantErrCode: "service_unavailable", wantTemporary: true,
		},
		{
			name: "a proxy's HTML error page", status: 502,
			body:          `<html>bad gateway</html>`,
			wantErrStatus: 502, wantErrCode: "http_502", wantTemporary: true,
		},
		{
			name: "2xx that is not JSON", status: 201,
			body:          `not json`,
			wantErrStatus: 201, wantErrCode: client.CodeInvalidResponse,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := answering(t, tt.status, tt.body)
			ch, err := c.CreateCharge(context.Background(), "key-1", client.ChargeRequest{Amount: 100, Currency: "EUR", Source: "tok_visa"})
			if tt.wantErrCode == "" {
				require.NoError(t, err)
				require.Equal(t, tt.wantStatus, ch.Status)
				require.Equal(t, tt.wantFailure, ch.FailureCode)
				return
			}
			var cerr *client.Error
			require.True(t, errors.As(err, &cerr), "want *client.Error, got %v", err)
			require.Equal(t, tt.wantErrStatus, cerr.StatusCode)
			require.Equal(t, tt.wantErrCode, cerr.Code)
			require.Equal(t, tt.wantTemporary, cerr.Temporary())
			require.Equal(t, tt.wantTemporary, client.Temporary(err))
		})
	}
}

func TestTimeoutIsTemporaryAndClassifiable(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c := client.New(srv.URL, srv.Client())

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.CreateCharge(ctx, "key-1", client.ChargeRequest{Amount: 100, Currency: "EUR", Source: "tok_slow"})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.True(t, client.Temporary(err), "a timed-out charge must be retried with the same key")
}

func TestHTTPClientTimeoutIsANetTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c := client.New(srv.URL, &http.Client{Timeout: 50 * time.Millisecond})

	_, err := c.GetCharge(context.Background(), "ch_1")
	var nerr net.Error
	require.True(t, errors.As(err, &nerr) && nerr.Timeout(), "want a net timeout, got %v", err)
	require.True(t, client.Temporary(err))
}

func TestCancelledCallIsNotTemporary(t *testing.T) {
	c := answering(t, 201, `{}`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.CreateCharge(ctx, "key-1", client.ChargeRequest{Amount: 100, Currency: "EUR", Source: "tok_visa"})
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, client.Temporary(err))
}

func TestUnreachableGatewayIsTemporary(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there any more

	c := client.New("http://"+addr, nil)
	_, err = c.CreateCharge(context.Background(), "key-1", client.ChargeRequest{Amount: 100, Currency: "EUR", Source: "tok_visa"})
	var cerr *client.Error
	require.True(t, errors.As(err, &cerr), "want *client.Error, got %v", err)
	require.Equal(t, 0, cerr.StatusCode)
	require.Equal(t, client.CodeNetwork, cerr.Code)
	require.True(t, cerr.Temporary())
}

func TestRequestsCarryKeyAndQuery(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		_, _ = w.Write([]byte(`{"object":"list","data":[],"has_more":false}`))
	}))
	t.Cleanup(srv.Close)
	c := client.New(srv.URL+"/", srv.Client())

	_, err := c.ListCharges(context.Background(), client.ListParams{Reference: "pay 1&2", Limit: 50, StartingAfter: "ch_9"})
	require.NoError(t, err)
	require.Equal(t, "/v1/charges", got.URL.Path)
	require.Equal(t, "pay 1&2", got.URL.Query().Get("reference"))
	require.Equal(t, "50", got.URL.Query().Get("limit"))
	require.Equal(t, "ch_9", got.URL.Query().Get("starting_after"))

	_, err = c.CreateRefund(context.Background(), "refund-key", client.RefundRequest{Charge: "ch_1"})
	require.NoError(t, err)
	require.Equal(t, "/v1/refunds", got.URL.Path)
	require.Equal(t, "refund-key", got.Header.Get("Idempotency-Key"))
	require.Equal(t, "application/json", got.Header.Get("Content-Type"))
}
