package graphiql_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/gateway/graphiql"
)

// builtFS is dist/ as scripts/graphiql-assets.sh leaves it, with the real page.
func builtFS(t *testing.T) fstest.MapFS {
	t.Helper()
	page, err := os.ReadFile("index.html")
	require.NoError(t, err)
	return fstest.MapFS{
		"index.html":        {Data: page},
		"dist/.keep":        {Data: nil},
		"dist/graphiql.js":  {Data: []byte(strings.Repeat("console.log('graphiql');\n", 200))},
		"dist/graphiql.css": {Data: []byte(strings.Repeat(".graphiql-container{color:red}\n", 200))},
	}
}

func get(t *testing.T, h http.Handler, method, target string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestHandlerServesPageAndAssets(t *testing.T) {
	h := graphiql.NewHandler(builtFS(t))

	tests := []struct {
		name        string
		method      string
		target      string
		status      int
		contentType string
		cache       string
		contains    string
	}{
		{"page", http.MethodGet, "/", http.StatusOK, "text/html; charset=utf-8", "no-cache", `src="/graphiql/graphiql.js?v=`},
		{"page links the stylesheet", http.MethodGet, "/", http.StatusOK, "text/html; charset=utf-8", "no-cache", `href="/graphiql/graphiql.css?v=`},
		{"versioned script is cached for good", http.MethodGet, "/graphiql/graphiql.js?v=abc", http.StatusOK, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "console.log('graphiql')"},
		{"unversioned stylesheet is revalidated", http.MethodGet, "/graphiql/graphiql.css", http.StatusOK, "text/css; charset=utf-8", "no-cache", ".graphiql-container"},
		{"placeholder is not served", http.MethodGet, "/graphiql/.keep", http.StatusNotFound, "text/plain; charset=utf-8", "", ""},
		{"unknown asset", http.MethodGet, "/graphiql/other.js", http.StatusNotFound, "text/plain; charset=utf-8", "", ""},
		{"other paths are not ours", http.MethodGet, "/graphql-not", http.StatusNotFound, "text/plain; charset=utf-8", "", ""},
		{"page is read-only", http.MethodPost, "/", http.StatusMethodNotAllowed, "text/plain; charset=utf-8", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, h, tc.method, tc.target, nil)
			require.Equal(t, tc.status, resp.StatusCode)
			require.Equal(t, tc.contentType, resp.Header.Get("Content-Type"))
			require.Equal(t, tc.cache, resp.Header.Get("Cache-Control"))
			require.Contains(t, body(t, resp), tc.contains)
		})
	}
}

func TestHandlerPageAllowsOnlyItsOwnOrigin(t *testing.T) {
	resp := get(t, graphiql.NewHandler(builtFS(t)), http.MethodGet, "/", nil)

	csp := resp.Header.Get("Content-Security-Policy")
	require.Contains(t, csp, "default-src 'self'")
	require.Contains(t, csp, "connect-src 'self'")
	require.NotContains(t, body(t, resp), "http", "the page must load nothing by absolute URL")
}

func TestHandlerGzipAndRevalidation(t *testing.T) {
	fsys := builtFS(t)
	h := graphiql.NewHandler(fsys)

	resp := get(t, h, http.MethodGet, "/graphiql/graphiql.js", http.Header{"Accept-Encoding": {"gzip, br"}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(resp.Body)
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.True(t, bytes.Equal(fsys["dist/graphiql.js"].Data, plain))

	etag := get(t, h, http.MethodGet, "/graphiql/graphiql.js", nil).Header.Get("ETag")
	require.NotEmpty(t, etag)
	resp = get(t, h, http.MethodGet, "/graphiql/graphiql.js", http.Header{"If-None-Match": {etag}})
	require.Equal(t, http.StatusNotModified, resp.StatusCode)
}

func TestHandlerWithoutBuiltAssets(t *testing.T) {
	page, err := os.ReadFile("index.html")
	require.NoError(t, err)
	h := graphiql.NewHandler(fstest.MapFS{
		"index.html": {Data: page},
		"dist/.keep": {Data: nil},
	})

	for _, target := range []string{"/", "/graphiql/graphiql.js"} {
		t.Run(target, func(t *testing.T) {
			resp := get(t, h, http.MethodGet, target, nil)
			require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
			require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
			text := body(t, resp)
			require.Contains(t, text, "GraphiQL assets are not built")
			require.Contains(t, text, "make graphiql")
		})
	}
}

// The binary's own handler: the page when scripts/graphiql-assets.sh ran before
// the build, the advice to run it otherwise.
func TestHandlerOfThisBuild(t *testing.T) {
	resp := get(t, graphiql.Handler(nil), http.MethodGet, "/", nil)
	if graphiql.Built() {
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body(t, resp), "/graphiql/graphiql.js?v=")
		return
	}
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Contains(t, body(t, resp), "make graphiql")
}
