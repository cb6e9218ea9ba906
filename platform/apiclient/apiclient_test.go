package apiclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/platform/apiclient"
)

func TestCallDecodesAnswersAndErrorAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			_, _ = w.Write([]byte(`{"id":"o-1"}`))
		case "/invalid":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":{"code":"invalid","message":"fix it","problems":[{"field":"currency"}]}}`))
		default:
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	var out struct{ ID string }
	require.NoError(t, apiclient.Call(ctx, srv.Client(), "order", http.MethodPost, srv.URL+"/ok", map[string]int{"n": 1}, &out))
	require.Equal(t, "o-1", out.ID)

	err := apiclient.Call(ctx, srv.Client(), "order", http.MethodGet, srv.URL+"/invalid", nil, &out)
	var ae *apiclient.Error
	require.True(t, errors.As(err, &ae))
	require.Equal(t, apiclient.Error{StatusCode: 400, Code: "invalid", Message: "fix it",
		Detail: []byte(`{"code":"invalid","message":"fix it","problems":[{"field":"currency"}]}`)}, *ae,
		"the whole error object is kept for the client's own detail")

	err = apiclient.Call(ctx, srv.Client(), "order", http.MethodGet, srv.URL+"/broken", nil, &out)
	require.True(t, errors.As(err, &ae))
	require.Equal(t, apiclient.CodeUnavailable, ae.Code)
	require.Equal(t, "the order service answered 502", ae.Message)

	srv.Close()
	err = apiclient.Call(ctx, srv.Client(), "payment", http.MethodGet, srv.URL+"/ok", nil, &out)
	require.True(t, errors.As(err, &ae))
	require.Equal(t, apiclient.CodeUnavailable, ae.Code)
	require.Contains(t, ae.Message, "the payment service is unreachable")
}
