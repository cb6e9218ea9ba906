package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/e2e/clients"
	"github.com/orderflow/orderflow/e2e/harness"
	"github.com/orderflow/orderflow/platform/metrics/metricstest"
	"github.com/orderflow/orderflow/platform/testenv"
)

const orderFields = `id customerId status currency total cancellationReason version createdAt updatedAt
	items { sku quantity unitPrice } payment { id status amount failureCode } history { type version occurredAt }`

type gqlOrder struct {
	ID                 string  `json:"id"`
	CustomerID         string  `json:"customerId"`
	Status             string  `json:"status"`
	Total              int     `json:"total"`
	CancellationReason *string `json:"cancellationReason"`
	Version            int     `json:"version"`
	Payment            *struct {
		ID          string  `json:"id"`
		Status      string  `json:"status"`
		Amount      int     `json:"amount"`
		FailureCode *string `json:"failureCode"`
	} `json:"payment"`
	History []struct {
		Type    string `json:"type"`
		Version int    `json:"version"`
	} `json:"history"`
}

func (o gqlOrder) paymentStatus() string {
	if o.Payment == nil {
		return ""
	}
	return o.Payment.Status
}

// gqlAPI is a client of a gateway acting as customer, with a token from
// the token tool.
func gqlAPI(sys *harness.System, gateway, customer string) clients.GraphQL {
	return clients.GraphQL{URL: sys.URL(gateway) + "/graphql", Token: sys.Token(customer, false)}
}

func orderInput(customer, token string) map[string]any {
	return map[string]any{
		"customerId": customer, "currency": "EUR", "paymentMethod": token,
		"items": []map[string]any{{"sku": "sku-book", "quantity": 2, "unitPrice": 1250}, {"sku": "sku-pen", "quantity": 1, "unitPrice": 199}},
	}
}

func createViaAPI(t *testing.T, g clients.GraphQL, input map[string]any) gqlOrder {
	t.Helper()
	var out struct {
		CreateOrder gqlOrder `json:"createOrder"`
	}
	r, err := g.Do(context.Background(), `mutation($in: CreateOrderInput!) { createOrder(input: $in) { `+orderFields+` } }`,
		map[string]any{"in": input}, &out)
	require.NoError(t, err)
	require.NoError(t, r.Err())
	return out.CreateOrder
}

func cancelViaAPI(t *testing.T, g clients.GraphQL, id string) gqlOrder {
	t.Helper()
	var out struct {
		CancelOrder gqlOrder `json:"cancelOrder"`
	}
	r, err := g.Do(context.Background(), `mutation($id: ID!) { cancelOrder(id: $id, reason: "changed my mind") { `+orderFields+` } }`,
		map[string]any{"id": id}, &out)
	require.NoError(t, err)
	require.NoError(t, r.Err())
	return out.CancelOrder
}

func queryOrder(t *testing.T, g clients.GraphQL, id string) (*gqlOrder, error) {
	t.Helper()
	var out struct {
		Order *gqlOrder `json:"order"`
	}
	r, err := g.Do(context.Background(), `query($id: ID!) { order(id: $id) { `+orderFields+` } }`, map[string]any{"id": id}, &out)
	if err != nil {
		return nil, err
	}
	return out.Order, r.Err()
}

// waitViaAPI polls the read model until the order and its payment reach the
// given statuses.
func waitViaAPI(t *testing.T, g clients.GraphQL, id, status, paymentStatus string) gqlOrder {
	t.Helper()
	var got gqlOrder
	testenv.Eventually(t, settle, func() error {
		o, err := queryOrder(t, g, id)
		if err != nil {
			return err
		}
		if o == nil {
			return fmt.Errorf("order %s not in the read model yet", id)
		}
		if o.Status != status || o.paymentStatus() != paymentStatus {
			return fmt.Errorf("order %s is %s/%s, waiting for %s/%s", id, o.Status, o.paymentStatus(), status, paymentStatus)
		}
		got = *o
		return nil
	})
	return got
}

func TestGraphQLSagaPaths(t *testing.T) {
	sys := harness.Start(t, binDir, harness.Options{})
	customer := uuid.NewString()
	g := gqlAPI(sys, "gateway", customer)

	t.Run("paid", func(t *testing.T) {
		o := createViaAPI(t, g, orderInput(customer, "tok_visa"))
		require.Equal(t, "PENDING", o.Status)
		require.Equal(t, 2699, o.Total)
		got := waitViaAPI(t, g, o.ID, "PAID", "CAPTURED")
		require.Equal(t, 2699, got.Payment.Amount)
		require.Len(t, got.History, 2)
		require.Equal(t, "order.paid.v1", got.History[1].Type)
	})
	t.Run("declined", func(t *testing.T) {
		o := createViaAPI(t, g, orderInput(customer, "tok_insufficientFunds"))
		got := waitViaAPI(t, g, o.ID, "CANCELLED", "DECLINED")
		require.Equal(t, "PAYMENT_DECLINED", *got.CancellationReason)
		require.Equal(t, "insufficient_funds", *got.Payment.FailureCode)
	})
	t.Run("failed", func(t *testing.T) {
		o := createViaAPI(t, g, orderInput(customer, "tok_unavailable"))
		got := waitViaAPI(t, g, o.ID, "CANCELLED", "FAILED")
		require.Equal(t, "PAYMENT_FAILED", *got.CancellationReason)
	})
	t.Run("cancelled after payment", func(t *testing.T) {
		o := createViaAPI(t, g, orderInput(customer, "tok_mastercard"))
		waitViaAPI(t, g, o.ID, "PAID", "CAPTURED")
		require.Equal(t, "CANCELLING", cancelViaAPI(t, g, o.ID).Status)
		got := waitViaAPI(t, g, o.ID, "CANCELLED", "REFUNDED")
		require.Equal(t, "CUSTOMER_REQUEST", *got.CancellationReason)
	})
	t.Run("cancelled before payment", func(t *testing.T) {
		o := createViaAPI(t, g, orderInput(customer, "tok_slow"))
		cancelViaAPI(t, g, o.ID)
		waitViaAPI(t, g, o.ID, "CANCELLED", "REFUNDED") // the late capture is refunded
		again := cancelViaAPI(t, g, o.ID)
		require.Equal(t, "CANCELLED", again.Status, "cancelling a cancelled order changes nothing")
	})
	t.Run("idempotent create", func(t *testing.T) {
		in := orderInput(customer, "tok_visa")
		in["idempotencyKey"] = "checkout-" + uuid.NewString()
		first := createViaAPI(t, g, in)
		again := createViaAPI(t, g, in)
		require.Equal(t, first.ID, again.ID)
		in["currency"] = "USD"
		r, err := g.Do(context.Background(), `mutation($in: CreateOrderInput!) { createOrder(input: $in) { id } }`, map[string]any{"in": in}, nil)
		require.NoError(t, err)
		require.Len(t, r.Errors, 1)
		require.Equal(t, "CONFLICT", r.Errors[0].Code())
		require.Contains(t, r.Errors[0].Message, "idempotency key")
		got := waitViaAPI(t, g, first.ID, "PAID", "CAPTURED")
		require.Len(t, got.History, 2)
	})
	sys.CheckInvariants()
	requireMetrics(t, sys)
}

func TestGraphQLListsFiltersAndPaginates(t *testing.T) {
	sys := harness.Start(t, binDir, harness.Options{})
	customer := uuid.NewString()
	g := gqlAPI(sys, "gateway", customer)
	var ids []string
	for _, token := range []string{"tok_visa", "tok_chargeDeclined", "tok_visa", "tok_chargeDeclined", "tok_visa"} {
		o := createViaAPI(t, g, orderInput(customer, token))
		ids = append(ids, o.ID)
	}
	for i, id := range ids {
		if i%2 == 0 {
			waitViaAPI(t, g, id, "PAID", "CAPTURED")
		} else {
			waitViaAPI(t, g, id, "CANCELLED", "DECLINED")
		}
	}
	other := uuid.NewString()
	createViaAPI(t, gqlAPI(sys, "gateway", other), orderInput(other, "tok_visa")) // another customer's

	page := func(status, after string, first int) (nodes []string, hasNext bool, end string) {
		t.Helper()
		var out struct {
			Orders struct {
				Edges []struct {
					Cursor string   `json:"cursor"`
					Node   gqlOrder `json:"node"`
				} `json:"edges"`
				PageInfo struct {
					HasNextPage bool    `json:"hasNextPage"`
					EndCursor   *string `json:"endCursor"`
				} `json:"pageInfo"`
			} `json:"orders"`
		}
		vars := map[string]any{"c": customer, "first": first}
		if status != "" {
			vars["s"] = status
		}
		if after != "" {
			vars["after"] = after
		}
		r, err := g.Do(context.Background(), `query($c: ID!, $s: OrderStatus, $first: Int, $after: String) {
			orders(customerId: $c, status: $s, first: $first, after: $after) {
				edges { cursor node { id status } } pageInfo { hasNextPage endCursor } } }`, vars, &out)
		require.NoError(t, err)
		require.NoError(t, r.Err())
		for _, e := range out.Orders.Edges {
			nodes = append(nodes, e.Node.ID)
			if status != "" {
				require.Equal(t, status, e.Node.Status)
			}
		}
		if out.Orders.PageInfo.EndCursor != nil {
			end = *out.Orders.PageInfo.EndCursor
		}
		return nodes, out.Orders.PageInfo.HasNextPage, end
	}

	var all []string
	after := ""
	for {
		nodes, more, end := page("", after, 2)
		all = append(all, nodes...)
		if !more {
			break
		}
		after = end
	}
	newestFirst := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}
	require.Equal(t, newestFirst, all, "every order once, newest first, across pages")

	paid, more, _ := page("PAID", "", 10)
	require.False(t, more)
	require.Equal(t, []string{ids[4], ids[2], ids[0]}, paid)
	cancelled, _, _ := page("CANCELLED", "", 10)
	require.Equal(t, []string{ids[3], ids[1]}, cancelled)

	r, err := g.Do(context.Background(), `{ orders(customerId: "`+customer+`", after: "garbage") { edges { cursor } } }`, nil, nil)
	require.NoError(t, err)
	require.Equal(t, "BAD_USER_INPUT", r.Errors[0].Code())
	r, err = g.Do(context.Background(), `{ orders(customerId: "`+customer+`", first: 500) { edges { cursor } } }`, nil, nil)
	require.NoError(t, err)
	require.Equal(t, "BAD_USER_INPUT", r.Errors[0].Code())
}

func TestGraphQLRejectsBadInputAndStoresNothing(t *testing.T) {
	sys := harness.Start(t, binDir, harness.Options{})
	customer := uuid.NewString()
	g := gqlAPI(sys, "gateway", customer)
	items := func(n, quantity, price int) []map[string]any {
		out := make([]map[string]any, n)
		for i := range out {
			out[i] = map[string]any{"sku": fmt.Sprintf("sku-%d", i), "quantity": quantity, "unitPrice": price}
		}
		return out
	}
	tests := []struct {
		name    string
		mutate  func(in map[string]any)
		mention string
	}{
		{"no items", func(in map[string]any) { in["items"] = items(0, 1, 1) }, "items"},
		{"101 items", func(in map[string]any) { in["items"] = items(101, 1, 1) }, "at most 100 items"},
		{"quantity 0", func(in map[string]any) { in["items"] = items(1, 0, 100) }, "quantity"},
		{"quantity 1001", func(in map[string]any) { in["items"] = items(1, 1001, 100) }, "quantity"},
		{"unit price 0", func(in map[string]any) { in["items"] = items(1, 1, 0) }, "unitPrice"},
		{"total over the maximum", func(in map[string]any) { in["items"] = items(2, 1000, 60_000) }, "exceeds the maximum"},
		{"unknown currency", func(in map[string]any) { in["currency"] = "XXY" }, "currency"},
		{"empty payment method", func(in map[string]any) { in["paymentMethod"] = "" }, "paymentMethod"},
		{"customer id not a UUID", func(in map[string]any) { in["customerId"] = "customer-1" }, "customerId"},
		{"unit price beyond Int", func(in map[string]any) { in["items"] = items(1, 1, 1<<40) }, "unitPrice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := orderInput(customer, "tok_visa")
			tt.mutate(in)
			r, err := g.Do(context.Background(), `mutation($in: CreateOrderInput!) { createOrder(input: $in) { id } }`,
				map[string]any{"in": in}, nil)
			require.NoError(t, err)
			require.Len(t, r.Errors, 1, "errors: %v", r.Errors)
			require.Equal(t, "BAD_USER_INPUT", r.Errors[0].Code())
			require.Contains(t, r.Errors[0].Message, tt.mention)
			require.NotContains(t, r.Errors[0].Message, "sql")
		})
	}

	ctx := testenv.Context(t, time.Minute)
	conn, err := pgx.Connect(ctx, sys.DSN("order"))
	require.NoError(t, err)
	defer conn.Close(ctx)
	var stored int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM events").Scan(&stored))
	require.Zero(t, stored, "nothing stored for rejected input")
}

// statusesFromHistory derives the order's status after each version from
// its history, the reference a subscription must match.
func statusesFromHistory(o gqlOrder) map[int]string {
	status := map[string]string{"order.created.v1": "PENDING", "order.paid.v1": "PAID",
		"order.cancellation_requested.v1": "CANCELLING", "order.cancelled.v1": "CANCELLED"}
	out := map[int]string{}
	for _, h := range o.History {
		out[h.Version] = status[h.Type]
	}
	return out
}

// requireNoGapNoRepeat checks a subscription's payloads against the order's
// final history: in version order, every status change after the first
// payload, none twice, ending with CANCELLED.
func requireNoGapNoRepeat(t *testing.T, payloads []json.RawMessage, final gqlOrder) {
	t.Helper()
	require.NotEmpty(t, payloads)
	want := statusesFromHistory(final)
	var versions []int
	for _, p := range payloads {
		var msg struct {
			Data struct {
				O struct {
					Status  string `json:"status"`
					Version int    `json:"version"`
				} `json:"orderStatusChanged"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(p, &msg))
		require.Equal(t, want[msg.Data.O.Version], msg.Data.O.Status, "payload %s matches the history", p)
		versions = append(versions, msg.Data.O.Version)
	}
	for i := 1; i < len(versions); i++ {
		require.Equal(t, versions[i-1]+1, versions[i], "no gap, no repeat: %v", versions)
	}
	require.Equal(t, final.Version, versions[len(versions)-1], "ends with the last status")
	require.Equal(t, "CANCELLED", want[versions[len(versions)-1]])
}

func wsURL(httpURL string) string {
	u, _ := url.Parse(httpURL)
	u.Scheme = "ws"
	u.Path = "/graphql"
	return u.String()
}

func TestSubscriptionMidFlightWithNodeGraphQLWS(t *testing.T) {
	sys := harness.Start(t, binDir, harness.Options{SecondGateway: true})
	for _, sub := range []string{"gateway", "gateway2"} { // same gateway, then another replica
		t.Run("subscribed on "+sub, func(t *testing.T) {
			customer := uuid.NewString()
			g := gqlAPI(sys, "gateway", customer)
			o := createViaAPI(t, g, orderInput(customer, "tok_slow"))
			time.Sleep(300 * time.Millisecond) // mid-flight: the charge is waiting for the PSP

			var (
				wg       sync.WaitGroup
				payloads []json.RawMessage
				subErr   error
			)
			wg.Go(func() {
				payloads, subErr = clients.NodeSubscribe(context.Background(), t, wsURL(sys.URL(sub)), g.Token, o.ID, 60*time.Second)
			})
			time.Sleep(500 * time.Millisecond)
			testenv.Eventually(t, 20*time.Second, func() error { // the subscription waits for the cancel
				if n, _ := metricstest.Get(t, sys.URL(sub)).Value("orderflow_gateway_subscriptions_active"); n < 1 {
					return fmt.Errorf("%s serves %v subscriptions", sub, n)
				}
				return nil
			})
			cancelViaAPI(t, g, o.ID) // driven through the first gateway
			wg.Wait()
			require.NoError(t, subErr)
			metricstest.Get(t, sys.URL(sub)).Require(t, 1, "orderflow_gateway_graphql_operations_total",
				"operation", "subscription", "code", "none")

			final := waitViaAPI(t, g, o.ID, "CANCELLED", "REFUNDED")
			requireNoGapNoRepeat(t, payloads, final)
		})
	}
	sys.CheckInvariants()
}

func TestReadModelsRebuildToTheSameResult(t *testing.T) {
	sys := harness.Start(t, binDir, harness.Options{})
	customer := uuid.NewString()
	g := gqlAPI(sys, "gateway", customer)
	var ids []string
	for _, token := range []string{"tok_visa", "tok_chargeDeclined", "tok_flaky"} {
		ids = append(ids, createViaAPI(t, g, orderInput(customer, token)).ID)
	}
	waitViaAPI(t, g, ids[0], "PAID", "CAPTURED")
	waitViaAPI(t, g, ids[1], "CANCELLED", "DECLINED")
	waitViaAPI(t, g, ids[2], "PAID", "CAPTURED")

	snapshot := func() string {
		t.Helper()
		r, err := g.Do(context.Background(), `query($c: ID!) { orders(customerId: $c) { edges { cursor node { `+orderFields+` } } } }`,
			map[string]any{"c": customer}, nil)
		require.NoError(t, err)
		require.NoError(t, r.Err())
		return string(r.Data)
	}
	before := snapshot()

	// Flush this deployment's read models while the system runs.
	flushRedisPrefix(t, sys.RedisPrefix)
	empty, err := queryOrder(t, g, ids[0])
	require.NoError(t, err)
	require.Nil(t, empty, "the read model is gone")

	cmd := exec.Command(sys.Bin("rebuild-readmodels"))
	cmd.Env = append(cmd.Environ(), sys.Env("gateway")...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("rebuild-readmodels:\n%s", out)
	require.Equal(t, before, snapshot(), "the rebuilt read models answer exactly as before")
}

func TestGraphiQLInHeadlessChromium(t *testing.T) {
	sys := harness.Start(t, binDir, harness.Options{})
	// GraphiQL's headers pane is prefilled with this customer's token, as
	// make run does for its demo customer.
	g := gqlAPI(sys, "gateway", sys.GraphiQLCustomer)
	o := createViaAPI(t, g, orderInput(sys.GraphiQLCustomer, "tok_visa"))
	waitViaAPI(t, g, o.ID, "PAID", "CAPTURED")

	ctx := testenv.Context(t, 3*time.Minute)
	result, requests, err := clients.CheckGraphiQL(ctx, t, sys.URL("gateway"),
		`{ order(id: "`+o.ID+`") { id status payment { status } } }`)
	require.NoError(t, err)
	require.Contains(t, result, o.ID)
	require.Contains(t, result, `"PAID"`)
	require.Contains(t, result, `"CAPTURED"`)
	requireLocal(t, requests)

	// A mutation from GraphiQL, then a subscription that GraphiQL follows
	// over its websocket until the server completes it at CANCELLED.
	result, requests, err = clients.CheckGraphiQL(ctx, t, sys.URL("gateway"),
		`mutation { cancelOrder(id: "`+o.ID+`") { id status } }`)
	require.NoError(t, err)
	require.Contains(t, result, `"CANCELLING"`)
	requireLocal(t, requests)

	result, requests, err = clients.CheckGraphiQL(ctx, t, sys.URL("gateway"),
		`subscription { orderStatusChanged(id: "`+o.ID+`") { id status } }`)
	require.NoError(t, err)
	require.Contains(t, result, `"CANCELLED"`)
	requireLocal(t, requests)
	var sawWebsocket bool
	for _, r := range requests {
		sawWebsocket = sawWebsocket || strings.HasPrefix(r, "ws://")
	}
	require.True(t, sawWebsocket, "the subscription ran over a websocket: %v", requests)
}

// requireLocal fails unless every request the page made stayed on this machine.
func requireLocal(t *testing.T, requests []string) {
	t.Helper()
	require.NotEmpty(t, requests)
	for _, r := range requests {
		u, err := url.Parse(r)
		require.NoError(t, err)
		require.Contains(t, []string{"127.0.0.1", "localhost"}, u.Hostname(), "request %s left the machine", r)
	}
}

func TestGatewayRefusesAbuseAndKeepsServing(t *testing.T) {
	sys := harness.Start(t, binDir, harness.Options{})
	customer := uuid.NewString()
	g := gqlAPI(sys, "gateway", customer)
	ctx := testenv.Context(t, time.Minute)

	huge := append([]byte(`{"query":"`), bytes.Repeat([]byte("a"), 20<<20)...)
	huge = append(huge, []byte(`"}`)...)
	r, err := g.Raw(ctx, "application/json", huge, nil)
	require.NoError(t, err)
	require.Equal(t, 413, r.Status)
	require.Contains(t, r.Errors[0].Message, "larger than")

	deep := "{" + strings.Repeat("order(id: \"x\") {", 50) + "id" + strings.Repeat("}", 50) + "}"
	r, err = g.Do(ctx, deep, nil, nil)
	require.NoError(t, err)
	require.NotEmpty(t, r.Errors)
	require.NotEqual(t, 200, r.Status)

	r, err = g.Raw(ctx, "application/json", []byte(`{"query": "{ order(id: `), nil)
	require.NoError(t, err)
	require.Equal(t, 400, r.Status)
	require.NotEmpty(t, r.Errors[0].Message)

	o := createViaAPI(t, g, orderInput(customer, "tok_visa"))
	waitViaAPI(t, g, o.ID, "PAID", "CAPTURED")
}

func TestMirrorResumesAfterNATSRestart(t *testing.T) {
	sys := harness.Start(t, binDir, harness.Options{})
	customer := uuid.NewString()
	g := gqlAPI(sys, "gateway", customer)
	before := createViaAPI(t, g, orderInput(customer, "tok_visa"))
	waitViaAPI(t, g, before.ID, "PAID", "CAPTURED")

	testenv.StopServer(t, "nats")
	t.Cleanup(func() { testenv.Infra(t, "up") }) // also when the test fails early: the next tests need NATS
	var during []string
	for range 3 { // the saga goes on without NATS: it only feeds subscriptions
		during = append(during, createViaAPI(t, g, orderInput(customer, "tok_visa")).ID)
	}
	for _, id := range during {
		waitViaAPI(t, g, id, "PAID", "CAPTURED")
	}
	testenv.Infra(t, "up")

	// Every event in Kafka is in JetStream exactly once.
	testenv.Eventually(t, settle, func() error {
		inKafka := kafkaEventCount(t, sys.Prefix)
		inStream, err := streamMessageCount(sys.NATSStream)
		if err != nil {
			return err
		}
		if inStream != inKafka {
			return fmt.Errorf("JetStream holds %d events, Kafka %d", inStream, inKafka)
		}
		return nil
	})

	// And subscriptions work again, for an order that went through the outage.
	payloads, err := clients.NodeSubscribe(context.Background(), t, wsURL(sys.URL("gateway")), g.Token, during[0], 5*time.Second)
	require.ErrorContains(t, err, "did not complete", "a PAID order's subscription stays open")
	require.Len(t, payloads, 1)
	require.Contains(t, string(payloads[0]), `"PAID"`)
}
