package e2e_test

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/e2e/clients"
	"github.com/orderflow/orderflow/e2e/harness"
	pspclient "github.com/orderflow/orderflow/paymentgateway/client"
	"github.com/orderflow/orderflow/platform/testenv"
)

// TestGatewayRefusesBadTokens: every kind of bad token is refused with its
// own message, over HTTP (401) and on the websocket (closed with 4403, seen
// by the npm graphql-ws client), and nothing is stored.
func TestGatewayRefusesBadTokens(t *testing.T) {
	// No leeway, so that a token can be seen to expire within the test.
	sys := harness.Start(t, binDir, harness.Options{Env: []string{"GATEWAY_AUTH_LEEWAY=0s"}})
	customer := uuid.NewString()
	expiring := sys.TokenTool("-customer", customer, "-ttl", "1s")
	otherIssuer := sys.TokenToolIn(t.TempDir(), "-customer", customer) // another issuer's key
	tests := []struct {
		name, token, mention string
	}{
		{"no token", "", "needs a token"},
		{"malformed", "not-a-jwt", "malformed"},
		{"expired", expiring, "expired"},
		{"wrong key", otherIssuer, "signature does not match"},
		{"wrong audience", sys.TokenTool("-customer", customer, "-audience", "someone-else"), `audience is "someone-else"`},
		{"wrong issuer", sys.TokenTool("-customer", customer, "-issuer", "someone-else"), `issuer is "someone-else"`},
	}
	time.Sleep(1500 * time.Millisecond) // expiring has expired
	ctx := testenv.Context(t, 2*time.Minute)
	api := clients.GraphQL{URL: sys.URL("gateway") + "/graphql"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := api.As(tt.token).Do(ctx, `mutation($in: CreateOrderInput!) { createOrder(input: $in) { id } }`,
				map[string]any{"in": orderInput(customer, "tok_visa")}, nil)
			require.NoError(t, err)
			require.Equal(t, http.StatusUnauthorized, r.Status)
			require.Len(t, r.Errors, 1)
			require.Equal(t, "UNAUTHENTICATED", r.Errors[0].Code())
			require.Contains(t, r.Errors[0].Message, tt.mention)
			if tt.token != "" {
				require.NotContains(t, r.Errors[0].Message, tt.token, "the token is never echoed")
			}

			_, err = clients.NodeSubscribe(ctx, t, wsURL(sys.URL("gateway")), tt.token, uuid.NewString(), 10*time.Second)
			require.ErrorContains(t, err, "socket closed with code 4403")
			require.ErrorContains(t, err, tt.mention)
		})
	}
	for _, name := range sys.Names() {
		require.NotContains(t, readLog(t, sys, name), otherIssuer, "%s logged a token", name)
	}

	conn, err := pgx.Connect(ctx, sys.DSN("order"))
	require.NoError(t, err)
	defer conn.Close(ctx)
	var stored int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM events").Scan(&stored))
	require.Zero(t, stored, "nothing stored for refused requests")
}

// TestCustomersSeeOnlyTheirOwnOrders: customer B cannot see, list, follow
// or cancel customer A's order — each answers as for an unknown id — and
// A's order is unchanged afterwards; an admin reads it.
func TestCustomersSeeOnlyTheirOwnOrders(t *testing.T) {
	sys := harness.Start(t, binDir, harness.Options{})
	ctx := testenv.Context(t, 2*time.Minute)
	a, b := uuid.NewString(), uuid.NewString()
	asA, asB := gqlAPI(sys, "gateway", a), gqlAPI(sys, "gateway", b)
	created := createViaAPI(t, asA, map[string]any{ // customerId left out: the token's
		"currency": "EUR", "paymentMethod": "tok_visa", "items": []map[string]any{{"sku": "sku-book", "quantity": 1, "unitPrice": 1250}},
	})
	require.Equal(t, a, created.CustomerID)
	paid := waitViaAPI(t, asA, created.ID, "PAID", "CAPTURED")

	seen, err := queryOrder(t, asB, created.ID)
	require.NoError(t, err)
	require.Nil(t, seen, "B reads A's order as an unknown one")

	r, err := asB.Do(ctx, `query($c: ID) { orders(customerId: $c) { edges { node { id } } } }`, map[string]any{"c": a}, nil)
	require.NoError(t, err)
	require.Equal(t, "FORBIDDEN", r.Errors[0].Code())
	r, err = asB.Do(ctx, `{ orders { edges { node { id } } } }`, nil, nil)
	require.NoError(t, err)
	require.NoError(t, r.Err())
	require.NotContains(t, string(r.Data), created.ID, "B's list holds only B's orders")

	r, err = asB.Do(ctx, `mutation($in: CreateOrderInput!) { createOrder(input: $in) { id } }`,
		map[string]any{"in": orderInput(a, "tok_visa")}, nil)
	require.NoError(t, err)
	require.Equal(t, "FORBIDDEN", r.Errors[0].Code(), "B cannot order for A")

	cancel := func(id string) clients.GraphQLError {
		r, err := asB.Do(ctx, `mutation($id: ID!) { cancelOrder(id: $id) { id } }`, map[string]any{"id": id}, nil)
		require.NoError(t, err)
		require.Len(t, r.Errors, 1)
		return r.Errors[0]
	}
	unknown := uuid.NewString()
	refused, missing := cancel(created.ID), cancel(unknown)
	require.Equal(t, "NOT_FOUND", refused.Code())
	require.Equal(t, strings.ReplaceAll(missing.Message, unknown, created.ID), refused.Message, "answered exactly as an unknown id")

	_, err = clients.NodeSubscribe(ctx, t, wsURL(sys.URL("gateway")), asB.Token, created.ID, 10*time.Second)
	require.ErrorContains(t, err, "NOT_FOUND")

	after := waitViaAPI(t, asA, created.ID, "PAID", "CAPTURED")
	require.Equal(t, paid.Version, after.Version, "A's order is unchanged")

	admin := asA.As(sys.Token(uuid.NewString(), true))
	seen, err = queryOrder(t, admin, created.ID)
	require.NoError(t, err)
	require.NotNil(t, seen, "an admin reads any order")
	require.Equal(t, a, seen.CustomerID)
	sys.CheckInvariants()
}

// TestInternalServicesNeedTheServiceTokenAndListenOnLoopback: the internal
// APIs refuse a call without the service token, and no process of the
// deployment nor server of make infra listens on anything but loopback
// (from /proc/net/tcp{,6}).
func TestInternalServicesNeedTheServiceTokenAndListenOnLoopback(t *testing.T) {
	sys := harness.Start(t, binDir, harness.Options{})
	ctx := testenv.Context(t, time.Minute)
	for service, path := range map[string]string{
		"order": "/v1/orders/" + uuid.NewString(), "payment": "/v1/payments/" + uuid.NewString(),
		"paymentgateway": "/v1/charges", "compensation": "/v1/sagas/" + uuid.NewString(),
	} {
		for _, token := range []string{"", "wrong-service-token-0123456789"} {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, sys.URL(service)+path, nil)
			require.NoError(t, err)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s %s with token %q", service, path, token)
		}
	}
	charges, err := sys.PSP.ListCharges(ctx, pspclient.ListParams{})
	require.NoError(t, err, "with the service token the ledger answers")
	require.Empty(t, charges.Data)

	// The servers of make infra too, Kafka with the JMX connector the
	// benchmarks open.
	testenv.Infra(t, "kafka-requests")
	pids := map[string]int{}
	for _, name := range sys.Names() {
		pids[name] = sys.PID(name)
	}
	root := testenv.RepoRoot(t)
	for _, server := range []string{"kafka", "postgres", "redis", "nats", "jaeger"} {
		b, err := os.ReadFile(filepath.Join(root, ".data", "run", server+".pid"))
		if err != nil {
			t.Logf("%s was not started by scripts/infra.sh (no pid file): not checked", server)
			continue
		}
		first, _, _ := strings.Cut(string(b), "\n") // postgres writes more lines
		pid, err := strconv.Atoi(strings.TrimSpace(first))
		require.NoError(t, err)
		pids[server] = pid
	}
	listening := listeningSockets(t)
	for name, pid := range pids {
		inodes := socketInodes(t, pid)
		var addrs []string
		for inode := range inodes {
			if addr, ok := listening[inode]; ok {
				addrs = append(addrs, addr)
			}
		}
		require.NotEmpty(t, addrs, "%s listens somewhere", name)
		for _, addr := range addrs {
			host, _, err := net.SplitHostPort(addr)
			require.NoError(t, err)
			require.True(t, net.ParseIP(host).IsLoopback(), "%s listens on %s, not loopback", name, addr)
		}
	}
}

// TestGatewayRateLimitsACustomer: a burst over a customer's limit gets 429
// with Retry-After; other customers and the gateway go on.
func TestGatewayRateLimitsACustomer(t *testing.T) {
	sys := harness.Start(t, binDir, harness.Options{Env: []string{"GATEWAY_RATE_LIMIT=1", "GATEWAY_RATE_BURST=3"}})
	ctx := testenv.Context(t, time.Minute)
	g := gqlAPI(sys, "gateway", uuid.NewString())
	var limited *clients.Response
	for range 6 {
		r, err := g.Do(ctx, `{ orders { edges { cursor } } }`, nil, nil)
		require.NoError(t, err)
		if r.Status == http.StatusTooManyRequests {
			limited = &r
			break
		}
		require.NoError(t, r.Err())
	}
	require.NotNil(t, limited, "a burst of 6 over a burst size of 3 is limited")
	require.Equal(t, "RATE_LIMITED", limited.Errors[0].Code())
	retry, err := strconv.Atoi(limited.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After is a number of seconds")
	require.GreaterOrEqual(t, retry, 1)

	other := gqlAPI(sys, "gateway", uuid.NewString())
	r, err := other.Do(ctx, `{ orders { edges { cursor } } }`, nil, nil)
	require.NoError(t, err)
	require.NoError(t, r.Err(), "another customer is not limited")
	resp, err := http.Get(sys.URL("gateway") + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// listeningSockets maps the inode of every listening TCP socket on the
// machine to its local address, from /proc/net/tcp and /proc/net/tcp6.
func listeningSockets(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		sc.Scan() // the header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			out[fields[9]] = decodeProcAddr(t, fields[1])
		}
		require.NoError(t, sc.Err())
		f.Close()
	}
	return out
}

// decodeProcAddr turns /proc/net/tcp's "0100007F:1F90" (little-endian
// words) into "127.0.0.1:8080", and tcp6's into "[…]:port".
func decodeProcAddr(t *testing.T, s string) string {
	t.Helper()
	hexIP, hexPort, ok := strings.Cut(s, ":")
	require.True(t, ok, s)
	port, err := strconv.ParseUint(hexPort, 16, 16)
	require.NoError(t, err)
	var ip []byte
	for i := 0; i+8 <= len(hexIP); i += 8 {
		word, err := strconv.ParseUint(hexIP[i:i+8], 16, 32)
		require.NoError(t, err)
		ip = append(ip, byte(word), byte(word>>8), byte(word>>16), byte(word>>24))
	}
	return net.JoinHostPort(net.IP(ip).String(), strconv.FormatUint(port, 10)) // an IPv4-mapped address prints as IPv4
}

// socketInodes are the socket inodes a process holds open.
func socketInodes(t *testing.T, pid int) map[string]bool {
	t.Helper()
	require.NotZero(t, pid)
	dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := map[string]bool{}
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if inode, ok := strings.CutPrefix(target, "socket:["); ok {
			out[strings.TrimSuffix(inode, "]")] = true
		}
	}
	return out
}

func readLog(t *testing.T, sys *harness.System, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sys.LogDir, name+".log"))
	require.NoError(t, err)
	return string(b)
}
