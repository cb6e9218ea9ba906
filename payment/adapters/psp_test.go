package adapters_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/payment/adapters"
	"github.com/orderflow/orderflow/payment/app/command"
	"github.com/orderflow/orderflow/paymentgateway/gatewaytest"
	"github.com/orderflow/orderflow/platform/testenv"
)

func chargeRequest(source string) command.ChargeRequest {
	return command.ChargeRequest{Amount: 1999, Currency: "EUR", Source: source,
		Reference: testenv.UniqueName("ref"), Description: "adapter test"}
}

func TestPSPSortsTheGatewaysAnswers(t *testing.T) {
	gw := gatewaytest.Start(t)
	psp := adapters.NewPSP(gw.URL, gw.HTTPClient)
	ctx := testenv.Context(t, 30*time.Second)

	tests := []struct {
		name    string
		source  string
		timeout time.Duration
		want    command.Charge // ID checked for presence only
		wantErr error
	}{
		{name: "captured", source: "tok_visa", want: command.Charge{Succeeded: true}},
		{name: "declined is an answer, not an error", source: "tok_chargeDeclined", want: command.Charge{FailureCode: "card_declined"}},
		{name: "unknown token declined", source: "tok_nonsense", want: command.Charge{FailureCode: "invalid_payment_method"}},
		{name: "503 is unavailable", source: "tok_unavailable", wantErr: command.ErrPSPUnavailable},
		{name: "too slow is no answer", source: "tok_slow", timeout: 200 * time.Millisecond, wantErr: command.ErrPSPNoAnswer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			callCtx := ctx
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				callCtx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			req := chargeRequest(tt.source)
			got, err := psp.Charge(callCtx, testenv.UniqueName("key"), req)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.NotEmpty(t, got.ID)
			got.ID = ""
			require.Equal(t, tt.want, got)

			found, err := psp.FindCharges(ctx, req.Reference)
			require.NoError(t, err)
			require.Len(t, found, 1, "the lookup by reference finds the charge")
		})
	}
}

func TestPSPRetryOfASlowChargeFindsTheFirst(t *testing.T) {
	gw := gatewaytest.Start(t)
	psp := adapters.NewPSP(gw.URL, gw.HTTPClient)
	ctx := testenv.Context(t, 30*time.Second)
	req, key := chargeRequest("tok_slow"), testenv.UniqueName("key")

	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err := psp.Charge(short, key, req)
	require.ErrorIs(t, err, command.ErrPSPNoAnswer)

	found, err := psp.FindCharges(ctx, req.Reference)
	require.NoError(t, err)
	require.Len(t, found, 1, "the unanswered call charged")
	require.True(t, found[0].Succeeded)

	again, err := psp.Charge(ctx, key, req)
	require.NoError(t, err)
	require.Equal(t, found[0].ID, again.ID, "the retry with the same key returns the first charge")
}

func TestPSPRefundsOnceAndRejectsWhatCannotBeRefunded(t *testing.T) {
	gw := gatewaytest.Start(t)
	psp := adapters.NewPSP(gw.URL, gw.HTTPClient)
	ctx := testenv.Context(t, 30*time.Second)
	ch, err := psp.Charge(ctx, testenv.UniqueName("key"), chargeRequest("tok_visa"))
	require.NoError(t, err)

	key := testenv.UniqueName("refund")
	first, err := psp.Refund(ctx, key, command.RefundRequest{ChargeID: ch.ID, Amount: 1999})
	require.NoError(t, err)
	require.NotEmpty(t, first.ID)
	again, err := psp.Refund(ctx, key, command.RefundRequest{ChargeID: ch.ID, Amount: 1999})
	require.NoError(t, err)
	require.Equal(t, first, again, "a repeated refund key is the same refund")

	_, err = psp.Refund(ctx, testenv.UniqueName("refund"), command.RefundRequest{ChargeID: ch.ID, Amount: 1999})
	var rejected *command.PSPRejectedError
	require.ErrorAs(t, err, &rejected, "a second refund of a refunded charge can never succeed")
	require.Equal(t, "charge_already_refunded", rejected.Code)

	_, err = psp.Refund(ctx, testenv.UniqueName("refund"), command.RefundRequest{ChargeID: "ch_missing", Amount: 1})
	require.ErrorAs(t, err, &rejected)
	require.Equal(t, 404, rejected.StatusCode)
}

func TestPSPUnreachableIsUnavailableAndABadGatewayIsNoAnswer(t *testing.T) {
	ctx := testenv.Context(t, 10*time.Second)

	// A port nobody listens on: the connection is refused, nothing was sent.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	_, err = adapters.NewPSP(closed, &http.Client{}).Charge(ctx, "k", chargeRequest("tok_visa"))
	require.ErrorIs(t, err, command.ErrPSPUnavailable)
	require.Error(t, adapters.NewPSP(closed, &http.Client{}).Ping(ctx), "readiness fails")

	// A proxy's 502: the PSP behind it may have charged.
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer proxy.Close()
	_, err = adapters.NewPSP(proxy.URL, &http.Client{}).Charge(ctx, "k", chargeRequest("tok_visa"))
	require.ErrorIs(t, err, command.ErrPSPNoAnswer)
	require.False(t, errors.Is(err, command.ErrPSPUnavailable))
}

func TestPSPPing(t *testing.T) {
	gw := gatewaytest.Start(t)
	require.NoError(t, adapters.NewPSP(gw.URL, gw.HTTPClient).Ping(testenv.Context(t, 10*time.Second)))
}

func TestPSPClientSendsTheServiceToken(t *testing.T) {
	gw := gatewaytest.Start(t)
	ctx := testenv.Context(t, 10*time.Second)
	_, err := adapters.NewPSP(gw.URL, adapters.NewHTTPClient(4, testenv.ServiceToken)).Charge(ctx, testenv.UniqueName("key"), chargeRequest("tok_visa"))
	require.NoError(t, err)

	_, err = adapters.NewPSP(gw.URL, adapters.NewHTTPClient(4, "wrong-service-token-0123456789")).Charge(ctx, testenv.UniqueName("key"), chargeRequest("tok_visa"))
	var rejected *command.PSPRejectedError
	require.ErrorAs(t, err, &rejected, "a wrong token is refused, and repeating cannot help")
	require.Equal(t, http.StatusUnauthorized, rejected.StatusCode)
	require.Equal(t, "UNAUTHENTICATED", rejected.Code)
}
