package graph_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/graph"
	"github.com/orderflow/orderflow/graph/model"
)

// protocol names the messages that differ between the two subprotocols.
type protocol struct {
	name      string // Sec-WebSocket-Protocol
	subscribe string // client → server
	data      string // server → client
	stop      string // client → server
	keepAlive string // server → client
}

var protocols = []protocol{
	{name: "graphql-transport-ws", subscribe: "subscribe", data: "next", stop: "complete", keepAlive: "ping"},
	{name: "graphql-ws", subscribe: "start", data: "data", stop: "stop", keepAlive: "ka"},
}

const statusSubscription = `subscription($id: ID!) { orderStatusChanged(id: $id) { id status version } }`

func TestSubscriptionDeliversUntilTheFeedEnds(t *testing.T) {
	t.Parallel()
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			a := newAPI(t, graph.DefaultOptions())
			c := a.dial(t, p.name)
			c.init()
			c.send(wsMessage{ID: "1", Type: p.subscribe, Payload: payload(t, statusSubscription, map[string]any{"id": orderID})})
			require.Equal(t, orderID, <-a.feed.followed)

			for i, status := range []model.OrderStatus{model.OrderStatusPending, model.OrderStatusCancelling, model.OrderStatusCancelled} {
				o := sampleOrder(orderID)
				o.Status, o.Version = status, i+1
				a.feed.ch <- o
				m := c.readSkipping("ka")
				require.Equal(t, p.data, m.Type)
				require.Equal(t, "1", m.ID)
				require.JSONEq(t, `{"data":{"orderStatusChanged":{"id":"`+orderID+`","status":"`+string(status)+`","version":`+itoa(i+1)+`}}}`, string(m.Payload))
			}

			close(a.feed.ch) // the feed ends after CANCELLED
			m := c.readSkipping("ka")
			require.Equal(t, "complete", m.Type)
			require.Equal(t, "1", m.ID)
			requireReleased(t, a.feed)
		})
	}
}

func TestSubscriptionReleasesTheFeedWhenTheClientGoes(t *testing.T) {
	t.Parallel()
	for _, p := range protocols {
		for _, how := range []string{"disconnects", "stops the subscription"} {
			t.Run(p.name+" "+how, func(t *testing.T) {
				t.Parallel()
				a := newAPI(t, graph.DefaultOptions())
				c := a.dial(t, p.name)
				c.init()
				c.send(wsMessage{ID: "7", Type: p.subscribe, Payload: payload(t, statusSubscription, map[string]any{"id": orderID})})
				<-a.feed.followed
				a.feed.ch <- sampleOrder(orderID)
				require.Equal(t, p.data, c.readSkipping("ka").Type)

				if how == "disconnects" {
					require.NoError(t, c.conn.CloseNow())
				} else {
					c.send(wsMessage{ID: "7", Type: p.stop})
				}
				requireReleased(t, a.feed)
			})
		}
	}
}

func TestKeepAlive(t *testing.T) {
	t.Parallel()
	opts := graph.DefaultOptions()
	opts.KeepAlive = 30 * time.Millisecond

	t.Run("graphql-ws sends ka", func(t *testing.T) {
		t.Parallel()
		a := newAPI(t, opts)
		c := a.dial(t, "graphql-ws")
		c.init()
		for range 4 {
			require.Equal(t, "ka", c.read().Type)
		}
	})
	t.Run("graphql-transport-ws pings and a client that pongs stays", func(t *testing.T) {
		t.Parallel()
		a := newAPI(t, opts)
		c := a.dial(t, "graphql-transport-ws")
		c.init()
		c.send(wsMessage{ID: "1", Type: "subscribe", Payload: payload(t, statusSubscription, map[string]any{"id": orderID})})
		<-a.feed.followed
		for range 5 { // well past two intervals
			require.Equal(t, "ping", c.read().Type)
			c.send(wsMessage{Type: "pong"})
		}
		go func() { a.feed.ch <- sampleOrder(orderID) }()
		require.Equal(t, "next", c.readSkipping("ping").Type)
	})
	t.Run("graphql-transport-ws drops a client that never pongs", func(t *testing.T) {
		t.Parallel()
		a := newAPI(t, opts)
		c := a.dial(t, "graphql-transport-ws")
		c.init()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		for {
			if _, _, err := c.conn.Read(ctx); err != nil {
				require.NoError(t, ctx.Err(), "the server closed the connection, not the test's timeout")
				return
			}
		}
	})
}

func TestSubscriptionErrors(t *testing.T) {
	t.Parallel()
	notFound := func(a *api) {
		a.feed.followFunc = func(context.Context, string) (<-chan *model.Order, error) {
			return nil, model.NotFound("there is no order " + orderID)
		}
	}
	tests := []struct {
		name    string
		change  func(*api)
		query   string
		vars    map[string]any
		code    string
		message string
	}{
		{name: "unknown order", change: notFound, query: statusSubscription, vars: map[string]any{"id": orderID}, code: "NOT_FOUND", message: "there is no order " + orderID},
		{name: "id not a UUID", query: statusSubscription, vars: map[string]any{"id": "nope"}, code: "BAD_USER_INPUT"},
		{name: "invalid query", query: `subscription { orderStatusChanged(id: "` + orderID + `") { colour } }`, code: "GRAPHQL_VALIDATION_FAILED"},
	}
	for _, p := range protocols {
		for _, tt := range tests {
			t.Run(p.name+" "+tt.name, func(t *testing.T) {
				t.Parallel()
				var change []func(*api)
				if tt.change != nil {
					change = append(change, tt.change)
				}
				a := newAPI(t, graph.DefaultOptions(), change...)
				c := a.dial(t, p.name)
				c.init()
				c.send(wsMessage{ID: "9", Type: p.subscribe, Payload: payload(t, tt.query, tt.vars)})

				m := c.readSkipping("ka")
				require.Equal(t, "9", m.ID)
				var errs []gqlError
				switch m.Type {
				case "error": // the operation was rejected before it ran
					require.NoError(t, json.Unmarshal(m.Payload, &errs))
				case p.data: // it ran and failed: errors in the payload, then complete
					var res gqlResponse
					require.NoError(t, json.Unmarshal(m.Payload, &res))
					errs = res.Errors
					require.Equal(t, "complete", c.readSkipping("ka").Type)
				default:
					t.Fatalf("unexpected message %+v", m)
				}
				require.Len(t, errs, 1, "payload: %s", m.Payload)
				require.Equal(t, tt.code, errs[0].code())
				if tt.message != "" {
					require.Equal(t, tt.message, errs[0].Message)
				}
			})
		}
	}
}

func TestWebsocketOrigins(t *testing.T) {
	t.Parallel()
	opts := graph.DefaultOptions()
	opts.AllowedOrigins = []string{"*.orderflow.example"}
	a := newAPI(t, opts)
	host := strings.TrimPrefix(a.url, "http://")
	tests := []struct {
		origin string
		ok     bool
	}{
		{origin: "", ok: true},
		{origin: "http://" + host, ok: true},
		{origin: "http://localhost:3000", ok: true},
		{origin: "http://127.0.0.1:5173", ok: true},
		{origin: "https://app.orderflow.example", ok: true},
		{origin: "https://evil.example", ok: false},
		{origin: "https://localhost.evil.example", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.origin, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			conn, resp, err := websocket.Dial(ctx, "ws://"+host, &websocket.DialOptions{
				Subprotocols: []string{"graphql-transport-ws"},
				HTTPHeader:   h,
			})
			if tt.ok {
				require.NoError(t, err)
				_ = conn.CloseNow()
				return
			}
			require.Error(t, err)
			require.Equal(t, http.StatusForbidden, resp.StatusCode)
		})
	}

	// A refused browser gets a GraphQL-shaped reason.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, a.url, nil)
	require.NoError(t, err)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Origin", "https://evil.example")
	res := do(t, req)
	require.Equal(t, http.StatusForbidden, res.status)
	e := res.onlyError(t)
	require.Equal(t, "FORBIDDEN", e.code())
	require.Contains(t, e.Message, `origin "https://evil.example" are not allowed`)
}

func requireReleased(t *testing.T, f *fakeFeed) {
	t.Helper()
	select {
	case <-f.released:
	case <-time.After(5 * time.Second):
		t.Fatal("the feed's ctx was not cancelled")
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func TestSubscriptionOverHTTPIsRefused(t *testing.T) {
	t.Parallel()
	a := newAPI(t, graph.DefaultOptions())
	start := time.Now()
	res := a.post(t, statusSubscription, map[string]any{"id": orderID})
	require.Less(t, time.Since(start), time.Second, "no waiting for an event")
	e := res.onlyError(t)
	require.Equal(t, "BAD_REQUEST", e.code())
	require.Equal(t, "subscriptions are served over a websocket (graphql-transport-ws or graphql-ws), not over HTTP POST or GET", e.Message)
	select {
	case <-a.feed.followed:
		t.Fatal("the feed was followed")
	default:
	}
}
