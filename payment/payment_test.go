package payment_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/payment"
	"github.com/orderflow/orderflow/payment/domain"
	"github.com/orderflow/orderflow/paymentgateway/client"
	"github.com/orderflow/orderflow/paymentgateway/gatewaytest"
	"github.com/orderflow/orderflow/platform/auth"
	"github.com/orderflow/orderflow/platform/broker"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/logging"
	"github.com/orderflow/orderflow/platform/metrics/metricstest"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

// The whole payment service against real Postgres, Kafka and the real
// payment gateway: every charge outcome of docs/saga.md, redeliveries that
// must not charge twice, and a refund.
func TestPaymentServiceChargesEachOrderOnceAndRefunds(t *testing.T) {
	ctx := testenv.Context(t, 2*time.Minute)
	gw := gatewaytest.Start(t)
	svc := startPayment(t, gw.URL)
	codec := schema.NewCodec(schema.NewRegistry())

	// Phase 1: one new order per PSP behaviour.
	orders := []struct {
		method   string
		status   domain.Status
		code     string
		attempts int
		charges  int // charges the PSP holds for the payment afterwards
	}{
		{method: "tok_visa", status: domain.StatusCaptured, charges: 1},
		{method: "tok_chargeDeclined", status: domain.StatusDeclined, code: "card_declined", charges: 1},
		{method: "tok_insufficientFunds", status: domain.StatusDeclined, code: "insufficient_funds", charges: 1},
		{method: "tok_flaky", status: domain.StatusCaptured, charges: 1},
		{method: "tok_slow", status: domain.StatusCaptured, charges: 1},
		{method: "tok_unavailable", status: domain.StatusFailed, code: "psp_unavailable", attempts: 5, charges: 0},
	}
	ids := make([]string, len(orders))
	created := make([]*kafka.Message, len(orders))
	for i, o := range orders {
		ids[i] = uuid.NewString()
		created[i] = orderCreated(t, codec, ids[i], o.method)
	}
	produce(t, svc.topics.Order, created...)

	for i, o := range orders {
		t.Run(o.method, func(t *testing.T) {
			p := svc.waitForStatus(t, ids[i], o.status)
			require.Equal(t, domain.PaymentID(ids[i]), p.ID)
			require.EqualValues(t, 2500, p.Amount)
			require.Equal(t, o.code, p.FailureCode)
			require.Equal(t, o.attempts, p.Attempts)
			if o.status == domain.StatusCaptured {
				require.NotEmpty(t, p.ChargeID)
			}
			charges := pspCharges(ctx, t, gw.Client, p.ID)
			require.Len(t, charges, o.charges, "the PSP holds one charge per payment, whatever the retries")
			for _, ch := range charges {
				require.EqualValues(t, 2500, ch.Amount)
				if o.status == domain.StatusCaptured {
					require.Equal(t, p.ChargeID, ch.ID)
				}
			}
		})
	}

	// The payment topic tells the story in order, each event caused by the
	// one before, keyed and correlated by the order id.
	byOrder := eventsByOrder(t, codec, testenv.ReadTopic(t, svc.topics.Payment, 2*len(orders), 30*time.Second, 0))
	for i, o := range orders {
		events := byOrder[ids[i]]
		require.Len(t, events, 2, o.method)
		requested, outcome := events[0], events[1]
		require.Equal(t, schema.TypePaymentRequested, requested.Type)
		require.Equal(t, schema.PaymentRequested{PaymentID: domain.PaymentID(ids[i]), OrderID: ids[i], Amount: 2500,
			Currency: "EUR", PaymentMethod: o.method}, requested.Payload)
		require.Equal(t, envelopeID(t, codec, created[i]), requested.CausationID, "caused by OrderCreated")
		require.Equal(t, requested.ID, outcome.CausationID, "caused by PaymentRequested")
		require.Equal(t, []int{1, 2}, []int{requested.Version, outcome.Version})
		want := map[domain.Status]string{domain.StatusCaptured: schema.TypePaymentCaptured,
			domain.StatusDeclined: schema.TypePaymentDeclined, domain.StatusFailed: schema.TypePaymentFailed}[o.status]
		require.Equal(t, want, outcome.Type, o.method)
	}

	// Phase 2: redeliveries change nothing; a refund request refunds once;
	// a refund that can never be made is dead-lettered with its reason.
	visa, declined := ids[0], ids[1]
	replayed := orderCreated(t, codec, visa, "tok_visa") // the same order again, under a new event id
	produce(t, svc.topics.Order, created[0], replayed, created[0])

	captured := byOrder[visa][1].Payload.(schema.PaymentCaptured)
	refund := compensationEvent(t, codec, visa, schema.RefundRequested{OrderID: visa, PaymentID: captured.PaymentID,
		ChargeID: captured.ChargeID, Amount: captured.Amount})
	declinedPayment := byOrder[declined][1].Payload.(schema.PaymentDeclined)
	impossible := compensationEvent(t, codec, declined, schema.RefundRequested{OrderID: declined,
		PaymentID: declinedPayment.PaymentID, ChargeID: "ch_never_captured", Amount: 2500})
	produce(t, svc.topics.Compensation, refund, refund, impossible)

	p := svc.waitForStatus(t, visa, domain.StatusRefunded)
	require.NotEmpty(t, p.RefundID)
	require.Equal(t, captured.ChargeID, p.ChargeID)

	dead := testenv.ReadTopic(t, svc.topics.DeadLetter, 1, 30*time.Second, 0)
	require.Len(t, dead, 1)
	require.Equal(t, declined, string(dead[0].Key))
	require.Contains(t, testenv.Header(dead[0], consumer.HeaderDLQReason), "cannot refund a DECLINED payment")

	svc.waitConsumed(t)
	// The service must have added only the refund.
	all := eventsByOrder(t, codec, testenv.ReadTopic(t, svc.topics.Payment, 2*len(orders)+1,
		30*time.Second, 2*time.Second))
	require.Len(t, all[visa], 3)
	visaEvents := all[visa]
	require.Equal(t, []string{schema.TypePaymentRequested, schema.TypePaymentCaptured, schema.TypePaymentRefunded},
		types(visaEvents), "requested, captured, refunded: nothing twice")
	refunded := visaEvents[2]
	require.Equal(t, schema.TypePaymentRefunded, refunded.Type)
	require.Equal(t, schema.PaymentRefunded{PaymentID: captured.PaymentID, OrderID: visa, Amount: 2500,
		ChargeID: captured.ChargeID, RefundID: p.RefundID}, refunded.Payload)
	for _, id := range ids[1:] {
		require.Len(t, all[id], 2)
	}

	charges := pspCharges(ctx, t, gw.Client, captured.PaymentID)
	require.Len(t, charges, 1, "redelivered and replayed OrderCreated did not charge again")
	require.True(t, charges[0].Refunded)
	require.Len(t, charges[0].Refunds, 1)
	require.Equal(t, p.RefundID, charges[0].Refunds[0].ID)

	// Prometheus sees each PSP call by its outcome, the consumer's work and
	// dead letter, the outbox; and the gateway's own requests by route.
	s := metricstest.Get(t, svc.url)
	psp := "orderflow_payment_psp_request_duration_seconds"
	s.Require(t, 3, psp, "call", "charge", "outcome", "captured") // visa, flaky, slow (found by the retry)
	s.Require(t, 2, psp, "call", "charge", "outcome", "declined")
	s.Require(t, 2, psp, "call", "charge", "outcome", "unavailable") // flaky's 503s, and unavailable's
	s.Require(t, 1, psp, "call", "charge", "outcome", "timeout")     // slow
	s.Require(t, 1, psp, "call", "refund", "outcome", "refunded")
	s.Require(t, 1, "orderflow_consumer_messages_total", "topic", svc.topics.Order, "outcome", consumer.OutcomeOK)
	s.Require(t, 1, "orderflow_consumer_dead_letters_total", "topic", svc.topics.Compensation, "reason", "permanent")
	s.Require(t, 13, "orderflow_outbox_published_total")
	s.Require(t, 0, "process_cpu_seconds_total")

	g := metricstest.Get(t, gw.URL)
	g.Require(t, 6, "orderflow_http_requests_total", "method", "POST", "route", "POST /v1/charges")
	g.Require(t, 1, "orderflow_http_requests_total", "route", "POST /v1/charges", "code", "503")
	g.Require(t, 1, "orderflow_http_requests_total", "route", "POST /v1/refunds")
	g.Require(t, 1, "go_goroutines")
}

func TestPaymentServiceHTTP(t *testing.T) {
	gw := gatewaytest.Start(t)
	svc := startPayment(t, gw.URL)

	resp, err := http.Get(svc.url + "/readyz") // the health checks need no token
	require.NoError(t, err)
	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&ready))
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "ready: %v", ready.Checks)
	require.Equal(t, "ok", ready.Checks["psp"], "the PSP is a readiness check")
	resp, err = http.Get(svc.url + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	path := "/v1/payments/" + uuid.NewString()
	for _, hc := range []*http.Client{http.DefaultClient, {Transport: auth.ServiceTransport("wrong-service-token-0123456789", nil)}} {
		resp, err = hc.Get(svc.url + path)
		require.NoError(t, err)
		var body struct {
			Error struct{ Code string } `json:"error"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "without the service token")
		require.Equal(t, "UNAUTHENTICATED", body.Error.Code)
	}

	resp, err = withToken.Get(svc.url + path)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
}

// withToken sends testenv.ServiceToken, which the services the tests start
// want.
var withToken = &http.Client{Transport: auth.ServiceTransport(testenv.ServiceToken, nil)}

// service is a running payment.Run on topics and a database of its own.
type service struct {
	url    string
	topics schema.Topics
	group  string
}

func startPayment(t *testing.T, pspURL string) *service {
	t.Helper()
	return startPaymentWith(t, testConfig(t, pspURL))
}

// testConfig is the configuration of a payment service on a database and
// topics of its own, calling the PSP at pspURL.
func testConfig(t *testing.T, pspURL string) payment.Config {
	t.Helper()
	cfg := payment.DefaultConfig()
	cfg.Service.HTTPAddr = "127.0.0.1:0"
	cfg.Service.PostgresDSN = testenv.PostgresDatabase(t)
	cfg.Service.KafkaBrokers = testenv.KafkaBrokers()
	cfg.Service.TopicPrefix = testenv.UniqueName("t") + "."
	cfg.Service.TopicPartitions = 3
	cfg.Service.ConsumerGroup = testenv.UniqueName("payment")
	cfg.Service.ShutdownWait = 5 * time.Second
	cfg.Service.ServiceToken = testenv.ServiceToken
	cfg.PSP.URL = pspURL
	cfg.PSP.Timeout = 500 * time.Millisecond // tok_slow answers after gatewaytest.SlowDelay
	cfg.PSP.BackoffInitial = 20 * time.Millisecond
	cfg.PSP.BackoffMax = 100 * time.Millisecond
	return cfg
}

func startPaymentWith(t *testing.T, cfg payment.Config) *service {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	log := logging.New(t.Output(), "payment", slog.LevelWarn)
	go func() { done <- payment.Run(ctx, cfg, log, ready) }()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("payment service did not start: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("payment service did not start within 60s")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err, "Run returns nil after a clean shutdown")
		case <-time.After(20 * time.Second):
			t.Error("payment service did not stop within 20s")
		}
	})
	return &service{url: "http://" + addr.String(), topics: schema.TopicsWithPrefix(cfg.Service.TopicPrefix),
		group: cfg.Service.ConsumerGroup}
}

// paymentJSON is GET /v1/payments/{orderId}.
type paymentJSON struct {
	ID          string `json:"id"`
	OrderID     string `json:"orderId"`
	Status      string `json:"status"`
	Amount      int64  `json:"amount"`
	ChargeID    string `json:"chargeId"`
	RefundID    string `json:"refundId"`
	FailureCode string `json:"failureCode"`
	Attempts    int    `json:"attempts"`
}

func (s *service) waitForStatus(t *testing.T, orderID string, want domain.Status) paymentJSON {
	t.Helper()
	var p paymentJSON
	testenv.Eventually(t, 45*time.Second, func() error {
		resp, err := withToken.Get(s.url + "/v1/payments/" + orderID)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET payment: status %d", resp.StatusCode)
		}
		p = paymentJSON{}
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
			return err
		}
		if p.Status != string(want) {
			return fmt.Errorf("payment of order %s is %s, want %s", orderID, p.Status, want)
		}
		return nil
	})
	return p
}

// waitConsumed waits until the service's consumer group has committed every
// message of its topics: whatever was produced has been handled.
func (s *service) waitConsumed(t *testing.T) {
	t.Helper()
	kc, err := kafka.NewConsumer(broker.ConsumerConfig(testenv.KafkaBrokers(), s.group))
	require.NoError(t, err)
	defer kc.Close()
	var tps []kafka.TopicPartition
	for _, topic := range []string{s.topics.Order, s.topics.Compensation} {
		n, err := broker.Partitions(kc, topic, 10*time.Second)
		require.NoError(t, err)
		for p := range n {
			tps = append(tps, kafka.TopicPartition{Topic: &topic, Partition: int32(p)})
		}
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		committed, err := kc.Committed(tps, 5_000)
		if err != nil {
			return err
		}
		for _, tp := range committed {
			_, high, err := kc.QueryWatermarkOffsets(*tp.Topic, tp.Partition, 5_000)
			if err != nil {
				return err
			}
			if high > 0 && int64(tp.Offset) != high {
				return fmt.Errorf("%s/%d committed %v of %d", *tp.Topic, tp.Partition, tp.Offset, high)
			}
		}
		return nil
	})
}

func orderCreated(t *testing.T, codec *schema.Codec, orderID, method string) *kafka.Message {
	t.Helper()
	return message(t, codec, schema.New(schema.AggregateOrder, orderID, schema.OrderCreated{
		OrderID: orderID, CustomerID: uuid.NewString(), Currency: "EUR",
		Items: []schema.OrderItem{{SKU: "sku-1", Quantity: 2, UnitPrice: 1250}}, Total: 2500, PaymentMethod: method,
	}, schema.Cause{CorrelationID: orderID}, time.Now()))
}

func compensationEvent(t *testing.T, codec *schema.Codec, orderID string, ev schema.Event) *kafka.Message {
	t.Helper()
	return message(t, codec, schema.New(schema.AggregateCompensation, orderID, ev,
		schema.Cause{CorrelationID: orderID, CausationID: uuid.NewString()}, time.Now()))
}

// message is env as the outbox relay would publish it.
func message(t *testing.T, codec *schema.Codec, env schema.Envelope) *kafka.Message {
	t.Helper()
	env.Version = 1
	b, err := codec.Encode(env)
	require.NoError(t, err)
	return &kafka.Message{Key: []byte(env.CorrelationID), Value: b, Headers: []kafka.Header{
		{Key: schema.HeaderEventID, Value: []byte(env.ID)},
		{Key: schema.HeaderEventType, Value: []byte(env.Type)},
	}}
}

func envelopeID(t *testing.T, codec *schema.Codec, m *kafka.Message) string {
	t.Helper()
	env, err := codec.Decode(m.Value)
	require.NoError(t, err)
	return env.ID
}

func produce(t *testing.T, topic string, msgs ...*kafka.Message) {
	t.Helper()
	p, err := kafka.NewProducer(broker.ProducerConfig(testenv.KafkaBrokers()))
	require.NoError(t, err)
	defer p.Close()
	delivery := make(chan kafka.Event, len(msgs))
	for _, m := range msgs {
		out := &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key: m.Key, Value: m.Value, Headers: m.Headers}
		require.NoError(t, p.Produce(out, delivery))
	}
	for range msgs {
		require.NoError(t, (<-delivery).(*kafka.Message).TopicPartition.Error)
	}
}

// eventsByOrder decodes msgs and groups them by Kafka key, checking that the
// key is the correlation id.
func eventsByOrder(t *testing.T, codec *schema.Codec, msgs []*kafka.Message) map[string][]schema.Envelope {
	t.Helper()
	out := map[string][]schema.Envelope{}
	for _, m := range msgs {
		env, err := codec.Decode(m.Value)
		require.NoError(t, err)
		require.Equal(t, string(m.Key), env.CorrelationID, "keyed by the order id")
		require.Equal(t, env.ID, testenv.Header(m, schema.HeaderEventID))
		require.Equal(t, env.Type, testenv.Header(m, schema.HeaderEventType))
		out[env.CorrelationID] = append(out[env.CorrelationID], env)
	}
	return out
}

func types(events []schema.Envelope) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Type
	}
	return out
}

func pspCharges(ctx context.Context, t *testing.T, c *client.Client, reference string) []client.Charge {
	t.Helper()
	list, err := c.ListCharges(ctx, client.ListParams{Reference: reference, Limit: 100})
	require.NoError(t, err)
	return list.Data
}
