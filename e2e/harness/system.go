package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/order/api"
	orderclient "github.com/orderflow/orderflow/order/client"
	pspclient "github.com/orderflow/orderflow/paymentgateway/client"
	"github.com/orderflow/orderflow/platform/auth"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/tools/invariants"
)

// Options tune a System.
type Options struct {
	// PaymentTimeout is the payment deadline (COMPENSATION_PAYMENT_TIMEOUT).
	PaymentTimeout time.Duration
	// Env adds or overrides environment variables, e.g. "PAYMENT_PSP_ATTEMPTS=3";
	// OTEL_* ones go to every process.
	Env []string
	// SecondGateway starts another gateway replica, "gateway2", sharing
	// the first one's Redis keys, JetStream stream and consumer groups.
	SecondGateway bool
	// PostgresSettings are run-time settings of every service's database
	// sessions, put in its DSN, e.g. "lock_timeout=500ms".
	PostgresSettings []string
	// Replicas runs that many processes of each of order, payment,
	// compensation and gateway (0 or 1: one each). Replica n > 1 of a service
	// is named <service><n> ("order2") and shares the first one's database,
	// consumer groups, Redis keys and JetStream stream. With more than one
	// order replica the gateways (and Orders) call them through Balancer, a
	// health-aware round-robin reverse proxy. Two gateway replicas are what
	// SecondGateway starts too: "gateway" and "gateway2".
	Replicas int
	// Proxied puts a toxiproxy proxy (ToxiproxyURL's server, which
	// scripts/infra.sh starts) between the services and each of Postgres,
	// Redis, NATS and the PSP, for faults on those links: see Proxy. Kafka is
	// not proxied: its clients reconnect to the address the broker
	// advertises, not to the one they were given.
	Proxied bool
}

// System is one running deployment of orderflow: every service as its own
// process, with databases and topics no other test shares.
type System struct {
	t       testing.TB
	procs   map[string]*process
	names   []string // process names in start order
	dsns    map[string]string
	binDir  string
	Orders  *orderclient.Client
	PSP     *pspclient.Client
	Prefix  string
	LogDir  string
	httpCli *http.Client
	// ServiceToken is the deployment's service token: every process is
	// given it, and Orders, PSP and Payment send it. Tests that call an
	// internal service with a client of their own must send it too.
	ServiceToken string
	// AuthDir is the deployment's development issuer (made by the token
	// tool, as make run does): the gateways trust its key set, and Token
	// signs customer tokens with it.
	AuthDir string
	// GraphiQLCustomer is the customer whose token prefills GraphiQL's
	// headers pane.
	GraphiQLCustomer string

	// The gateway's isolation: Redis key prefix, JetStream stream and
	// subject prefix of this deployment.
	RedisPrefix, NATSStream, NATSSubjectPrefix string

	// Balancer is the reverse proxy in front of the order replicas (nil
	// with one replica).
	Balancer *Balancer
	proxies  *proxies // nil unless Options.Proxied
}

// Start starts every service of a new deployment from the binaries in binDir
// and waits until each answers /readyz. Everything stops when the test ends.
func Start(t testing.TB, binDir string, opts Options) *System {
	t.Helper()
	if opts.PaymentTimeout == 0 {
		opts.PaymentTimeout = 30 * time.Second
	}
	id := testenv.UniqueName("e2e")
	authDir := t.TempDir()
	tokenTool(t, binDir, "-init", "-dir", authDir)
	token := tokenTool(t, binDir, "-service", "-dir", authDir)
	s := &System{
		t: t, procs: map[string]*process{}, dsns: map[string]string{}, binDir: binDir,
		AuthDir: authDir, GraphiQLCustomer: uuid.NewString(),
		Prefix:            id + ".",
		LogDir:            t.TempDir(),
		httpCli:           &http.Client{Timeout: 10 * time.Second, Transport: auth.ServiceTransport(token, orderclient.NewTransport())},
		ServiceToken:      token,
		RedisPrefix:       id + ":rm:",
		NATSStream:        strings.ToUpper(id),
		NATSSubjectPrefix: id + ".",
	}
	s.names = processNames(opts)
	if opts.Proxied {
		s.proxies = newProxies(t, id)
	}
	common := []string{
		"KAFKA_BROKERS=" + testenv.KafkaBrokers(),
		"TOPIC_PREFIX=" + s.Prefix,
		"TOPIC_PARTITIONS=3",
		"SERVICE_TOKEN=" + token, // every service, the gateway too (it calls the order service)
	}
	urls := map[string]string{}
	for i, addr := range freeAddrs(t, len(s.names)) {
		name := s.names[i]
		if binary(name) != "gateway" {
			if first := binary(name); first != name { // a replica shares the first one's database
				s.dsns[name] = s.dsns[first]
			} else {
				s.dsns[name] = withSettings(testenv.PostgresDatabase(t), opts.PostgresSettings)
			}
		}
		urls[name] = "http://" + addr
	}
	orderURL := urls["order"]
	if replicas := s.replicasOf("order"); len(replicas) > 1 {
		var backends []string
		for _, r := range replicas {
			backends = append(backends, urls[r])
		}
		s.Balancer = startBalancer(t, backends)
		orderURL = s.Balancer.URL
	}
	// What the processes are given: the servers themselves, or the
	// deployment's proxies in front of them.
	pspURL, redisAddr, natsURL := urls["paymentgateway"], testenv.RedisAddr(), testenv.NATSURL()
	if s.proxies != nil {
		pspURL = "http://" + s.proxies.add(t, ProxyPSP, strings.TrimPrefix(urls["paymentgateway"], "http://"))
		redisAddr = s.proxies.add(t, ProxyRedis, testenv.RedisAddr())
		natsURL = "nats://" + s.proxies.add(t, ProxyNATS, hostPort(t, testenv.NATSURL()))
		s.proxies.add(t, ProxyPostgres, hostPort(t, testenv.PostgresAdminDSN()))
	}
	for _, name := range s.names {
		prefix := envPrefix(binary(name))
		dsn := s.dsns[name]
		if s.proxies != nil && dsn != "" {
			dsn = withHost(t, dsn, s.proxies.listen[ProxyPostgres])
		}
		env := []string{
			prefix + "HTTP_ADDR=" + strings.TrimPrefix(urls[name], "http://"),
			prefix + "POSTGRES_DSN=" + dsn,
		}
		for _, c := range common {
			env = append(env, prefix+c)
		}
		switch binary(name) {
		case "payment":
			env = append(env, prefix+"PSP_URL="+pspURL)
		case "compensation":
			env = append(env, prefix+"PAYMENT_TIMEOUT="+opts.PaymentTimeout.String())
		case "gateway":
			env = append(env, prefix+"ORDER_URL="+orderURL, prefix+"PAYMENT_URL="+urls["payment"],
				prefix+"COMPENSATION_URL="+urls["compensation"], prefix+"REDIS_ADDR="+redisAddr,
				prefix+"REDIS_PREFIX="+s.RedisPrefix, prefix+"NATS_URL="+natsURL,
				prefix+"NATS_STREAM="+s.NATSStream, prefix+"NATS_SUBJECT_PREFIX="+s.NATSSubjectPrefix,
				prefix+"AUTH_JWKS="+filepath.Join(authDir, auth.JWKSFile),
				prefix+"GRAPHIQL=true", prefix+"INTROSPECTION=true",
				prefix+"GRAPHIQL_TOKEN="+s.Token(s.GraphiQLCustomer, false))
		}
		for _, e := range opts.Env {
			if strings.HasPrefix(e, prefix) || strings.HasPrefix(e, "OTEL_") {
				env = append(env, e)
			}
		}
		s.procs[name] = &process{
			name: name, bin: binPath(binDir, binary(name)), env: env, baseURL: urls[name],
			logPath: filepath.Join(s.LogDir, name+".log"),
		}
	}
	t.Cleanup(func() {
		for _, name := range s.names {
			_ = s.procs[name].signal(syscall.SIGTERM, 15*time.Second)
		}
		if t.Failed() {
			for _, name := range s.names {
				t.Logf("--- %s log tail ---\n%s", name, s.procs[name].tail(40))
			}
		}
		s.cleanupDerived()
	})
	for _, name := range s.names {
		s.StartService(name)
	}
	s.Orders = orderclient.New(orderURL, s.httpCli)
	s.PSP = pspclient.New(urls["paymentgateway"], s.httpCli)
	return s
}

// StartService starts one service and waits until it is ready.
func (s *System) StartService(name string) {
	s.t.Helper()
	if err := s.Launch(context.Background(), name); err != nil {
		s.t.Fatal(err)
	}
}

// Launch starts one service and waits until it is ready, like
// StartService, but returns what went wrong instead of failing the test:
// for goroutines other than the test's (a nemesis) and for starts that may
// fail while a server is away.
func (s *System) Launch(ctx context.Context, name string) error {
	p := s.procs[name]
	if err := p.start(); err != nil {
		return err
	}
	return p.waitReady(ctx, 60*time.Second)
}

// Kill stops a service with SIGKILL: no shutdown, no flush, like a crash.
func (s *System) Kill(name string) {
	s.t.Helper()
	if err := s.Crash(name); err != nil {
		s.t.Fatal(err)
	}
}

// Crash is Kill returning its error instead of failing the test.
func (s *System) Crash(name string) error {
	return s.procs[name].signal(syscall.SIGKILL, 10*time.Second)
}

// WaitReady waits until a running service answers /readyz, up to timeout.
func (s *System) WaitReady(ctx context.Context, name string, timeout time.Duration) error {
	return s.procs[name].waitReady(ctx, timeout)
}

// Running reports whether a service's process is running (started and not
// stopped or killed by the harness; one that died by itself still counts
// until it is stopped).
func (s *System) Running(name string) bool { return s.PID(name) != 0 }

// Stop stops a service gracefully with SIGTERM.
func (s *System) Stop(name string) {
	s.t.Helper()
	if err := s.Terminate(name); err != nil {
		s.t.Fatal(err)
	}
}

// Terminate is Stop returning its error instead of failing the test.
func (s *System) Terminate(name string) error {
	return s.procs[name].signal(syscall.SIGTERM, 20*time.Second)
}

// Payment is the payment service's view of an order's payment.
type Payment struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Amount      int64  `json:"amount"`
	ChargeID    string `json:"chargeId"`
	FailureCode string `json:"failureCode"`
}

// Payment returns the payment of an order, or ok=false if none exists yet.
func (s *System) Payment(ctx context.Context, orderID string) (Payment, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.procs["payment"].baseURL+"/v1/payments/"+orderID, nil)
	if err != nil {
		return Payment{}, false, err
	}
	resp, err := s.httpCli.Do(req)
	if err != nil {
		return Payment{}, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return Payment{}, false, nil
	}
	if resp.StatusCode != http.StatusOK {
		return Payment{}, false, fmt.Errorf("payment service answered %s", resp.Status)
	}
	var p Payment
	return p, true, json.NewDecoder(resp.Body).Decode(&p)
}

// WaitOrder waits until the order has status and returns it.
func (s *System) WaitOrder(id, status string, timeout time.Duration) api.Order {
	s.t.Helper()
	var o api.Order
	testenv.Eventually(s.t, timeout, func() error {
		var err error
		o, err = s.Orders.GetOrder(context.Background(), id)
		if err != nil {
			return err
		}
		if o.Status != status {
			return fmt.Errorf("order %s is %s, waiting for %s", id, o.Status, status)
		}
		return nil
	})
	return o
}

// WaitPayment waits until the order's payment has status and returns it.
func (s *System) WaitPayment(orderID, status string, timeout time.Duration) Payment {
	s.t.Helper()
	var p Payment
	testenv.Eventually(s.t, timeout, func() error {
		got, ok, err := s.Payment(context.Background(), orderID)
		if err != nil {
			return err
		}
		if !ok || got.Status != status {
			return fmt.Errorf("payment of %s is %q, waiting for %s", orderID, got.Status, status)
		}
		p = got
		return nil
	})
	return p
}

// CheckInvariants runs the invariant checker on this deployment's stores and
// fails the test on a violation.
func (s *System) CheckInvariants() invariants.Report {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	report, err := invariants.Check(ctx, invariants.Sources{
		OrderDSN: s.dsns["order"], PaymentDSN: s.dsns["payment"], CompensationDSN: s.dsns["compensation"],
		PSPURL: s.procs["paymentgateway"].baseURL, ServiceToken: s.ServiceToken,
	})
	if err != nil {
		s.t.Fatalf("invariant checker: %v", err)
	}
	var b strings.Builder
	report.Print(&b)
	s.t.Log("\n" + b.String())
	if !report.OK() {
		s.t.Fatalf("invariants violated:\n%s", b.String())
	}
	return report
}

// Token returns a customer's token (an admin's if admin), valid for an
// hour, from the token tool — the way a user of make run gets one.
func (s *System) Token(customer string, admin bool) string {
	s.t.Helper()
	args := []string{"-customer", customer}
	if admin {
		args = append(args, "-admin")
	}
	return s.TokenTool(args...)
}

// TokenTool runs the token tool with this deployment's issuer and args
// (such as -ttl or -audience) and returns what it printed.
func (s *System) TokenTool(args ...string) string {
	s.t.Helper()
	return s.TokenToolIn(s.AuthDir, args...)
}

// TokenToolIn runs the token tool with the issuer in dir (created if
// missing: another issuer than the deployment's).
func (s *System) TokenToolIn(dir string, args ...string) string {
	s.t.Helper()
	return tokenTool(s.t, s.binDir, append([]string{"-dir", dir}, args...)...)
}

// tokenTool runs bin/token and returns what it printed.
func tokenTool(t testing.TB, binDir string, args ...string) string {
	t.Helper()
	out, err := exec.Command(binPath(binDir, "token"), args...).Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("token %s: %v: %s", strings.Join(args, " "), err, exit.Stderr)
		}
		t.Fatalf("token %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// binary is the program a process name runs: "gateway2" is a gateway.
func binary(name string) string { return strings.TrimRight(name, "0123456789") }

// Replicated are the services Options.Replicas multiplies (the PSP stays
// one process: it stands for an external processor).
var Replicated = []string{"order", "payment", "compensation", "gateway"}

// processNames lists a deployment's processes in start order: each
// service's replicas after it.
func processNames(opts Options) []string {
	var names []string
	for _, svc := range Services {
		names = append(names, svc)
		n := 1
		if slices.Contains(Replicated, svc) {
			n = max(n, opts.Replicas)
		}
		if svc == "gateway" && opts.SecondGateway {
			n = max(n, 2)
		}
		for i := 2; i <= n; i++ {
			names = append(names, svc+strconv.Itoa(i))
		}
	}
	return names
}

// replicasOf returns the process names that run service, in start order.
func (s *System) replicasOf(service string) []string {
	var out []string
	for _, name := range s.names {
		if binary(name) == service {
			out = append(out, name)
		}
	}
	return out
}

// Replicas returns the process names that run service ("order", "order2").
func (s *System) Replicas(service string) []string { return s.replicasOf(service) }

// withSettings adds Postgres run-time settings to a DSN's query.
func withSettings(dsn string, settings []string) string {
	for _, setting := range settings {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		dsn += sep + setting
	}
	return dsn
}

// withHost returns dsn (a URL) pointed at another host:port.
func withHost(t testing.TB, dsn, hostport string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse DSN: %v", err)
	}
	u.Host = hostport
	return u.String()
}

// hostPort is the host:port of a URL such as nats://127.0.0.1:4222.
func hostPort(t testing.TB, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		t.Fatalf("no host:port in %q: %v", raw, err)
	}
	return u.Host
}

// Env returns the environment a process was started with (for running a
// tool such as rebuild-readmodels against the same deployment).
func (s *System) Env(name string) []string { return s.procs[name].env }

// Bin returns the path of a built program.
func (s *System) Bin(program string) string { return binPath(s.binDir, program) }

// DSN returns the database of a service.
func (s *System) DSN(service string) string { return s.dsns[service] }

// PID returns the process id of a running service (0 if it is not running).
func (s *System) PID(service string) int {
	p := s.procs[service]
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Names returns the deployment's process names, in start order.
func (s *System) Names() []string { return append([]string(nil), s.names...) }

// URL returns the base URL of a service.
func (s *System) URL(service string) string { return s.procs[service].baseURL }

// freeAddrs returns n distinct loopback addresses no one listens on. Every
// port is held until all are chosen: a port closed at once is the kernel's
// next answer to the following request, and two services given one port
// collide at start.
func freeAddrs(t testing.TB, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		addrs[i] = ln.Addr().String()
	}
	return addrs
}
