package auth

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const testServiceToken = "0123456789abcdef-service-token"

// serve runs one request through RequireServiceToken and reports whether
// the wrapped handler ran.
func serve(t *testing.T, path, authorization string) (*httptest.ResponseRecorder, bool) {
	t.Helper()
	called := false
	h := RequireServiceToken(testServiceToken, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called = true
		w.WriteHeader(http.StatusNoContent)
	}), "/healthz", "/readyz")
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w, called
}

// unauthenticated requires a 401 with the JSON error body and returns its
// message.
func unauthenticated(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	require.Equal(t, http.StatusUnauthorized, w.Code)
	require.Equal(t, "application/json", w.Header().Get("Content-Type"))
	require.True(t, strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer "), "WWW-Authenticate %q", w.Header().Get("WWW-Authenticate"))
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body), "body %s", w.Body)
	require.Equal(t, "UNAUTHENTICATED", body.Error.Code)
	require.NotEmpty(t, body.Error.Message)
	return body.Error.Message
}

func TestRequireServiceToken(t *testing.T) {
	w, called := serve(t, "/internal/orders", "")
	require.False(t, called)
	require.Contains(t, unauthenticated(t, w), "Authorization: Bearer")

	for _, h := range []string{"Basic " + testServiceToken, testServiceToken, "Bearer", "Bearer   "} {
		w, called = serve(t, "/internal/orders", h)
		require.False(t, called, "header %q", h)
		require.Contains(t, unauthenticated(t, w), "needs the service token", "header %q", h)
	}

	for _, wrong := range []string{"0123456789abcdef-service-tokeN", testServiceToken + "x", testServiceToken[:20]} {
		w, called = serve(t, "/internal/orders", "Bearer "+wrong)
		require.False(t, called, "token %q", wrong)
		msg := unauthenticated(t, w)
		require.Contains(t, msg, "wrong")
		require.NotContains(t, w.Body.String(), wrong, "the refusal does not echo the token")
	}

	for _, h := range []string{"Bearer " + testServiceToken, "bearer " + testServiceToken, "BEARER  " + testServiceToken + " "} {
		w, called = serve(t, "/internal/orders", h)
		require.True(t, called, "header %q", h)
		require.Equal(t, http.StatusNoContent, w.Code)
	}

	// Open paths need no token; only those exact paths.
	for _, p := range []string{"/healthz", "/readyz"} {
		w, called = serve(t, p, "")
		require.True(t, called, p)
		require.Equal(t, http.StatusNoContent, w.Code)
	}
	for _, p := range []string{"/healthz/x", "/healthzx", "/"} {
		w, called = serve(t, p, "")
		require.False(t, called, p)
		unauthenticated(t, w)
	}
}

func TestServiceTransport(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)

	hc := &http.Client{Transport: ServiceTransport(testServiceToken, nil)}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/x", nil)
	require.NoError(t, err)
	req.Header.Set("X-Request-Id", "r1")
	resp, err := hc.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, "ok", string(body))
	require.Equal(t, []string{"Bearer " + testServiceToken}, got)
	require.Empty(t, req.Header.Get("Authorization"), "the caller's request is not modified")
	require.Equal(t, http.Header{"X-Request-Id": {"r1"}}, req.Header)

	// A header the caller set is replaced on the wire, kept on its request.
	req, err = http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/y", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer customer-token")
	resp, err = hc.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, "Bearer "+testServiceToken, got[1])
	require.Equal(t, "Bearer customer-token", req.Header.Get("Authorization"))

	// Through RequireServiceToken end to end, with an explicit base.
	protected := httptest.NewServer(RequireServiceToken(testServiceToken, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
	t.Cleanup(protected.Close)
	resp, err = (&http.Client{Transport: ServiceTransport(testServiceToken, protected.Client().Transport)}).Get(protected.URL)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, err = protected.Client().Get(protected.URL)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

func TestBearerToken(t *testing.T) {
	for _, c := range []struct {
		header, token string
		ok            bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BeArEr abc", "abc", true},
		{"  Bearer   abc  ", "abc", true},
		{"Bearer a.b.c", "a.b.c", true},
		{"", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearer    ", "", false},
		{"abc", "", false},
		{"Basic abc", "", false},
		{"Bearerabc", "", false},
		{"Bearer\tabc", "", false}, // the scheme is followed by a space
		{"Token abc", "", false},
	} {
		token, ok := BearerToken(c.header)
		require.Equal(t, c.ok, ok, "header %q", c.header)
		require.Equal(t, c.token, token, "header %q", c.header)
	}
}

func TestCheckServiceToken(t *testing.T) {
	for _, s := range []string{"", "short", strings.Repeat("x", MinServiceTokenLength-1)} {
		err := CheckServiceToken(s)
		require.Error(t, err, "%q", s)
		require.Contains(t, err.Error(), "at least 16 characters")
		require.Contains(t, err.Error(), "make run")
	}
	require.NoError(t, CheckServiceToken(strings.Repeat("x", MinServiceTokenLength)))
}

func TestNewServiceToken(t *testing.T) {
	a, b := NewServiceToken(), NewServiceToken()
	require.NotEqual(t, a, b)
	require.Len(t, a, 43) // 32 bytes, base64url without padding
	require.NoError(t, CheckServiceToken(a))
	tok, ok := BearerToken("Bearer " + a)
	require.True(t, ok)
	require.Equal(t, a, tok)
}

func TestReadServiceToken(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(path, []byte("  \t"+testServiceToken+"\r\n\n"), 0o600))
	got, err := ReadServiceToken(path)
	require.NoError(t, err)
	require.Equal(t, testServiceToken, got)

	short := filepath.Join(dir, "short")
	require.NoError(t, os.WriteFile(short, []byte("   abc   \n"), 0o600))
	_, err = ReadServiceToken(short)
	require.Error(t, err)
	require.Contains(t, err.Error(), short)
	require.Contains(t, err.Error(), "at least")

	_, err = ReadServiceToken(filepath.Join(dir, "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)
}
