package payment_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/payment"
	"github.com/orderflow/orderflow/payment/domain"
	"github.com/orderflow/orderflow/paymentgateway/gatewaytest"
	"github.com/orderflow/orderflow/platform/envconfig"
	"github.com/orderflow/orderflow/platform/logging"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

// childEnv, when set, makes the test binary run the payment service from
// the PAYMENT_* environment instead of the tests: a real process that a
// test can SIGKILL.
const childEnv = "PAYMENT_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

func runChild() int {
	cfg := payment.DefaultConfig()
	log := logging.New(os.Stderr, "payment-child", slog.LevelWarn)
	if err := envconfig.LoadFrom(payment.EnvPrefix, &cfg, os.LookupEnv); err != nil {
		log.Error("config", "err", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := payment.Run(ctx, cfg, log, nil); err != nil {
		log.Error("run", "err", err)
		return 1
	}
	return 0
}

// A payment service killed (SIGKILL) after a payment's request committed and
// while its charge was under way — the PSP had charged, the answer never
// arrived — leaves the charge owed; the next service's sweep charges it
// again with the same idempotency key: the payment ends captured, with
// exactly one charge at the PSP, and its events are recorded once.
//
// Without the sweep (payment.go not running it) the payment stays PENDING
// and the test fails: the service no longer reads its own PaymentRequested.
func TestAChargeInterruptedByAKillIsChargedOnceByTheSweep(t *testing.T) {
	ctx := testenv.Context(t, 2*time.Minute)
	gw := gatewaytest.Start(t)
	codec := schema.NewCodec(schema.NewRegistry())

	// The PSP the first process sees charges, then never answers.
	upstream, err := url.Parse(gw.URL)
	require.NoError(t, err)
	forward := httputil.NewSingleHostReverseProxy(upstream)
	charged := make(chan struct{}, 16)
	forward.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method == http.MethodPost && resp.Request.URL.Path == "/v1/charges" {
			charged <- struct{}{}
			<-resp.Request.Context().Done()
		}
		return nil
	}
	holding := httptest.NewServer(forward)
	t.Cleanup(holding.Close)

	cfg := testConfig(t, holding.URL)
	cfg.PSP.Timeout = 20 * time.Second // the first process waits for the answer
	cfg.PSP.Attempts = 1
	cfg.Charges.SweepGrace = time.Second
	cfg.Charges.SweepInterval = 200 * time.Millisecond
	port := freePort(t)

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"=1",
		"PAYMENT_HTTP_ADDR=127.0.0.1:"+port,
		"PAYMENT_POSTGRES_DSN="+cfg.Service.PostgresDSN,
		"PAYMENT_KAFKA_BROKERS="+cfg.Service.KafkaBrokers,
		"PAYMENT_TOPIC_PREFIX="+cfg.Service.TopicPrefix,
		"PAYMENT_TOPIC_PARTITIONS="+strconv.Itoa(cfg.Service.TopicPartitions),
		"PAYMENT_CONSUMER_GROUP="+cfg.Service.ConsumerGroup,
		"PAYMENT_PSP_URL="+holding.URL,
		"PAYMENT_PSP_TIMEOUT="+cfg.PSP.Timeout.String(),
		"PAYMENT_PSP_ATTEMPTS=1",
		"PAYMENT_SWEEP_GRACE="+cfg.Charges.SweepGrace.String(),
		"PAYMENT_SWEEP_INTERVAL="+cfg.Charges.SweepInterval.String(),
		"PAYMENT_SERVICE_TOKEN="+cfg.Service.ServiceToken,
	)
	child.Stdout, child.Stderr = os.Stderr, os.Stderr
	require.NoError(t, child.Start())
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = child.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = child.Process.Kill()
		<-exited
	})
	testenv.Eventually(t, 60*time.Second, func() error {
		resp, err := http.Get("http://127.0.0.1:" + port + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz: %d", resp.StatusCode)
		}
		return nil
	})

	orderID := uuid.NewString()
	topics := schema.TopicsWithPrefix(cfg.Service.TopicPrefix)
	produce(t, topics.Order, orderCreated(t, codec, orderID, "tok_visa"))
	select {
	case <-charged:
	case <-time.After(60 * time.Second):
		t.Fatal("the first process never charged")
	case <-exited:
		t.Fatalf("the first process exited: %v", exitErr)
	}
	require.NoError(t, child.Process.Signal(syscall.SIGKILL))
	<-exited
	paymentID := domain.PaymentID(orderID)
	require.Len(t, pspCharges(ctx, t, gw.Client, paymentID), 1, "the PSP charged before the kill")

	// The next process calls the PSP directly.
	cfg.PSP.URL = gw.URL
	cfg.PSP.Timeout = 500 * time.Millisecond
	cfg.PSP.Attempts = 5
	svc := startPaymentWith(t, cfg)
	p := svc.waitForStatus(t, orderID, domain.StatusCaptured)
	charges := pspCharges(ctx, t, gw.Client, paymentID)
	require.Len(t, charges, 1, "charged again with the same key: a replay, not a second charge")
	require.Equal(t, charges[0].ID, p.ChargeID)

	events := eventsByOrder(t, codec, testenv.ReadTopic(t, topics.Payment, 2, 30*time.Second, 2*time.Second))
	require.Equal(t, []string{schema.TypePaymentRequested, schema.TypePaymentCaptured}, types(events[orderID]),
		"requested once, captured once")
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}
