package graph_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/graph"
	"github.com/orderflow/orderflow/graph/model"
)

// errSecret is what an adapter's failure looks like: text that must never
// reach a client.
var errSecret = fmt.Errorf("query orders: %w", errors.New(`pq: relation "orders_view" does not exist (SELECT * FROM orders_view WHERE id=$1) at /srv/redis.go:42`))

func TestErrorCodes(t *testing.T) {
	t.Parallel()
	failWith := func(err error) func(*api) {
		return func(a *api) {
			a.orders.orderFunc = func(context.Context, string) (*model.Order, error) { return nil, err }
			a.cmds.createFunc = func(context.Context, model.CreateOrderInput) (*model.Order, error) { return nil, err }
		}
	}
	getOrder := `{ order(id: "` + orderID + `") { id } }`
	create := `mutation { createOrder(input: {customerId: "` + customerID + `", currency: "EUR", paymentMethod: "tok_visa",
		items: [{sku: "A", quantity: 0, unitPrice: 1}]}) { id } }`

	tests := []struct {
		name    string
		change  func(*api)
		query   string
		vars    map[string]any
		status  int
		code    string
		message string // exact, or "" to skip
		field   string
		path    []any
	}{
		{
			name: "order service rejects input", change: failWith(model.BadInput("items[0].quantity", "quantity must be between 1 and 1000")),
			query: create, status: 200, code: "BAD_USER_INPUT", message: "quantity must be between 1 and 1000", field: "items[0].quantity", path: []any{"createOrder"},
		},
		{
			name: "not found", change: failWith(model.NotFound("order 5b1f… does not exist")),
			query: getOrder, status: 200, code: "NOT_FOUND", message: "order 5b1f… does not exist", path: []any{"order"},
		},
		{
			name: "conflict", change: failWith(&model.Error{Code: model.CodeConflict, Message: "the idempotency key was used with another input"}),
			query: create, status: 200, code: "CONFLICT", message: "the idempotency key was used with another input",
		},
		{
			name: "unavailable", change: failWith(model.Unavailable("the order service is unavailable; try again")),
			query: getOrder, status: 200, code: "UNAVAILABLE", message: "the order service is unavailable; try again",
		},
		{
			name: "a wrapped model error keeps its code", change: failWith(fmt.Errorf("create: %w", model.NotFound("no such customer"))),
			query: create, status: 200, code: "NOT_FOUND", message: "no such customer",
		},
		{
			name: "internal model error", change: failWith(&model.Error{Code: model.CodeInternal, Message: "the order service failed"}),
			query: getOrder, status: 200, code: "INTERNAL", message: "the order service failed",
		},
		{
			name: "unknown error is INTERNAL", change: failWith(errSecret),
			query: getOrder, status: 200, code: "INTERNAL", path: []any{"order"},
		},
		{
			name: "panic is INTERNAL", change: func(a *api) {
				a.orders.orderFunc = func(context.Context, string) (*model.Order, error) { panic("nil map: " + errSecret.Error()) }
			},
			query: getOrder, status: 200, code: "INTERNAL",
		},
		{
			name:  "order id not a UUID",
			query: `{ order(id: "42") { id } }`, status: 200, code: "BAD_USER_INPUT", field: "id",
			message: `id must be a UUID such as 1b4e28ba-2fa1-11d2-883f-0016d3cca427, got "42"`,
		},
		{
			name:  "order id in a non-canonical UUID form",
			query: `{ order(id: "{5b1f6b0e-7d5c-4c47-9b8a-3f0f9d6f6a11}") { id } }`, status: 200, code: "BAD_USER_INPUT", field: "id",
		},
		{
			name:  "customerId not a UUID",
			query: `{ orders(customerId: "bob") { pageInfo { hasNextPage } } }`, status: 200, code: "BAD_USER_INPUT", field: "customerId",
			message: `customerId must be a UUID such as 1b4e28ba-2fa1-11d2-883f-0016d3cca427, got "bob"`,
		},
		{
			name:   "createOrder customerId not a UUID",
			query:  `mutation { createOrder(input: {customerId: "not-a-uuid", currency: "EUR", paymentMethod: "tok_visa", items: []}) { id } }`,
			status: 200, code: "BAD_USER_INPUT", field: "input.customerId",
			message: `input.customerId must be a UUID such as 1b4e28ba-2fa1-11d2-883f-0016d3cca427, got "not-a-uuid"`,
		},
		{
			name:  "first 0",
			query: `{ orders(customerId: "` + customerID + `", first: 0) { pageInfo { hasNextPage } } }`, status: 200, code: "BAD_USER_INPUT", field: "first",
			message: "first must be between 1 and 100, got 0",
		},
		{
			name:  "first 101",
			query: `query($n: Int) { orders(customerId: "` + customerID + `", first: $n) { pageInfo { hasNextPage } } }`, vars: map[string]any{"n": 101},
			status: 200, code: "BAD_USER_INPUT", field: "first", message: "first must be between 1 and 100, got 101",
		},
		{
			name:  "cancelOrder id not a UUID",
			query: `mutation { cancelOrder(id: "x") { id } }`, status: 200, code: "BAD_USER_INPUT", field: "id",
		},
		{
			name:  "wrong enum literal",
			query: `{ orders(customerId: "` + customerID + `", status: SHIPPED) { pageInfo { hasNextPage } } }`, status: 422, code: "BAD_USER_INPUT",
		},
		{
			name:  "missing required argument",
			query: `{ order { id } }`, status: 422, code: "BAD_USER_INPUT",
		},
		{
			name:  "wrong enum variable",
			query: `query($s: OrderStatus) { orders(customerId: "` + customerID + `", status: $s) { pageInfo { hasNextPage } } }`, vars: map[string]any{"s": "SHIPPED"},
			status: 422, code: "BAD_USER_INPUT",
		},
		{
			name:  "enum variable in the wrong case",
			query: `query($s: OrderStatus) { orders(customerId: "` + customerID + `", status: $s) { pageInfo { hasNextPage } } }`, vars: map[string]any{"s": "paid"},
			status: 200, code: "BAD_USER_INPUT", field: "status",
		},
		{
			name:  "missing required variable",
			query: `query($id: ID!) { order(id: $id) { id } }`, status: 422, code: "BAD_USER_INPUT",
			message: "variable $id: must be defined",
		},
		{
			name:   "variable of the wrong type",
			query:  `mutation($in: CreateOrderInput!) { createOrder(input: $in) { id } }`,
			vars:   map[string]any{"in": map[string]any{"customerId": customerID, "currency": "EUR", "paymentMethod": "tok_visa", "items": []any{map[string]any{"sku": "A", "quantity": "many", "unitPrice": 1}}}},
			status: 422, code: "BAD_USER_INPUT", message: "variable $in.items[0].quantity: cannot use string as Int",
		},
		{
			name:  "Int literal beyond 32 bits",
			query: `{ orders(customerId: "` + customerID + `", first: 5000000000) { pageInfo { hasNextPage } } }`, status: 200, code: "BAD_USER_INPUT",
			field: "first", message: "first: Int cannot represent non 32-bit signed integer value: 5000000000",
		},
		{
			name:   "Int variable beyond 32 bits inside an input",
			query:  `mutation($in: CreateOrderInput!) { createOrder(input: $in) { id } }`,
			vars:   map[string]any{"in": map[string]any{"customerId": customerID, "currency": "EUR", "paymentMethod": "tok_visa", "items": []any{map[string]any{"sku": "A", "quantity": 1, "unitPrice": int64(1) << 40}}}},
			status: 200, code: "BAD_USER_INPUT", field: "input.items[0].unitPrice",
			message: "input.items[0].unitPrice: Int cannot represent non 32-bit signed integer value: 1099511627776",
		},
		{
			name:  "unknown field",
			query: `{ order(id: "` + orderID + `") { colour } }`, status: 422, code: "GRAPHQL_VALIDATION_FAILED",
			message: `Cannot query field "colour" on type "Order".`,
		},
		{
			name:  "syntax error",
			query: `{ order(id: "` + orderID + `") { id }`, status: 422, code: "GRAPHQL_PARSE_FAILED",
			message: `Expected Name, found <EOF>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var change []func(*api)
			if tt.change != nil {
				change = append(change, tt.change)
			}
			a := newAPI(t, graph.DefaultOptions(), change...)
			res := a.post(t, tt.query, tt.vars)
			require.Equal(t, tt.status, res.status, "body: %s", res.body)
			e := res.onlyError(t)
			require.Equal(t, tt.code, e.code(), "body: %s", res.body)
			if tt.message != "" {
				require.Equal(t, tt.message, e.Message)
			}
			if tt.field != "" {
				require.Equal(t, tt.field, e.Extensions["field"])
			} else {
				require.NotContains(t, e.Extensions, "field")
			}
			if tt.path != nil {
				require.Equal(t, tt.path, e.Path)
			}
			if tt.code == "INTERNAL" && tt.message == "" {
				require.Equal(t, "internal error; the request id is "+res.header.Get("X-Request-Id"), e.Message)
				require.NotContains(t, string(res.body), "orders_view")
				require.NotContains(t, string(res.body), "redis.go")
				require.Contains(t, a.log.String(), "orders_view", "the real error is logged")
			}
		})
	}
}

func TestTimeoutIsUnavailable(t *testing.T) {
	t.Parallel()
	opts := graph.DefaultOptions()
	opts.Timeout = 100 * time.Millisecond
	a := newAPI(t, opts, func(a *api) {
		a.orders.orderFunc = func(ctx context.Context, _ string) (*model.Order, error) {
			<-ctx.Done()
			return nil, fmt.Errorf("redis get: %w", ctx.Err())
		}
	})
	start := time.Now()
	res := a.post(t, `{ order(id: "`+orderID+`") { id } }`, nil)
	require.Less(t, time.Since(start), 5*time.Second)
	e := res.onlyError(t)
	require.Equal(t, "UNAVAILABLE", e.code())
	require.Equal(t, "the request took too long; try again later", e.Message)
}
