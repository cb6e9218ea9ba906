package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
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
	s.names = append([]string(nil), Services...)
	if opts.SecondGateway {
		s.names = append(s.names, "gateway2")
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
			s.dsns[name] = testenv.PostgresDatabase(t)
			for _, setting := range opts.PostgresSettings {
				sep := "?"
				if strings.Contains(s.dsns[name], "?") {
					sep = "&"
				}
				s.dsns[name] += sep + setting
			}
		}
		urls[name] = "http://" + addr
	}
	for _, name := range s.names {
		prefix := envPrefix(binary(name))
		env := []string{
			prefix + "HTTP_ADDR=" + strings.TrimPrefix(urls[name], "http://"),
			prefix + "POSTGRES_DSN=" + s.dsns[name],
		}
		for _, c := range common {
			env = append(env, prefix+c)
		}
		switch name {
		case "payment":
			env = append(env, prefix+"PSP_URL="+urls["paymentgateway"])
		case "compensation":
			env = append(env, prefix+"PAYMENT_TIMEOUT="+opts.PaymentTimeout.String())
		case "gateway", "gateway2":
			env = append(env, prefix+"ORDER_URL="+urls["order"], prefix+"PAYMENT_URL="+urls["payment"],
				prefix+"COMPENSATION_URL="+urls["compensation"], prefix+"REDIS_ADDR="+testenv.RedisAddr(),
				prefix+"REDIS_PREFIX="+s.RedisPrefix, prefix+"NATS_URL="+testenv.NATSURL(),
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
	s.Orders = orderclient.New(urls["order"], s.httpCli)
	s.PSP = pspclient.New(urls["paymentgateway"], s.httpCli)
	return s
}

// StartService starts one service and waits until it is ready.
func (s *System) StartService(name string) {
	s.t.Helper()
	p := s.procs[name]
	if err := p.start(); err != nil {
		s.t.Fatal(err)
	}
	if err := p.waitReady(context.Background(), 60*time.Second); err != nil {
		s.t.Fatal(err)
	}
}

// Kill stops a service with SIGKILL: no shutdown, no flush, like a crash.
func (s *System) Kill(name string) {
	s.t.Helper()
	if err := s.procs[name].signal(syscall.SIGKILL, 10*time.Second); err != nil {
		s.t.Fatal(err)
	}
}

// Stop stops a service gracefully with SIGTERM.
func (s *System) Stop(name string) {
	s.t.Helper()
	if err := s.procs[name].signal(syscall.SIGTERM, 20*time.Second); err != nil {
		s.t.Fatal(err)
	}
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
