package paymentgateway_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/paymentgateway/client"
	"github.com/orderflow/orderflow/platform/testenv"
)

func TestEachTokenHasItsDocumentedOutcome(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.SlowDelay = 200 * time.Millisecond
	cfg.FlakyFailures = 0 // the retries of tok_flaky have a test of their own
	g := start(t, cfg)

	tests := []struct {
		token       string
		wantHTTP    int
		wantStatus  string // "" when nothing is charged
		wantFailure string
	}{
		{"tok_visa", http.StatusCreated, "succeeded", ""},
		{"tok_mastercard", http.StatusCreated, "succeeded", ""},
		{"tok_chargeDeclined", http.StatusPaymentRequired, "failed", "card_declined"},
		{"tok_insufficientFunds", http.StatusPaymentRequired, "failed", "insufficient_funds"},
		{"tok_slow", http.StatusCreated, "succeeded", ""},
		{"tok_flaky", http.StatusCreated, "succeeded", ""},
		{"tok_unavailable", http.StatusServiceUnavailable, "", ""},
		{"tok_doesNotExist", http.StatusPaymentRequired, "failed", "invalid_payment_method"},
	}
	for _, tt := range tests {
		t.Run(tt.token, func(t *testing.T) {
			ref := key(t, "ref")
			got := do(t, http.MethodPost, g.URL+"/v1/charges", key(t, "charge"), chargeBody(1999, tt.token, ref))
			require.Equal(t, tt.wantHTTP, got.Status, "body: %s", got.Body)

			body := got.JSON(t)
			charge := body
			switch tt.wantHTTP {
			case http.StatusPaymentRequired:
				code, _ := got.ErrorCode(t)
				require.Equal(t, tt.wantFailure, code)
				charge = body["charge"].(map[string]any)
				require.Equal(t, charge["id"], body["error"].(map[string]any)["charge"], "the error names the declined charge")
			case http.StatusServiceUnavailable:
				code, _ := got.ErrorCode(t)
				require.Equal(t, "service_unavailable", code)
				require.Empty(t, ledger(t, g, ref), "nothing is charged when the processor is unavailable")
				return
			}

			require.Equal(t, "charge", charge["object"])
			require.Regexp(t, `^ch_[A-Z2-7]{26}$`, charge["id"])
			require.Equal(t, tt.wantStatus, charge["status"])
			require.EqualValues(t, 1999, charge["amount"])
			require.Equal(t, "EUR", charge["currency"])
			require.Equal(t, tt.token, charge["source"])
			require.Equal(t, ref, charge["reference"])
			require.EqualValues(t, 0, charge["amount_refunded"])
			require.Equal(t, []any{}, charge["refunds"])
			if tt.wantFailure == "" {
				require.Nil(t, charge["failure_code"], "failure_code is null for a captured charge")
			} else {
				require.Equal(t, tt.wantFailure, charge["failure_code"])
			}
			_, err := time.Parse(time.RFC3339, charge["created"].(string))
			require.NoError(t, err)

			// Declined or captured, the charge is in the ledger, once.
			stored := ledger(t, g, ref)
			require.Len(t, stored, 1)
			require.Equal(t, charge["id"], stored[0].ID)
			require.Equal(t, tt.wantStatus, stored[0].Status)
			require.Equal(t, tt.wantFailure, stored[0].FailureCode)
		})
	}
}

func TestClientSeesDeclinesAsChargesAndOutagesAsTemporaryErrors(t *testing.T) {
	t.Parallel()
	g := start(t, testConfig(t))
	ctx := testenv.Context(t, 10*time.Second)

	ch, err := g.Client.CreateCharge(ctx, key(t, "declined"), client.ChargeRequest{Amount: 500, Currency: "EUR", Source: "tok_insufficientFunds", Reference: "r1"})
	require.NoError(t, err, "a decline is an answer, not an error")
	require.Equal(t, client.StatusFailed, ch.Status)
	require.Equal(t, "insufficient_funds", ch.FailureCode)
	require.NotEmpty(t, ch.FailureMessage)

	stored, err := g.Client.GetCharge(ctx, ch.ID)
	require.NoError(t, err)
	require.Equal(t, ch, stored)

	_, err = g.Client.CreateCharge(ctx, key(t, "unavailable"), client.ChargeRequest{Amount: 500, Currency: "EUR", Source: "tok_unavailable"})
	var cerr *client.Error
	require.True(t, errors.As(err, &cerr), "want *client.Error, got %v", err)
	require.Equal(t, http.StatusServiceUnavailable, cerr.StatusCode)
	require.Equal(t, "service_unavailable", cerr.Code)
	require.True(t, cerr.Temporary())

	_, err = g.Client.GetCharge(ctx, "ch_unknown")
	require.True(t, errors.As(err, &cerr), "want *client.Error, got %v", err)
	require.Equal(t, http.StatusNotFound, cerr.StatusCode)
	require.Equal(t, "resource_missing", cerr.Code)
	require.False(t, cerr.Temporary())
}

func TestUnavailableNeverChargesWhateverTheRetries(t *testing.T) {
	t.Parallel()
	g := start(t, testConfig(t))
	k, ref := key(t, "k"), key(t, "ref")
	for range 5 {
		_, err := g.Client.CreateCharge(context.Background(), k, client.ChargeRequest{Amount: 100, Currency: "EUR", Source: "tok_unavailable", Reference: ref})
		require.True(t, client.Temporary(err), "want a temporary error, got %v", err)
	}
	require.Empty(t, ledger(t, g, ref))
}

func TestSlowChargeIsFoundByTheRetryAfterTheCallerTimedOut(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.SlowDelay = time.Second
	g := start(t, cfg)
	k, ref := key(t, "k"), key(t, "ref")
	req := client.ChargeRequest{Amount: 2500, Currency: "EUR", Source: "tok_slow", Reference: ref}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	firstErr := make(chan error, 1)
	go func() {
		_, err := g.Client.CreateCharge(ctx, k, req)
		firstErr <- err
	}()

	// The charge is committed before the answer is held back: it is in the
	// ledger while the caller is still waiting.
	deadline := time.Now().Add(250 * time.Millisecond)
	for len(ledger(t, g, ref)) == 0 {
		require.True(t, time.Now().Before(deadline), "the slow charge is not in the ledger before the caller's timeout")
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-firstErr:
		t.Fatalf("the slow charge was answered before the caller's timeout: %v", err)
	default:
	}

	err := <-firstErr
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.True(t, client.Temporary(err), "a timeout must be retried")

	// The retry gets the first charge at once, not after another SlowDelay.
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	began := time.Now()
	retried, err := g.Client.CreateCharge(ctx, k, req)
	require.NoError(t, err)
	require.Less(t, time.Since(began), 300*time.Millisecond)
	require.Equal(t, client.StatusSucceeded, retried.Status)

	charges := ledger(t, g, ref)
	require.Len(t, charges, 1, "the retry must not charge again")
	require.Equal(t, charges[0].ID, retried.ID)

	// Once the first answer would have arrived, still only one charge.
	time.Sleep(cfg.SlowDelay)
	require.Len(t, ledger(t, g, ref), 1)
}

func TestFlakyChargeSucceedsAfterTheConfiguredFailures(t *testing.T) {
	t.Parallel()
	g := start(t, testConfig(t)) // FlakyFailures: 2
	k, ref := key(t, "k"), key(t, "ref")
	req := client.ChargeRequest{Amount: 700, Currency: "EUR", Source: "tok_flaky", Reference: ref}
	ctx := testenv.Context(t, 10*time.Second)

	for attempt := 1; attempt <= 2; attempt++ {
		_, err := g.Client.CreateCharge(ctx, k, req)
		var cerr *client.Error
		require.True(t, errors.As(err, &cerr), "attempt %d: want *client.Error, got %v", attempt, err)
		require.Equal(t, http.StatusServiceUnavailable, cerr.StatusCode, "attempt %d", attempt)
		require.True(t, cerr.Temporary())
		require.Empty(t, ledger(t, g, ref), "attempt %d: a 503 charges nothing", attempt)
	}
	ch, err := g.Client.CreateCharge(ctx, k, req)
	require.NoError(t, err)
	require.Equal(t, client.StatusSucceeded, ch.Status)

	again, err := g.Client.CreateCharge(ctx, k, req)
	require.NoError(t, err)
	require.Equal(t, ch, again, "later retries replay the charge")
	require.Len(t, ledger(t, g, ref), 1)

	// Attempts are counted per key: a new key starts failing again.
	_, err = g.Client.CreateCharge(ctx, key(t, "other"), req)
	require.True(t, client.Temporary(err), "want a 503 for a fresh key, got %v", err)
}

func TestLoadTestKnobs(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.DeclineRate = 1
	cfg.Latency = 200 * time.Millisecond
	g := start(t, cfg)
	ctx := testenv.Context(t, 10*time.Second)

	began := time.Now()
	ch, err := g.Client.CreateCharge(ctx, key(t, "k"), client.ChargeRequest{Amount: 100, Currency: "EUR", Source: "tok_visa"})
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(began), cfg.Latency, "latency is added to every charge answer")
	require.Equal(t, client.StatusFailed, ch.Status, "a decline rate of 1 declines every charge")
	require.Equal(t, "card_declined", ch.FailureCode)

	began = time.Now()
	_, err = g.Client.GetCharge(ctx, ch.ID)
	require.NoError(t, err)
	require.Less(t, time.Since(began), cfg.Latency, "reading the ledger is not slowed down")
}

func TestListChargesPagesThroughTheWholeLedgerInOrder(t *testing.T) {
	t.Parallel()
	g := start(t, testConfig(t))
	ctx := testenv.Context(t, 20*time.Second)

	refA, refB := key(t, "a"), key(t, "b")
	var wantAll, wantA []string
	for i := range 23 {
		ref, source := refA, "tok_visa"
		if i%3 == 0 {
			ref, source = refB, "tok_chargeDeclined"
		}
		ch, err := g.Client.CreateCharge(ctx, key(t, "k"), client.ChargeRequest{Amount: int64(100 + i), Currency: "EUR", Source: source, Reference: ref})
		require.NoError(t, err)
		wantAll = append(wantAll, ch.ID)
		if ref == refA {
			wantA = append(wantA, ch.ID)
		}
	}

	var pages []int
	var gotAll []string
	params := client.ListParams{Limit: 10}
	for {
		page, err := g.Client.ListCharges(ctx, params)
		require.NoError(t, err)
		pages = append(pages, len(page.Data))
		for _, ch := range page.Data {
			gotAll = append(gotAll, ch.ID)
		}
		if !page.HasMore {
			break
		}
		params.StartingAfter = page.Data[len(page.Data)-1].ID
	}
	require.Equal(t, []int{10, 10, 3}, pages)
	require.Equal(t, wantAll, gotAll, "every charge once, in creation order, declined ones included")

	var gotA []string
	for _, ch := range ledger(t, g, refA) {
		require.Equal(t, refA, ch.Reference)
		gotA = append(gotA, ch.ID)
	}
	require.Equal(t, wantA, gotA)

	page, err := g.Client.ListCharges(ctx, client.ListParams{})
	require.NoError(t, err)
	require.Len(t, page.Data, 10, "the default page size")
	require.True(t, page.HasMore)

	page, err = g.Client.ListCharges(ctx, client.ListParams{Reference: "nobody"})
	require.NoError(t, err)
	require.Empty(t, page.Data)
	require.False(t, page.HasMore)
}

func TestHealthEndpoints(t *testing.T) {
	t.Parallel()
	g := start(t, testConfig(t))
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, g.URL+"/healthz", "", "").Status)
	ready := do(t, http.MethodGet, g.URL+"/readyz", "", "")
	require.Equal(t, http.StatusOK, ready.Status, "body: %s", ready.Body)
	require.Equal(t, "ok", ready.JSON(t)["checks"].(map[string]any)["postgres"])
}
