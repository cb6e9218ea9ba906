package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/graph"
	"github.com/orderflow/orderflow/graph/model"
)

// api is a running GraphQL handler over fakes, on a real HTTP server.
type api struct {
	url    string
	cmds   *fakeCommands
	orders *fakeOrders
	feed   *fakeFeed
	// timelines holds the sample order's timeline.
	timelines *fakeTimelines
	// deadLetters holds sampleDeadLetters.
	deadLetters *fakeDeadLetters
	log         *logBuffer
}

// newAPI starts the handler with opts; change() may adjust the fakes first.
// Without opts.Auth, tokens are checked by fakeAuth.
func newAPI(t *testing.T, opts graph.Options, change ...func(*api)) *api {
	t.Helper()
	a := &api{
		cmds:        &fakeCommands{},
		orders:      &fakeOrders{orders: map[string]*model.Order{orderID: sampleOrder(orderID)}},
		feed:        newFakeFeed(),
		timelines:   &fakeTimelines{},
		deadLetters: newFakeDeadLetters(sampleDeadLetters()...),
		log:         &logBuffer{},
	}
	for _, c := range change {
		c(a)
	}
	if opts.Auth == nil {
		opts.Auth = fakeAuth{}
	}
	log := slog.New(slog.NewTextHandler(a.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := graph.NewHandler(graph.NewResolver(a.cmds, a.orders, a.feed, a.timelines, a.deadLetters), opts, log)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	a.url = srv.URL
	return a
}

// gqlResponse is a GraphQL response as a client decodes it.
type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// result is one HTTP exchange.
type result struct {
	status int
	header http.Header
	body   []byte
	gqlResponse
}

// defaultAuthorization is what post, postRaw, get and init send unless the
// test names its own Authorization: a token of the sample order's customer.
var defaultAuthorization = asCustomer(customerID)

// post sends a GraphQL request as JSON; header is name, value pairs (see
// setHeaders).
func (a *api) post(t *testing.T, query string, vars map[string]any, header ...string) result {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	return a.postRaw(t, "application/json", bytes.NewReader(body), header...)
}

// postRaw sends body as is; header is name, value pairs (see setHeaders).
func (a *api) postRaw(t *testing.T, contentType string, body io.Reader, header ...string) result {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, a.url, body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	setHeaders(req, header)
	return do(t, req)
}

// setHeaders sets the default Authorization, then header's name, value
// pairs; an empty value removes the header (so "Authorization", "" sends
// none).
func setHeaders(req *http.Request, header []string) {
	req.Header.Set("Authorization", defaultAuthorization)
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
}

func do(t *testing.T, req *http.Request) result {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := result{status: resp.StatusCode, header: resp.Header, body: b}
	require.NoError(t, json.Unmarshal(b, &r.gqlResponse), "body: %s", b)
	return r
}

// onlyError returns the response's single error.
func (r result) onlyError(t *testing.T) gqlError {
	t.Helper()
	require.Len(t, r.Errors, 1, "body: %s", r.body)
	return r.Errors[0]
}

func (e gqlError) code() any { return e.Extensions["code"] }

// logBuffer collects what the handler logs.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// wsMessage is a message of either websocket protocol.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// wsClient is a test client speaking one of the two subprotocols.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
}

func (a *api) dial(t *testing.T, subprotocol string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(a.url, "http"), &websocket.DialOptions{
		Subprotocols: []string{subprotocol},
	})
	require.NoError(t, err)
	require.Equal(t, subprotocol, resp.Header.Get("Sec-WebSocket-Protocol"))
	t.Cleanup(func() { _ = conn.CloseNow() })
	return &wsClient{t: t, conn: conn}
}

func (c *wsClient) send(m wsMessage) {
	c.t.Helper()
	b, err := json.Marshal(m)
	require.NoError(c.t, err)
	ctx, cancel := context.WithTimeout(c.t.Context(), 5*time.Second)
	defer cancel()
	require.NoError(c.t, c.conn.Write(ctx, websocket.MessageText, b))
}

// read returns the next message, failing the test after 5s.
func (c *wsClient) read() wsMessage {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 5*time.Second)
	defer cancel()
	_, b, err := c.conn.Read(ctx)
	require.NoError(c.t, err)
	var m wsMessage
	require.NoError(c.t, json.Unmarshal(b, &m), "message: %s", b)
	return m
}

// readSkipping returns the next message whose type is not in skip.
func (c *wsClient) readSkipping(skip ...string) wsMessage {
	c.t.Helper()
	for {
		m := c.read()
		if !contains(skip, m.Type) {
			return m
		}
	}
}

// init does connection_init with the default token and waits for
// connection_ack.
func (c *wsClient) init() {
	c.t.Helper()
	c.initAs(defaultAuthorization)
}

// initAs does connection_init with authorization (an Authorization value)
// and waits for connection_ack.
func (c *wsClient) initAs(authorization string) {
	c.t.Helper()
	c.sendInit(authorization)
	require.Equal(c.t, "connection_ack", c.read().Type)
}

// sendInit sends connection_init with authorization in its payload, or
// without a payload if authorization is "".
func (c *wsClient) sendInit(authorization string) {
	c.t.Helper()
	m := wsMessage{Type: "connection_init"}
	if authorization != "" {
		b, err := json.Marshal(map[string]string{"Authorization": authorization})
		require.NoError(c.t, err)
		m.Payload = b
	}
	c.send(m)
}

// readUntilClosed reads (answering pings, collecting the other messages)
// until the server closes the connection, failing the test after timeout.
// It returns the close status and reason and the messages before them.
func (c *wsClient) readUntilClosed(timeout time.Duration) (websocket.StatusCode, string, []wsMessage) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), timeout)
	defer cancel()
	var got []wsMessage
	for {
		_, b, err := c.conn.Read(ctx)
		if err != nil {
			require.NoError(c.t, ctx.Err(), "the connection was not closed within %s (messages: %+v)", timeout, got)
			var ce websocket.CloseError
			require.ErrorAs(c.t, err, &ce, "the server closed without a close frame")
			return websocket.CloseStatus(err), ce.Reason, got
		}
		var m wsMessage
		require.NoError(c.t, json.Unmarshal(b, &m), "message: %s", b)
		if m.Type == "ping" {
			c.send(wsMessage{Type: "pong"})
			continue
		}
		got = append(got, m)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func payload(t *testing.T, query string, vars map[string]any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	return b
}

// get sends a query in the URL; header is name, value pairs (see
// setHeaders).
func (a *api) get(t *testing.T, query string, header ...string) result {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, a.url+"?query="+url.QueryEscape(query), nil)
	require.NoError(t, err)
	setHeaders(req, header)
	return do(t, req)
}
