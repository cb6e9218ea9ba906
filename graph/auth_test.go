package graph_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/graph"
	"github.com/orderflow/orderflow/graph/model"
)

// Messages of refused tokens (graph/auth.go).
const (
	msgNoToken = "this API needs a token: send the header Authorization: Bearer <token> " +
		"(on a websocket, in the connection_init payload); `bin/token -customer <uuid>` prints one for `make run`"
	msgNotBearer = `the Authorization header must be "Bearer <token>"`
	msgForged    = "the token was refused: signature does not match"
)

// forgedToken is refused by fakeAuth; it must never be echoed or logged.
const forgedToken = "forged.eyJzdWIiOiJtYWxsb3J5In0.c2VjcmV0LXNpZ25hdHVyZQ"

const createWithoutCustomer = `mutation { createOrder(input: {currency: "EUR", paymentMethod: "tok_visa",
	items: [{sku: "A", quantity: 1, unitPrice: 100}]}) { id customerId } }`

func TestHTTPNeedsABearerToken(t *testing.T) {
	t.Parallel()
	expired := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	tests := []struct {
		name          string
		authorization string // "" sends none
		message       string
	}{
		{name: "no Authorization", authorization: "", message: msgNoToken},
		{name: "blank Authorization", authorization: "   ", message: msgNoToken},
		{name: "another scheme", authorization: "Basic x", message: msgNotBearer},
		{name: "Bearer without a token", authorization: "Bearer ", message: msgNotBearer},
		{name: "a refused token", authorization: "Bearer " + forgedToken, message: msgForged},
		{name: "a subject that is not a UUID", authorization: "Bearer customer:mallory", message: msgForged},
		{
			name: "an expired token", authorization: expiringAt(customerID, expired),
			message: "the token was refused: the token expired at " + expired.Format(time.RFC3339),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newAPI(t, graph.DefaultOptions())
			for _, res := range []result{
				a.post(t, createWithoutCustomer, nil, "Authorization", tt.authorization),
				a.post(t, `{ order(id: "`+orderID+`") { id } }`, nil, "Authorization", tt.authorization),
				a.get(t, `{ orders { pageInfo { hasNextPage } } }`, "Authorization", tt.authorization),
			} {
				require.Equal(t, http.StatusUnauthorized, res.status, "body: %s", res.body)
				require.Equal(t, `Bearer realm="orderflow"`, res.header.Get("WWW-Authenticate"))
				require.Equal(t, "application/json", res.header.Get("Content-Type"))
				e := res.onlyError(t)
				require.Equal(t, "UNAUTHENTICATED", e.code())
				require.Equal(t, tt.message, e.Message)
				require.Contains(t, []string{"", "null"}, string(res.Data))
				require.NotContains(t, string(res.body), forgedToken)
			}
			require.NotContains(t, a.log.String(), forgedToken)
			require.Empty(t, a.cmds.createdInputs(), "nothing reached the order service")
			require.Empty(t, a.orders.queries, "nothing reached the read model")
		})
	}
}

func TestHTTPAcceptsABearerToken(t *testing.T) {
	t.Parallel()
	a := newAPI(t, graph.DefaultOptions())
	for _, authorization := range []string{asCustomer(customerID), "bearer   customer:" + customerID + "  "} {
		res := a.post(t, `{ order(id: "`+orderID+`") { id } }`, nil, "Authorization", authorization)
		require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
		require.Empty(t, res.Errors)
		require.JSONEq(t, `{"order":{"id":"`+orderID+`"}}`, string(res.Data))
	}
}

// A subject in another form of UUID is the same customer: ids are compared
// in their canonical form. A principal without one is refused.
func TestHTTPPrincipalsSubject(t *testing.T) {
	t.Parallel()
	opts := graph.DefaultOptions()
	opts.Auth = graph.AuthenticatorFunc(func(token string) (graph.Principal, error) {
		return graph.Principal{Customer: token}, nil
	})
	a := newAPI(t, opts)

	res := a.post(t, `{ order(id: "`+orderID+`") { id } orders { pageInfo { hasNextPage } } }`, nil,
		"Authorization", "Bearer "+strings.ToUpper(customerID))
	require.Empty(t, res.Errors, "body: %s", res.body)
	require.JSONEq(t, `{"order":{"id":"`+orderID+`"},"orders":{"pageInfo":{"hasNextPage":true}}}`, string(res.Data))
	require.Equal(t, customerID, a.orders.lastQuery().CustomerID)

	res = a.post(t, `{ order(id: "`+orderID+`") { id } }`, nil, "Authorization", "Bearer nobody")
	require.Equal(t, http.StatusUnauthorized, res.status)
	e := res.onlyError(t)
	require.Equal(t, "UNAUTHENTICATED", e.code())
	require.Equal(t, "the token was refused: its subject is not a customer id (a UUID)", e.Message)
}

func TestWebsocketNeedsABearerToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		authorization string // "" sends connection_init without a payload
		message       string
	}{
		{name: "no payload", authorization: "", message: msgNoToken},
		{name: "another scheme", authorization: "Basic x", message: msgNotBearer},
		{name: "a refused token", authorization: "Bearer " + forgedToken, message: msgForged},
	}
	for _, p := range protocols {
		for _, tt := range tests {
			t.Run(p.name+" "+tt.name, func(t *testing.T) {
				t.Parallel()
				a := newAPI(t, graph.DefaultOptions())
				c := a.dial(t, p.name)
				c.sendInit(tt.authorization)

				code, reason, msgs := c.readUntilClosed(5 * time.Second)
				require.Equal(t, websocket.StatusCode(4403), code)
				// A close frame carries at most 123 bytes of reason.
				want := "UNAUTHENTICATED: " + tt.message
				require.Equal(t, want[:min(len(want), 123)], reason)
				require.NotContains(t, reason, forgedToken)
				for _, m := range msgs {
					require.NotEqual(t, "connection_ack", m.Type)
					require.NotContains(t, string(m.Payload), forgedToken)
				}
				if p.name == "graphql-ws" { // the legacy protocol also says why in a message
					require.Len(t, msgs, 1)
					require.Equal(t, "connection_error", msgs[0].Type)
					var e gqlError
					require.NoError(t, json.Unmarshal(msgs[0].Payload, &e))
					require.Equal(t, tt.message, e.Message)
				} else {
					require.Empty(t, msgs)
				}
				require.NotContains(t, a.log.String(), forgedToken)
			})
		}
	}
}

// gqlgen gives up on a connection_init whose payload is not a JSON object
// without closing the connection; the handler closes it.
func TestWebsocketInitPayloadNotAnObject(t *testing.T) {
	t.Parallel()
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			a := newAPI(t, graph.DefaultOptions())
			c := a.dial(t, p.name)
			c.send(wsMessage{Type: "connection_init", Payload: json.RawMessage(`"Bearer customer:` + customerID + `"`)})
			code, reason, _ := c.readUntilClosed(5 * time.Second)
			require.Equal(t, websocket.StatusCode(4400), code)
			require.Equal(t, `BAD_REQUEST: the connection_init payload must be a JSON object, such as {"Authorization": "Bearer <token>"}`, reason)
		})
	}
}

func TestWebsocketClosedWhenTheTokenExpires(t *testing.T) {
	t.Parallel()
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			a := newAPI(t, graph.DefaultOptions())
			c := a.dial(t, p.name)
			expires := time.Now().Add(1500 * time.Millisecond)
			c.initAs(expiringAt(customerID, expires))

			// The connection works until then.
			c.send(wsMessage{ID: "1", Type: p.subscribe, Payload: payload(t, statusSubscription, map[string]any{"id": orderID})})
			require.Equal(t, orderID, receive(t, a.feed.followed))
			a.feed.ch <- sampleOrder(orderID)
			require.Equal(t, p.data, c.readSkipping(p.keepAlive).Type)

			code, reason, _ := c.readUntilClosed(5 * time.Second)
			require.False(t, time.Now().Before(expires), "closed %s before the token expired", time.Until(expires))
			require.Equal(t, websocket.StatusCode(4403), code)
			require.Equal(t, "UNAUTHENTICATED: the token expired; reconnect with a new one", reason)
			requireReleased(t, a.feed)
		})
	}
}

func TestOwnershipOfReads(t *testing.T) {
	t.Parallel()
	const getOrder = `{ order(id: "` + orderID + `") { id customerId } }`
	const listOf = `query($c: ID) { orders(customerId: $c) { edges { node { id } } } }`
	mine := `{"order":{"id":"` + orderID + `","customerId":"` + customerID + `"}}`
	page := `{"orders":{"edges":[{"node":{"id":"` + orderID + `"}}]}}`
	tests := []struct {
		name          string
		authorization string
		query         string
		vars          map[string]any
		want          string // data, if no error
		code, field   string
		message       string
		listed        string // the customer whose orders were listed, if any
	}{
		{name: "the owner reads its order", authorization: asCustomer(customerID), query: getOrder, want: mine},
		{name: "another customer's order is null", authorization: asCustomer(otherCustomerID), query: getOrder, want: `{"order":null}`},
		{name: "an admin reads any order", authorization: asAdmin(adminID), query: getOrder, want: mine},

		{
			name: "orders without customerId lists the caller's", authorization: asCustomer(otherCustomerID),
			query: listOf, want: page, listed: otherCustomerID,
		},
		{
			name: "orders of the caller's own customerId", authorization: asCustomer(customerID),
			query: listOf, vars: map[string]any{"c": customerID}, want: page, listed: customerID,
		},
		{
			name: "orders of another customer is FORBIDDEN", authorization: asCustomer(otherCustomerID),
			query: listOf, vars: map[string]any{"c": customerID}, code: "FORBIDDEN", field: "customerId",
			message: "customerId must be your own customer id (your token's subject, " + otherCustomerID + "), or left out",
		},
		{
			name: "an admin lists any customer's orders", authorization: asAdmin(adminID),
			query: listOf, vars: map[string]any{"c": customerID}, want: page, listed: customerID,
		},
		{
			name: "an admin without customerId lists its own", authorization: asAdmin(adminID),
			query: listOf, want: page, listed: adminID,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newAPI(t, graph.DefaultOptions())
			res := a.post(t, tt.query, tt.vars, "Authorization", tt.authorization)
			require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
			if tt.code == "" {
				require.Empty(t, res.Errors, "body: %s", res.body)
				require.JSONEq(t, tt.want, string(res.Data))
			} else {
				e := res.onlyError(t)
				require.Equal(t, tt.code, e.code())
				require.Equal(t, tt.field, e.Extensions["field"])
				require.Equal(t, tt.message, e.Message)
			}
			if tt.listed != "" {
				require.Equal(t, model.ListQuery{CustomerID: tt.listed, First: 20}, a.orders.lastQuery())
			} else {
				require.Empty(t, a.orders.queries)
			}
		})
	}
}

func TestCreateOrderIsTheCallers(t *testing.T) {
	t.Parallel()
	const createFor = `mutation($c: ID) { createOrder(input: {customerId: $c, currency: "EUR", paymentMethod: "tok_visa",
		items: [{sku: "A", quantity: 1, unitPrice: 100}]}) { customerId } }`

	t.Run("without customerId, for the token's subject", func(t *testing.T) {
		t.Parallel()
		a := newAPI(t, graph.DefaultOptions())
		res := a.post(t, createFor, nil, "Authorization", asCustomer(otherCustomerID))
		require.Empty(t, res.Errors, "body: %s", res.body)
		require.JSONEq(t, `{"createOrder":{"customerId":"`+otherCustomerID+`"}}`, string(res.Data))
		created := a.cmds.createdInputs()
		require.Len(t, created, 1)
		require.NotNil(t, created[0].CustomerID)
		require.Equal(t, otherCustomerID, *created[0].CustomerID)
	})
	t.Run("its own customerId, in any case", func(t *testing.T) {
		t.Parallel()
		a := newAPI(t, graph.DefaultOptions())
		res := a.post(t, createFor, map[string]any{"c": strings.ToUpper(customerID)})
		require.Empty(t, res.Errors, "body: %s", res.body)
		created := a.cmds.createdInputs()
		require.Len(t, created, 1)
		require.Equal(t, customerID, *created[0].CustomerID, "in canonical form")
	})
	for _, authorization := range []string{asCustomer(otherCustomerID), asAdmin(adminID)} {
		t.Run("another customer's is FORBIDDEN "+authorization, func(t *testing.T) {
			t.Parallel()
			a := newAPI(t, graph.DefaultOptions())
			caller := strings.TrimPrefix(strings.TrimPrefix(authorization, "Bearer customer:"), "Bearer admin:")
			res := a.post(t, createFor, map[string]any{"c": customerID}, "Authorization", authorization)
			require.Equal(t, http.StatusOK, res.status)
			e := res.onlyError(t)
			require.Equal(t, "FORBIDDEN", e.code())
			require.Equal(t, "input.customerId", e.Extensions["field"])
			require.Equal(t, "input.customerId must be your own customer id (your token's subject, "+caller+"), or left out", e.Message)
			require.Equal(t, []any{"createOrder"}, e.Path)
			require.Empty(t, a.cmds.createdInputs(), "nothing was created")
		})
	}
}

func TestCancelOrderIsTheCallers(t *testing.T) {
	t.Parallel()
	const unknownID = "00000000-0000-4000-8000-000000000000"
	cancel := func(id string) string { return `mutation { cancelOrder(id: "` + id + `") { id status } }` }

	// What a caller learns about an id that does not exist.
	a := newAPI(t, graph.DefaultOptions())
	unknown := a.post(t, cancel(unknownID), nil).onlyError(t)
	require.Equal(t, "NOT_FOUND", unknown.code())
	require.Equal(t, model.OrderNotFound(unknownID).Message, unknown.Message)
	require.Empty(t, a.cmds.cancelledIDs())

	for _, authorization := range []string{asCustomer(otherCustomerID), asAdmin(adminID)} {
		t.Run("another customer's is NOT_FOUND "+authorization, func(t *testing.T) {
			t.Parallel()
			a := newAPI(t, graph.DefaultOptions())
			res := a.post(t, cancel(orderID), nil, "Authorization", authorization)
			require.Equal(t, http.StatusOK, res.status)
			e := res.onlyError(t)
			require.Equal(t, "NOT_FOUND", e.code())
			require.Equal(t, model.OrderNotFound(orderID).Message, e.Message)
			// Nothing tells it apart from an unknown id but the id itself.
			require.Equal(t, strings.ReplaceAll(unknown.Message, unknownID, orderID), e.Message)
			require.Equal(t, unknown.Extensions, e.Extensions)
			require.Equal(t, unknown.Path, e.Path)
			require.JSONEq(t, strings.ReplaceAll(string(mustJSON(t, unknown)), unknownID, orderID), string(mustJSON(t, e)))
			require.Empty(t, a.cmds.cancelledIDs(), "nothing was cancelled")
		})
	}

	// The owner is the order service's answer, not the read model's.
	t.Run("an order the read model does not have yet", func(t *testing.T) {
		t.Parallel()
		a := newAPI(t, graph.DefaultOptions(), func(a *api) { a.orders.orders = nil })
		res := a.post(t, cancel(orderID), nil)
		require.Empty(t, res.Errors, "body: %s", res.body)
		require.JSONEq(t, `{"cancelOrder":{"id":"`+orderID+`","status":"CANCELLING"}}`, string(res.Data))
		require.Equal(t, []string{orderID}, a.cmds.cancelledIDs())
	})
	t.Run("the order service's owner wins over a stale read model", func(t *testing.T) {
		t.Parallel()
		a := newAPI(t, graph.DefaultOptions(), func(a *api) {
			a.cmds.orderFunc = func(_ context.Context, id string) (*model.Order, error) {
				o := sampleOrder(id)
				o.CustomerID = otherCustomerID
				return o, nil
			}
		})
		e := a.post(t, cancel(orderID), nil).onlyError(t)
		require.Equal(t, "NOT_FOUND", e.code())
		require.Equal(t, model.OrderNotFound(orderID).Message, e.Message)
		require.Empty(t, a.cmds.cancelledIDs())
	})
}

func TestSubscriptionIsTheCallers(t *testing.T) {
	t.Parallel()
	const unknownID = "00000000-0000-4000-8000-000000000000"
	tests := []struct {
		name          string
		authorization string
		change        func(*api)
		id            string
		allowed       bool
	}{
		{name: "the owner", authorization: asCustomer(customerID), id: orderID, allowed: true},
		{name: "another customer", authorization: asCustomer(otherCustomerID), id: orderID},
		{name: "an admin", authorization: asAdmin(adminID), id: orderID, allowed: true},
		{name: "an unknown order", authorization: asCustomer(customerID), id: unknownID},
		{name: "the owner of an order only the order service knows", authorization: asCustomer(customerID), change: notInReadModel, id: orderID, allowed: true},
		{name: "another customer of an order only the order service knows", authorization: asCustomer(customerID), change: ownedBy(otherCustomerID), id: orderID},
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
				c.initAs(tt.authorization)
				c.send(wsMessage{ID: "1", Type: p.subscribe, Payload: payload(t, statusSubscription, map[string]any{"id": tt.id})})
				if tt.allowed {
					require.Equal(t, tt.id, receive(t, a.feed.followed))
					a.feed.ch <- sampleOrder(tt.id)
					require.Equal(t, p.data, c.readSkipping(p.keepAlive).Type)
					return
				}
				errs := c.operationErrors(p, "1")
				require.Len(t, errs, 1)
				require.Equal(t, "NOT_FOUND", errs[0].code())
				require.Equal(t, model.OrderNotFound(tt.id).Message, errs[0].Message)
				select {
				case <-a.feed.followed:
					t.Fatal("the feed was followed")
				default:
				}
			})
		}
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	opts := graph.DefaultOptions()
	opts.RateLimit, opts.RateBurst = 1, 2
	a := newAPI(t, opts)
	const q = `{ order(id: "` + orderID + `") { id } }`

	for range 2 {
		res := a.post(t, q, nil)
		require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	}
	res := a.post(t, q, nil)
	require.Equal(t, http.StatusTooManyRequests, res.status, "body: %s", res.body)
	retry, err := strconv.Atoi(res.header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After: %q", res.header.Get("Retry-After"))
	require.GreaterOrEqual(t, retry, 1)
	e := res.onlyError(t)
	require.Equal(t, "RATE_LIMITED", e.code())
	require.Equal(t, "too many requests for this customer; retry after "+strconv.Itoa(retry)+" s", e.Message)

	// Another customer has a bucket of its own.
	res = a.post(t, q, nil, "Authorization", asCustomer(otherCustomerID))
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	require.Empty(t, res.Errors)
	require.JSONEq(t, `{"order":null}`, string(res.Data))

	// After Retry-After the customer is served again.
	time.Sleep(time.Duration(retry) * time.Second)
	res = a.post(t, q, nil)
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	require.JSONEq(t, `{"order":{"id":"`+orderID+`"}}`, string(res.Data))
}

// A websocket's connection_init takes a token of the same bucket as an HTTP
// request; one refused is closed with 4429.
func TestRateLimitOfWebsockets(t *testing.T) {
	t.Parallel()
	opts := graph.DefaultOptions()
	opts.RateLimit, opts.RateBurst = 0.01, 1 // one token, back in 100 s
	a := newAPI(t, opts)
	require.Equal(t, http.StatusOK, a.post(t, `{ __typename }`, nil).status)

	for _, p := range protocols {
		c := a.dial(t, p.name)
		c.sendInit(defaultAuthorization)
		code, reason, msgs := c.readUntilClosed(5 * time.Second)
		require.Equal(t, websocket.StatusCode(4429), code, p.name)
		require.Equal(t, "RATE_LIMITED: too many requests for this customer; retry after 100 s", reason)
		for _, m := range msgs {
			require.NotEqual(t, "connection_ack", m.Type)
		}
	}

	// Another customer connects.
	c := a.dial(t, "graphql-transport-ws")
	c.initAs(asCustomer(otherCustomerID))
}

func TestMaxSubscriptionsPerConnection(t *testing.T) {
	t.Parallel()
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			opts := graph.DefaultOptions()
			opts.MaxSubscriptionsPerConnection = 1
			feeds := make(chan chan *model.Order, 4)
			a := newAPI(t, opts, func(a *api) {
				a.feed.followFunc = func(context.Context, string) (<-chan *model.Order, error) {
					ch := make(chan *model.Order)
					feeds <- ch
					return ch, nil
				}
			})
			subscribe := func(c *wsClient, id string) {
				c.send(wsMessage{ID: id, Type: p.subscribe, Payload: payload(t, statusSubscription, map[string]any{"id": orderID})})
			}
			c := a.dial(t, p.name)
			c.init()
			subscribe(c, "1")
			first := receive(t, feeds)

			subscribe(c, "2")
			errs := c.operationErrors(p, "2")
			require.Len(t, errs, 1)
			require.Equal(t, "RATE_LIMITED", errs[0].code())
			require.Equal(t, "this connection already runs 1 subscription, the most allowed; complete one or open another connection", errs[0].Message)
			require.Empty(t, feeds, "the refused one did not follow the feed")

			// The cap is per connection.
			other := a.dial(t, p.name)
			other.init()
			subscribe(other, "1")
			close(receive(t, feeds))
			require.Equal(t, "complete", other.readSkipping(p.keepAlive).Type)

			// Once the first completes, there is room again.
			close(first)
			m := c.readSkipping(p.keepAlive)
			require.Equal(t, "complete", m.Type)
			require.Equal(t, "1", m.ID)
			subscribe(c, "3")
			third := receive(t, feeds)
			third <- sampleOrder(orderID)
			m = c.readSkipping(p.keepAlive)
			require.Equal(t, p.data, m.Type, "message: %+v", m)
			require.Equal(t, "3", m.ID)
		})
	}
}

func TestMaxConnections(t *testing.T) {
	t.Parallel()
	opts := graph.DefaultOptions()
	opts.MaxConnections = 1
	a := newAPI(t, opts)
	first := a.dial(t, "graphql-transport-ws")
	first.init()

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(a.url, "http"), &websocket.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"},
	})
	require.Error(t, err)
	require.NotNil(t, resp)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)

	// What a refused upgrade says.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, a.url, nil)
	require.NoError(t, err)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	res := do(t, req)
	require.Equal(t, http.StatusServiceUnavailable, res.status)
	require.Equal(t, "5", res.header.Get("Retry-After"))
	e := res.onlyError(t)
	require.Equal(t, "UNAVAILABLE", e.code())
	require.Equal(t, "this gateway already serves 1 websocket connections, the most it takes; retry later or elsewhere", e.Message)

	// Plain HTTP is not capped.
	require.Equal(t, http.StatusOK, a.post(t, `{ __typename }`, nil).status)

	// A closed connection makes room.
	require.NoError(t, first.conn.Close(websocket.StatusNormalClosure, ""))
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(a.url, "http"), &websocket.DialOptions{
			Subprotocols: []string{"graphql-transport-ws"},
		})
		if err != nil {
			return false
		}
		_ = conn.CloseNow()
		return true
	}, 5*time.Second, 20*time.Millisecond)
}

// operationErrors reads the errors of the operation id: an "error" message
// (refused before it ran), or a data message with errors followed by
// complete (it ran and failed).
func (c *wsClient) operationErrors(p protocol, id string) []gqlError {
	c.t.Helper()
	m := c.readSkipping(p.keepAlive)
	require.Equal(c.t, id, m.ID, "message: %+v", m)
	var errs []gqlError
	switch m.Type {
	case "error":
		require.NoError(c.t, json.Unmarshal(m.Payload, &errs))
	case p.data:
		var res gqlResponse
		require.NoError(c.t, json.Unmarshal(m.Payload, &res))
		errs = res.Errors
		require.Equal(c.t, "complete", c.readSkipping(p.keepAlive).Type)
	default:
		c.t.Fatalf("unexpected message %+v", m)
	}
	return errs
}

// receive returns the next value of ch, failing the test after 5s.
func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("nothing was received in 5s")
		panic("unreachable")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// TestGraphQLOverHTTPMediaTypes: answers, also the handler's own refusals,
// come in the GraphQL response media type a client asks for, with no data
// when nothing was executed; a request error is 400 in that media type.
func TestGraphQLOverHTTPMediaTypes(t *testing.T) {
	a := newAPI(t, graph.DefaultOptions())
	const gqlJSON = "application/graphql-response+json"
	body := `{"query": "{ order(id: \"` + orderID + `\") { id } }"}`

	r := a.postRaw(t, "application/json", strings.NewReader(body), "Authorization", "", "Accept", gqlJSON)
	require.Equal(t, http.StatusUnauthorized, r.status)
	require.Equal(t, gqlJSON, r.header.Get("Content-Type"))
	require.NotContains(t, string(r.body), `"data"`, "nothing ran: no data entry")

	r = a.postRaw(t, "application/json", strings.NewReader(body), "Authorization", "")
	require.Equal(t, "application/json", r.header.Get("Content-Type"), "without Accept: application/json")

	r = a.postRaw(t, "application/json", strings.NewReader(body), "Accept", gqlJSON+", application/json")
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, gqlJSON, r.header.Get("Content-Type"))
	require.Contains(t, string(r.Data), orderID)

	r = a.postRaw(t, "application/json", strings.NewReader(`{"query": "{ order(id: "}`), "Accept", gqlJSON)
	require.Equal(t, http.StatusBadRequest, r.status, "a request error is 400 in the GraphQL response media type")
	require.Equal(t, gqlJSON, r.header.Get("Content-Type"))
}
