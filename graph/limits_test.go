package graph_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/graph"
)

// The deepest path the schema allows: orders → edges → node → payment → id.
const depth5 = `{ orders(customerId: "` + customerID + `") { edges { node { payment { id } } } } }`

func TestDepthLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		maxDepth int
		query    string
		message  string // "" means accepted
	}{
		{name: "the default allows the deepest query the schema has", maxDepth: 0, query: depth5},
		{name: "at the limit", maxDepth: 3, query: `{ orders(customerId: "` + customerID + `") { edges { cursor } } }`},
		{
			name: "one over the limit", maxDepth: 3,
			query:   `{ orders(customerId: "` + customerID + `") { edges { node { id } } } }`,
			message: "query depth 4 exceeds the maximum of 3; select fewer nested fields",
		},
		{
			name: "depth through fragments and inline fragments", maxDepth: 4,
			query: `{ orders(customerId: "` + customerID + `") { ...Page } }
				fragment Page on OrderConnection { edges { ... on OrderEdge { node { ...Pay } } } }
				fragment Pay on Order { payment { id } }`,
			message: "query depth 5 exceeds the maximum of 4; select fewer nested fields",
		},
		{
			name: "introspection fields do not count", maxDepth: 2,
			query: `{ order(id: "` + orderID + `") { __typename id } __schema { types { fields { type { ofType { ofType { name } } } } } } }`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := graph.DefaultOptions()
			opts.MaxDepth = tt.maxDepth
			a := newAPI(t, opts)
			res := a.post(t, tt.query, nil)
			if tt.message == "" {
				require.Empty(t, res.Errors, "body: %s", res.body)
				return
			}
			require.Equal(t, 200, res.status)
			e := res.onlyError(t)
			require.Equal(t, "QUERY_TOO_DEEP", e.code())
			require.Equal(t, tt.message, e.Message)
			require.Contains(t, []string{"", "null"}, string(res.Data), "nothing ran")
			require.Empty(t, a.orders.queries, "nothing ran")
		})
	}
}

// The schema has no recursion, so a query 50 levels deep cannot be valid:
// validation rejects it, and the client is told which field is wrong.
func TestGarbageDeepQuery(t *testing.T) {
	t.Parallel()
	a := newAPI(t, graph.DefaultOptions())
	q := strings.Repeat("{a", 50) + strings.Repeat("}", 50)
	res := a.post(t, q, nil)
	require.Equal(t, 422, res.status)
	e := res.onlyError(t)
	require.Equal(t, "GRAPHQL_VALIDATION_FAILED", e.code())
	require.Equal(t, `Cannot query field "a" on type "Query".`, e.Message)

	// Bodies full of nesting or of fields are cut off by the parser
	// (gqlparser's nesting limit, Options.MaxTokens) before they cost much.
	for q, msg := range map[string]string{
		strings.Repeat("{a", 200_000) + strings.Repeat("}", 200_000): "exceeded maximum nesting depth of 1000",
		"{" + strings.Repeat(" a", 200_000) + "}":                    "exceeded token limit of 15000",
	} {
		res = a.post(t, q, nil)
		require.Equal(t, 422, res.status)
		e = res.onlyError(t)
		require.Equal(t, "GRAPHQL_PARSE_FAILED", e.code())
		require.Contains(t, e.Message, msg)
	}
}

func TestComplexityLimit(t *testing.T) {
	t.Parallel()
	opts := graph.DefaultOptions()
	opts.MaxComplexity = 5
	a := newAPI(t, opts)

	res := a.post(t, `{ order(id: "`+orderID+`") { id status } }`, nil)
	require.Empty(t, res.Errors, "body: %s", res.body)

	res = a.post(t, `{ order(id: "`+orderID+`") { id status currency total items { sku quantity } } }`, nil)
	require.Equal(t, 200, res.status)
	e := res.onlyError(t)
	require.Equal(t, "COMPLEXITY_LIMIT_EXCEEDED", e.code())
	require.Equal(t, "operation has complexity 8, which exceeds the limit of 5", e.Message)
	require.Empty(t, a.orders.queries, "nothing ran")
}

// orders costs its selection once per order of the page: here 1 + first ×
// (edges 1 + cursor 1 + node 23 + pageInfo 2).
func TestComplexityCountsThePageSize(t *testing.T) {
	t.Parallel()
	opts := graph.DefaultOptions()
	opts.MaxComplexity = 600
	a := newAPI(t, opts)
	const q = `query($n: Int) { orders(first: $n) { edges { cursor node { ` + orderFields + ` } } pageInfo { hasNextPage } } }`
	for _, tt := range []struct {
		first      any // nil: the default page size, 20
		complexity int // if over 600
	}{
		{first: 1}, {first: nil}, {first: 22},
		{first: 23, complexity: 622},
		{first: 100, complexity: 2701},
		{first: 5000, complexity: 2701}, // counted at the largest page the resolver would serve
	} {
		res := a.post(t, q, map[string]any{"n": tt.first})
		require.Equal(t, 200, res.status, "first %v: %s", tt.first, res.body)
		if tt.complexity == 0 {
			require.Empty(t, res.Errors, "first %v: %s", tt.first, res.body)
			continue
		}
		e := res.onlyError(t)
		require.Equal(t, "COMPLEXITY_LIMIT_EXCEEDED", e.code())
		require.Equal(t, fmt.Sprintf("operation has complexity %d, which exceeds the limit of 600", tt.complexity), e.Message)
	}
	require.Len(t, a.orders.queries, 3, "only the queries under the limit ran")

	// The same selection as a literal argument, and a page of one order
	// deep inside a larger operation.
	res := a.post(t, `{ orders(first: 100) { edges { cursor node { `+orderFields+` } } } }`, nil)
	require.Equal(t, "COMPLEXITY_LIMIT_EXCEEDED", res.onlyError(t).code())
	res = a.post(t, `{ a: orders(first: 1) { edges { cursor node { `+orderFields+` } } } b: order(id: "`+orderID+`") { id } }`, nil)
	require.Empty(t, res.Errors, "body: %s", res.body)
}

// GraphiQL's introspection query must pass the default limits.
func TestIntrospectionQueryPassesTheDefaultLimits(t *testing.T) {
	t.Parallel()
	a := newAPI(t, graph.DefaultOptions())
	res := a.post(t, introspectionQuery, nil)
	require.Equal(t, 200, res.status)
	require.Empty(t, res.Errors, "body: %.500s", res.body)
	require.Contains(t, string(res.Data), `"orderStatusChanged"`)
}

func TestIntrospectionOff(t *testing.T) {
	t.Parallel()
	opts := graph.DefaultOptions()
	opts.Introspection = false
	a := newAPI(t, opts)

	for _, q := range []string{
		`{ __schema { queryType { name } } }`,
		`{ __type(name: "Order") { name } }`,
		`{ ...Q } fragment Q on Query { __schema { types { name } } }`,
	} {
		res := a.post(t, q, nil)
		require.Equal(t, 422, res.status, q)
		e := res.onlyError(t)
		require.Equal(t, "GRAPHQL_VALIDATION_FAILED", e.code())
		require.Equal(t, "introspection is disabled on this server; __schema and __type cannot be queried", e.Message)
	}

	res := a.post(t, `{ order(id: "`+orderID+`") { __typename id } }`, nil)
	require.Empty(t, res.Errors, "__typename is not introspection of the schema")
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	a := newAPI(t, graph.DefaultOptions())

	big := `{"query":"{ __typename }","variables":{"pad":"` + strings.Repeat("x", 20<<20) + `"}}`
	t.Run("with a Content-Length", func(t *testing.T) {
		res := a.postRaw(t, "application/json", strings.NewReader(big))
		require.Equal(t, http.StatusRequestEntityTooLarge, res.status)
		require.Equal(t, "application/json", res.header.Get("Content-Type"))
		e := res.onlyError(t)
		require.Equal(t, "PAYLOAD_TOO_LARGE", e.code())
		require.Equal(t, "the request body is larger than the limit of 1048576 bytes", e.Message)
	})
	t.Run("chunked, without a Content-Length", func(t *testing.T) {
		res := a.postRaw(t, "application/json", io.MultiReader(strings.NewReader(big)))
		require.Equal(t, http.StatusRequestEntityTooLarge, res.status)
		require.Equal(t, "PAYLOAD_TOO_LARGE", res.onlyError(t).code())
	})
	t.Run("the server keeps serving", func(t *testing.T) {
		res := a.post(t, `{ order(id: "`+orderID+`") { status } }`, nil)
		require.Equal(t, 200, res.status)
		require.JSONEq(t, `{"order":{"status":"PENDING"}}`, string(res.Data))
	})
	t.Run("just under the limit is served", func(t *testing.T) {
		q := `{"query":"{ __typename }","variables":{"pad":"`
		body := q + strings.Repeat("x", 1<<20-len(q)-3) + `"}}`
		require.Len(t, body, 1<<20)
		res := a.postRaw(t, "application/json", strings.NewReader(body))
		require.Equal(t, 200, res.status, "body: %.300s", res.body)
		require.JSONEq(t, `{"__typename":"Query"}`, string(res.Data))
	})
}

func TestMalformedRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, contentType, body string
		status                          int
		code, message                   string
	}{
		{
			name: "broken JSON", method: "POST", contentType: "application/json", body: `{"query": "{ __typename }"`,
			status: 400, code: "BAD_REQUEST",
			message: `the request body is not a valid GraphQL request (a JSON object with "query", and optionally "variables" and "operationName"): unexpected EOF`,
		},
		{
			name: "JSON of the wrong shape", method: "POST", contentType: "application/json", body: `{"query": 42}`,
			status: 400, code: "BAD_REQUEST",
		},
		{
			name: "not JSON", method: "POST", contentType: "text/plain", body: `{ __typename }`,
			status: 415, code: "BAD_REQUEST", message: "the Content-Type of a GraphQL POST must be application/json",
		},
		{
			name: "wrong method", method: "PUT", contentType: "application/json", body: `{"query":"{ __typename }"}`,
			status: 405, code: "BAD_REQUEST", message: "method PUT is not allowed; send queries and mutations with POST",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newAPI(t, graph.DefaultOptions())
			req, err := http.NewRequestWithContext(t.Context(), tt.method, a.url, bytes.NewBufferString(tt.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", tt.contentType)
			req.Header.Set("Authorization", defaultAuthorization)
			res := do(t, req)
			require.Equal(t, tt.status, res.status, "body: %s", res.body)
			e := res.onlyError(t)
			require.Equal(t, tt.code, e.code())
			if tt.message != "" {
				require.Equal(t, tt.message, e.Message)
			}
			require.NotContains(t, e.Message, "body:", "the body is not echoed")
		})
	}
}

// introspectionQuery is the query GraphiQL sends.
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}`
