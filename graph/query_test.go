package graph_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/graph"
	"github.com/orderflow/orderflow/graph/model"
)

const orderFields = `id customerId status currency total version createdAt updatedAt cancellationReason
	items { sku quantity unitPrice }
	payment { id status amount failureCode }
	history { type version occurredAt }`

func TestQueriesAndMutations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		query string
		vars  map[string]any
		want  string                 // the JSON data
		check func(*testing.T, *api) // what the fakes saw
	}{
		{
			name:  "order by id",
			query: `query($id: ID!) { order(id: $id) { ` + orderFields + ` } }`,
			vars:  map[string]any{"id": orderID},
			want: `{"order":{"id":"` + orderID + `","customerId":"` + customerID + `","status":"PENDING","currency":"EUR","total":2500,
				"version":1,"createdAt":"2025-01-02T03:04:05Z","updatedAt":"2025-01-02T03:04:06Z","cancellationReason":null,
				"items":[{"sku":"SKU-1","quantity":2,"unitPrice":1250}],
				"payment":{"id":"7e0c9a52-4e0b-4f6f-8d9e-0a1b2c3d4e5f","status":"DECLINED","amount":2500,"failureCode":"card_declined"},
				"history":[{"type":"order.created.v1","version":1,"occurredAt":"2025-01-02T03:04:05Z"}]}}`,
		},
		{
			name:  "an unknown order is null, not an error",
			query: `{ order(id: "00000000-0000-4000-8000-000000000000") { id } }`,
			want:  `{"order":null}`,
		},
		{
			name:  "an upper-case id is looked up in canonical form",
			query: `{ order(id: "5B1F6B0E-7D5C-4C47-9B8A-3F0F9D6F6A11") { id } }`,
			want:  `{"order":{"id":"` + orderID + `"}}`,
		},
		{
			name:  "orders with the default page size",
			query: `query($c: ID!) { orders(customerId: $c) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`,
			vars:  map[string]any{"c": customerID},
			want:  `{"orders":{"edges":[{"cursor":"cursor-1","node":{"id":"` + orderID + `"}}],"pageInfo":{"hasNextPage":true,"endCursor":"cursor-1"}}}`,
			check: func(t *testing.T, a *api) {
				require.Equal(t, model.ListQuery{CustomerID: customerID, First: 20}, a.orders.lastQuery())
			},
		},
		{
			name:  "orders with status, first and after passed through",
			query: `{ orders(customerId: "` + customerID + `", status: PAID, first: 100, after: "opaque==") { pageInfo { hasNextPage } } }`,
			want:  `{"orders":{"pageInfo":{"hasNextPage":true}}}`,
			check: func(t *testing.T, a *api) {
				paid := model.OrderStatusPaid
				require.Equal(t, model.ListQuery{CustomerID: customerID, Status: &paid, First: 100, After: "opaque=="}, a.orders.lastQuery())
			},
		},
		{
			name:  "createOrder passes the input to the order service",
			query: `mutation($in: CreateOrderInput!) { createOrder(input: $in) { customerId currency total items { sku quantity unitPrice } } }`,
			vars: map[string]any{"in": map[string]any{
				"customerId": customerID, "currency": "EUR", "paymentMethod": "tok_visa", "idempotencyKey": "k-1",
				"items": []any{map[string]any{"sku": "SKU-9", "quantity": 3, "unitPrice": 700}},
			}},
			want: `{"createOrder":{"customerId":"` + customerID + `","currency":"EUR","total":2100,"items":[{"sku":"SKU-9","quantity":3,"unitPrice":700}]}}`,
			check: func(t *testing.T, a *api) {
				key, customer := "k-1", customerID
				require.Equal(t, []model.CreateOrderInput{{
					CustomerID: &customer, Currency: "EUR", PaymentMethod: "tok_visa", IdempotencyKey: &key,
					Items: []*model.OrderItemInput{{Sku: "SKU-9", Quantity: 3, UnitPrice: 700}},
				}}, a.cmds.created)
			},
		},
		{
			// The customer id is the API's to check (it must be the caller's);
			// the rest is the order service's.
			name:  "createOrder does not second-guess the order service's rules",
			query: `mutation { createOrder(input: {currency: "XXX", paymentMethod: "", items: []}) { customerId currency } }`,
			want:  `{"createOrder":{"customerId":"` + customerID + `","currency":"XXX"}}`,
		},
		{
			name:  "cancelOrder with a reason",
			query: `mutation { cancelOrder(id: "` + orderID + `", reason: "changed my mind") { status cancellationReason } }`,
			want:  `{"cancelOrder":{"status":"CANCELLING","cancellationReason":"changed my mind"}}`,
			check: func(t *testing.T, a *api) {
				require.Equal(t, []string{orderID}, a.cmds.cancelled)
				require.Equal(t, "changed my mind", *a.cmds.reasons[0])
			},
		},
		{
			name:  "cancelOrder without a reason",
			query: `mutation { cancelOrder(id: "` + orderID + `") { status cancellationReason } }`,
			want:  `{"cancelOrder":{"status":"CANCELLING","cancellationReason":null}}`,
			check: func(t *testing.T, a *api) { require.Nil(t, a.cmds.reasons[0]) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newAPI(t, graph.DefaultOptions())
			res := a.post(t, tt.query, tt.vars)
			require.Equal(t, 200, res.status, "body: %s", res.body)
			require.Empty(t, res.Errors)
			require.JSONEq(t, tt.want, string(res.Data))
			if tt.check != nil {
				tt.check(t, a)
			}
		})
	}
}

func TestGETQueriesButNotMutations(t *testing.T) {
	t.Parallel()
	a := newAPI(t, graph.DefaultOptions())

	res := a.get(t, `{ order(id: "`+orderID+`") { status } }`)
	require.Equal(t, 200, res.status)
	require.JSONEq(t, `{"order":{"status":"PENDING"}}`, string(res.Data))

	res = a.get(t, `mutation { cancelOrder(id: "`+orderID+`") { status } }`)
	require.NotEmpty(t, res.Errors)
	require.Empty(t, a.cmds.cancelled)
}

func TestInternalErrorsNameTheRequestID(t *testing.T) {
	t.Parallel()
	a := newAPI(t, graph.DefaultOptions(), func(a *api) {
		a.orders.orderFunc = func(context.Context, string) (*model.Order, error) {
			return nil, errSecret
		}
	})
	res := a.post(t, `{ order(id: "`+orderID+`") { id } }`, nil, "X-Request-Id", "req-42")
	require.Equal(t, "req-42", res.header.Get("X-Request-Id"))
	e := res.onlyError(t)
	require.Equal(t, "internal error; the request id is req-42", e.Message)
	require.Contains(t, a.log.String(), "req-42")

	// Without a header (or with a malformed one) the handler makes an id.
	res = a.post(t, `{ order(id: "`+orderID+`") { id } }`, nil, "X-Request-Id", "bad id\twith spaces")
	id := res.header.Get("X-Request-Id")
	require.Len(t, id, 36)
	require.Equal(t, "internal error; the request id is "+id, res.onlyError(t).Message)
}

func TestRequestIDFromTheGateway(t *testing.T) {
	t.Parallel()
	opts := graph.DefaultOptions()
	opts.RequestID = func(context.Context) string { return "gw-7" }
	a := newAPI(t, opts, func(a *api) {
		a.orders.orderFunc = func(context.Context, string) (*model.Order, error) { return nil, errSecret }
	})
	res := a.post(t, `{ order(id: "`+orderID+`") { id } }`, nil, "X-Request-Id", "req-42")
	require.Equal(t, "gw-7", res.header.Get("X-Request-Id"))
	require.Equal(t, "internal error; the request id is gw-7", res.onlyError(t).Message)
}

// dataField decodes one field of the data.
func dataField(t *testing.T, data json.RawMessage, field string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data, &m))
	return m[field]
}
