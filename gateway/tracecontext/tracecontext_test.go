package tracecontext_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/gateway/tracecontext"
)

const (
	traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	valid   = "00-" + traceID + "-00f067aa0ba902b7-01"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		trace    string // "" if invalid
	}{
		{name: "version 00", in: valid, trace: traceID},
		{name: "not sampled", in: "00-" + traceID + "-00f067aa0ba902b7-00", trace: traceID},
		{name: "surrounding spaces", in: "  " + valid + " ", trace: traceID},
		{name: "a later version with more fields", in: "01-" + traceID + "-00f067aa0ba902b7-09-future", trace: traceID},
		{name: "version 00 with more fields", in: valid + "-future"},
		{name: "version ff", in: "ff-" + traceID + "-00f067aa0ba902b7-01"},
		{name: "empty", in: ""},
		{name: "upper case", in: "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"},
		{name: "all-zero trace id", in: "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
		{name: "all-zero parent id", in: "00-" + traceID + "-0000000000000000-01"},
		{name: "short trace id", in: "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"},
		{name: "not hex", in: "00-" + traceID + "-00f067aa0ba902bz-01"},
		{name: "missing flags", in: "00-" + traceID + "-00f067aa0ba902b7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tracecontext.TraceID(tt.in)
			require.Equal(t, tt.trace != "", ok)
			require.Equal(t, tt.trace, got)
		})
	}
}

func TestNewAndChild(t *testing.T) {
	t.Parallel()
	a, b := tracecontext.New(), tracecontext.New()
	require.NotEqual(t, a.TraceID, b.TraceID, "each new trace has its own id")
	p, ok := tracecontext.Parse(a.String())
	require.True(t, ok, a.String())
	require.Equal(t, a, p)

	c := a.Child()
	require.Equal(t, a.TraceID, c.TraceID)
	require.Equal(t, a.Flags, c.Flags)
	require.NotEqual(t, a.ParentID, c.ParentID, "the child is another span")
}

// The gateway's calls carry the trace of the request that made them, or
// else a new one each.
func TestMiddlewareAndTransport(t *testing.T) {
	t.Parallel()
	sent := make(chan string, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		sent <- r.Header.Get(tracecontext.Header)
	}))
	t.Cleanup(upstream.Close)
	client := &http.Client{Transport: tracecontext.Transport(nil)}
	gateway := httptest.NewServer(tracecontext.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Not the test's goroutine: report with Error, not require.
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, upstream.URL, nil)
		if err == nil {
			var resp *http.Response
			if resp, err = client.Do(req); err == nil {
				resp.Body.Close()
			}
		}
		if err != nil {
			t.Error(err)
			sent <- ""
			return
		}
		if h := req.Header.Get(tracecontext.Header); h != "" {
			t.Errorf("the caller's request was changed: traceparent %q", h)
		}
	})))
	t.Cleanup(gateway.Close)

	call := func(traceparent string) tracecontext.Parent {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, gateway.URL, nil)
		require.NoError(t, err)
		if traceparent != "" {
			req.Header.Set(tracecontext.Header, traceparent)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		p, ok := tracecontext.Parse(<-sent)
		require.True(t, ok)
		return p
	}
	child := call(valid)
	require.Equal(t, traceID, child.TraceID, "the client's trace continues")
	require.NotEqual(t, "00f067aa0ba902b7", child.ParentID)
	require.Equal(t, "01", child.Flags)

	first, second := call(""), call("garbage")
	require.NotEqual(t, traceID, first.TraceID)
	require.NotEqual(t, first.TraceID, second.TraceID, "a request without a valid trace starts its own")
}

// A traceparent already on the request (an instrumented client's span) is
// sent as it is.
func TestTransportKeepsATraceparentSet(t *testing.T) {
	t.Parallel()
	sent := make(chan string, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		sent <- r.Header.Get(tracecontext.Header)
	}))
	t.Cleanup(upstream.Close)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, upstream.URL, nil)
	require.NoError(t, err)
	req.Header.Set(tracecontext.Header, valid)
	resp, err := (&http.Client{Transport: tracecontext.Transport(nil)}).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, valid, <-sent)
}
