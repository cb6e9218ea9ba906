package paymentgateway_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBadRequestsGetAJSONErrorNamingTheProblem(t *testing.T) {
	t.Parallel()
	g := start(t, testConfig(t))
	good := chargeBody(1999, "tok_visa", "ref-bad-requests")

	tests := []struct {
		name      string
		method    string
		path      string
		key       string
		body      string
		wantHTTP  int
		wantCode  string
		wantParam string
	}{
		{"charge without key", "POST", "/v1/charges", "", good, 400, "idempotency_key_missing", "Idempotency-Key"},
		{"charge with a too long key", "POST", "/v1/charges", strings.Repeat("k", 256), good, 400, "idempotency_key_invalid", "Idempotency-Key"},
		{"empty body", "POST", "/v1/charges", "k", ``, 400, "invalid_json", ""},
		{"malformed JSON", "POST", "/v1/charges", "k", `{"amount":1999,`, 400, "invalid_json", ""},
		{"not an object", "POST", "/v1/charges", "k", `[1,2]`, 400, "invalid_json", ""},
		{"two objects", "POST", "/v1/charges", "k", good + good, 400, "invalid_json", ""},
		{"unknown field", "POST", "/v1/charges", "k", `{"amount":1999,"currency":"EUR","source":"tok_visa","capture":false}`, 400, "parameter_unknown", "capture"},
		{"null amount", "POST", "/v1/charges", "k", `{"amount":null,"currency":"EUR","source":"tok_visa"}`, 400, "parameter_missing", "amount"},
		{"amount as a string", "POST", "/v1/charges", "k", `{"amount":"1999","currency":"EUR","source":"tok_visa"}`, 400, "parameter_invalid", "amount"},
		{"amount with decimals", "POST", "/v1/charges", "k", `{"amount":19.99,"currency":"EUR","source":"tok_visa"}`, 400, "parameter_invalid", "amount"},
		{"zero amount", "POST", "/v1/charges", "k", `{"amount":0,"currency":"EUR","source":"tok_visa"}`, 400, "parameter_invalid", "amount"},
		{"negative amount", "POST", "/v1/charges", "k", `{"amount":-1,"currency":"EUR","source":"tok_visa"}`, 400, "parameter_invalid", "amount"},
		{"missing amount", "POST", "/v1/charges", "k", `{"currency":"EUR","source":"tok_visa"}`, 400, "parameter_missing", "amount"},
		{"huge amount", "POST", "/v1/charges", "k", `{"amount":100000001,"currency":"EUR","source":"tok_visa"}`, 400, "parameter_invalid", "amount"},
		{"lower-case currency", "POST", "/v1/charges", "k", `{"amount":1,"currency":"eur","source":"tok_visa"}`, 400, "parameter_invalid", "currency"},
		{"missing currency", "POST", "/v1/charges", "k", `{"amount":1,"source":"tok_visa"}`, 400, "parameter_missing", "currency"},
		{"missing source", "POST", "/v1/charges", "k", `{"amount":1,"currency":"EUR"}`, 400, "parameter_missing", "source"},
		{"body too large", "POST", "/v1/charges", "k", `{"amount":1,"currency":"EUR","source":"tok_visa","description":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "request_too_large", ""},
		{"refund without key", "POST", "/v1/refunds", "", `{"charge":"ch_1"}`, 400, "idempotency_key_missing", "Idempotency-Key"},
		{"refund without charge", "POST", "/v1/refunds", "k", `{"amount":1}`, 400, "parameter_missing", "charge"},
		{"refund of zero", "POST", "/v1/refunds", "k", `{"charge":"ch_1","amount":0}`, 400, "parameter_invalid", "amount"},
		{"refund with unknown field", "POST", "/v1/refunds", "k", `{"charge":"ch_1","reason":"x"}`, 400, "parameter_unknown", "reason"},
		{"unknown charge", "GET", "/v1/charges/ch_nope", "", "", 404, "resource_missing", "id"},
		{"list with limit 0", "GET", "/v1/charges?limit=0", "", "", 400, "parameter_invalid", "limit"},
		{"list with limit 101", "GET", "/v1/charges?limit=101", "", "", 400, "parameter_invalid", "limit"},
		{"list with a word for limit", "GET", "/v1/charges?limit=ten", "", "", 400, "parameter_invalid", "limit"},
		{"list with a mistyped filter", "GET", "/v1/charges?ref=x", "", "", 400, "parameter_unknown", "ref"},
		{"list after an unknown charge", "GET", "/v1/charges?starting_after=ch_nope", "", "", 400, "resource_missing", "starting_after"},
		{"unknown route", "GET", "/v1/customers", "", "", 404, "resource_missing", ""},
		{"wrong method", "DELETE", "/v1/charges", "", "", 405, "method_not_allowed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := do(t, tt.method, g.URL+tt.path, tt.key, tt.body)
			require.Equal(t, tt.wantHTTP, got.Status, "body: %s", got.Body)
			code, param := got.ErrorCode(t)
			require.Equal(t, tt.wantCode, code, "body: %s", got.Body)
			require.Equal(t, tt.wantParam, param, "body: %s", got.Body)
			require.NotContains(t, string(got.Body), "json:", "no Go error text")
			require.NotContains(t, string(got.Body), "SQLSTATE")
		})
	}
	require.Empty(t, ledger(t, g, ""), "no bad request charged anything")
}

func TestABadRequestDoesNotBurnItsKey(t *testing.T) {
	t.Parallel()
	g := start(t, testConfig(t))
	k := key(t, "k")
	bad := do(t, http.MethodPost, g.URL+"/v1/charges", k, `{"amount":0,"currency":"EUR","source":"tok_visa"}`)
	require.Equal(t, http.StatusBadRequest, bad.Status)

	fixed := do(t, http.MethodPost, g.URL+"/v1/charges", k, chargeBody(100, "tok_visa", "r"))
	require.Equal(t, http.StatusCreated, fixed.Status, "the corrected request may reuse the key: body %s", fixed.Body)
}
