package order_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/order"
	"github.com/orderflow/orderflow/order/api"
	"github.com/orderflow/orderflow/order/client"
	"github.com/orderflow/orderflow/platform/auth"
	"github.com/orderflow/orderflow/platform/broker"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/logging"
	"github.com/orderflow/orderflow/platform/metrics/metricstest"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

type fixture struct {
	base   string
	client *client.Client
	topics schema.Topics
	pool   *pgxpool.Pool
}

// start runs the order service with the test configuration, changed by
// each of change.
func start(t *testing.T, change ...func(*order.Config)) fixture {
	t.Helper()
	cfg := order.DefaultConfig()
	cfg.Service.HTTPAddr = "127.0.0.1:0"
	cfg.Service.PostgresDSN = testenv.PostgresDatabase(t)
	cfg.Service.KafkaBrokers = testenv.KafkaBrokers()
	cfg.Service.TopicPrefix = testenv.UniqueName("t") + "."
	cfg.Service.TopicPartitions = 2
	cfg.Service.ServiceToken = testenv.ServiceToken
	for _, c := range change {
		c(&cfg)
	}
	log := logging.New(os.Stderr, "order", slog.LevelWarn)
	base, _ := testenv.Serve(t, func(ctx context.Context, ready chan<- net.Addr) error {
		return order.Run(ctx, cfg, log, ready)
	})
	pool, err := pgxpool.New(context.Background(), cfg.Service.PostgresDSN)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return fixture{
		base: base,
		client: client.New(base, &http.Client{Timeout: 10 * time.Second,
			Transport: auth.ServiceTransport(testenv.ServiceToken, client.NewTransport())}),
		topics: schema.TopicsWithPrefix(cfg.Service.TopicPrefix),
		pool:   pool,
	}
}

func validRequest() api.CreateOrderRequest {
	return api.CreateOrderRequest{
		CustomerID: uuid.NewString(), Currency: "EUR", PaymentMethod: "tok_visa",
		Items: []api.Item{{SKU: "book", Quantity: 2, UnitPrice: 1250}},
	}
}

func (f fixture) publish(t *testing.T, payload schema.Event, orderID string) {
	t.Helper()
	codec := schema.NewCodec(schema.NewRegistry())
	aggregate, topic := schema.AggregatePayment, f.topics.Payment
	if _, ok := payload.(schema.PaymentCaptured); !ok {
		aggregate, topic = schema.AggregateCompensation, f.topics.Compensation
	}
	env := schema.New(aggregate, orderID, payload, schema.Cause{CorrelationID: orderID, CausationID: uuid.NewString()}, time.Now())
	env.Version = 1
	b, err := codec.Encode(env)
	require.NoError(t, err)
	p, err := kafka.NewProducer(broker.ProducerConfig(testenv.KafkaBrokers()))
	require.NoError(t, err)
	defer p.Close()
	delivery := make(chan kafka.Event, 1)
	require.NoError(t, p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
		Key: []byte(orderID), Value: b}, delivery))
	require.NoError(t, (<-delivery).(*kafka.Message).TopicPartition.Error)
}

func (f fixture) waitStatus(t *testing.T, id, status string) api.Order {
	t.Helper()
	var o api.Order
	testenv.Eventually(t, 30*time.Second, func() error {
		var err error
		o, err = f.client.GetOrder(context.Background(), id)
		if err == nil && o.Status != status {
			return &client.Error{ErrorDetail: api.ErrorDetail{Message: "status " + o.Status + ", want " + status}}
		}
		return err
	})
	return o
}

func TestCreateStoresAndPublishesOrderCreated(t *testing.T) {
	f := start(t)
	ctx := testenv.Context(t, time.Minute)

	o, err := f.client.CreateOrder(ctx, validRequest())
	require.NoError(t, err)
	require.Equal(t, "PENDING", o.Status)
	require.EqualValues(t, 2500, o.Total, "total computed by the server")
	require.Equal(t, 1, o.Version)

	msgs := testenv.ReadTopic(t, f.topics.Order, 1, 30*time.Second, 0)
	require.Len(t, msgs, 1)
	require.Equal(t, o.ID, string(msgs[0].Key))
	require.Equal(t, schema.TypeOrderCreated, testenv.Header(msgs[0], schema.HeaderEventType))
}

func TestCreateWithIdempotencyKey(t *testing.T) {
	f := start(t)
	ctx := testenv.Context(t, time.Minute)
	req := validRequest()
	req.IdempotencyKey = "checkout-42"

	first, err := f.client.CreateOrder(ctx, req)
	require.NoError(t, err)
	again, err := f.client.CreateOrder(ctx, req)
	require.NoError(t, err)
	require.Equal(t, first.ID, again.ID, "same key and input: the same order")

	req.Items[0].Quantity = 3
	_, err = f.client.CreateOrder(ctx, req)
	require.Equal(t, api.CodeConflict, client.Code(err))
	require.Contains(t, err.Error(), "checkout-42")

	var streams int
	require.NoError(t, f.pool.QueryRow(ctx, "SELECT count(*) FROM streams").Scan(&streams))
	require.Equal(t, 1, streams, "one order stored")
}

func TestBadInputIsRejectedAndStoresNothing(t *testing.T) {
	f := start(t)
	ctx := testenv.Context(t, time.Minute)
	bad := validRequest()
	bad.Currency = "EURO"
	bad.Items[0].Quantity = 0

	_, err := f.client.CreateOrder(ctx, bad)
	require.Equal(t, api.CodeInvalid, client.Code(err))
	var ce *client.Error
	require.ErrorAs(t, err, &ce)
	require.Len(t, ce.Problems, 2)
	require.Equal(t, "currency", ce.Problems[0].Field)
	require.Equal(t, "items[0].quantity", ce.Problems[1].Field)

	_, err = f.client.GetOrder(ctx, "not-a-uuid")
	require.Equal(t, api.CodeInvalid, client.Code(err))
	_, err = f.client.CancelOrder(ctx, uuid.NewString(), api.CancelOrderRequest{})
	require.Equal(t, api.CodeNotFound, client.Code(err))

	var events int
	require.NoError(t, f.pool.QueryRow(ctx, "SELECT count(*) FROM events").Scan(&events))
	require.Zero(t, events)
}

func TestReactsToCaptureAndCompensation(t *testing.T) {
	f := start(t)
	ctx := testenv.Context(t, time.Minute)

	paid, err := f.client.CreateOrder(ctx, validRequest())
	require.NoError(t, err)
	f.publish(t, schema.PaymentCaptured{PaymentID: uuid.NewString(), OrderID: paid.ID, Amount: 2500, ChargeID: "ch_1"}, paid.ID)
	f.waitStatus(t, paid.ID, "PAID")

	// A late timeout decision does not cancel a paid order.
	f.publish(t, schema.CancellationDecided{OrderID: paid.ID, Reason: schema.ReasonPaymentTimeout}, paid.ID)

	declined, err := f.client.CreateOrder(ctx, validRequest())
	require.NoError(t, err)
	f.publish(t, schema.CancellationDecided{OrderID: declined.ID, Reason: schema.ReasonPaymentDeclined}, declined.ID)
	f.waitStatus(t, declined.ID, "CANCELLING")
	f.publish(t, schema.CancellationCompleted{OrderID: declined.ID, Reason: schema.ReasonPaymentDeclined}, declined.ID)
	o := f.waitStatus(t, declined.ID, "CANCELLED")
	require.Equal(t, schema.ReasonPaymentDeclined, o.CancellationReason)

	// Completing a cancellation nobody asked for breaks an invariant: it goes
	// to the dead-letter topic and the order stays as it was.
	f.publish(t, schema.CancellationCompleted{OrderID: paid.ID, Reason: schema.ReasonCustomerRequest}, paid.ID)
	dead := testenv.ReadTopic(t, f.topics.DeadLetter, 1, 30*time.Second, 0)
	require.Len(t, dead, 1)
	require.Contains(t, testenv.Header(dead[0], consumer.HeaderDLQReason), "not CANCELLING")
	o = f.waitStatus(t, paid.ID, "PAID")
	require.Equal(t, 2, o.Version)

	// A customer cancel of a cancelled order changes nothing.
	again, err := f.client.CancelOrder(ctx, declined.ID, api.CancelOrderRequest{Reason: "oops"})
	require.NoError(t, err)
	require.Equal(t, "CANCELLED", again.Status)
	require.Equal(t, 3, again.Version)

	// Prometheus, without the service token, sees all of it: requests by
	// route, the outbox relayed, the consumer's messages and dead letter —
	// and no order id in any label.
	var s metricstest.Scrape
	testenv.Eventually(t, 15*time.Second, func() error {
		s = metricstest.Get(t, f.base)
		if v, _ := s.Value("orderflow_outbox_published_total"); v < 5 {
			return fmt.Errorf("outbox published %v of the 5 events", v)
		}
		if _, ok := s.Value("orderflow_consumer_lag_messages", "topic", f.topics.Compensation); !ok {
			return errors.New("the consumer's lag was not measured yet")
		}
		return nil
	})
	s.Require(t, 2, "orderflow_http_requests_total", "method", "POST", "route", "POST /v1/orders", "code", "201")
	s.Require(t, 2, "orderflow_http_request_duration_seconds", "route", "POST /v1/orders")
	s.Require(t, 1, "orderflow_http_requests_total", "route", "POST /v1/orders/{id}/cancel")
	s.Require(t, 5, "orderflow_outbox_commit_to_ack_seconds")
	s.Require(t, 1, "orderflow_outbox_relay_leader")
	s.Require(t, 0, "orderflow_outbox_pending_rows")
	s.Require(t, 0, "orderflow_outbox_oldest_pending_age_seconds")
	s.Require(t, 1, "orderflow_consumer_messages_total", "topic", f.topics.Payment, "outcome", consumer.OutcomeOK)
	s.Require(t, 3, "orderflow_consumer_messages_total", "topic", f.topics.Compensation, "outcome", consumer.OutcomeOK)
	s.Require(t, 1, "orderflow_consumer_dead_letters_total", "reason", "permanent")
	s.Require(t, 1, "go_goroutines")
	s.Require(t, 0, "process_cpu_seconds_total")
	for name := range s {
		for _, series := range s.Series(name) {
			require.NotContains(t, series, paid.ID, name)
		}
	}
}

// TestGroupCommittedCreatesFailAlone fires concurrent createOrders at the
// service, among them an invalid one, one reusing an idempotency key with
// other input, and two sending the same new key: only the invalid and the
// conflicting fail, each caller gets its own order, and the orders were
// committed together (events that share a transaction share its xmin).
func TestGroupCommittedCreatesFailAlone(t *testing.T) {
	f := start(t)
	ctx := testenv.Context(t, time.Minute)
	taken := validRequest()
	taken.IdempotencyKey = "checkout-1"
	first, err := f.client.CreateOrder(ctx, taken)
	require.NoError(t, err)

	const valid = 24
	reqs := make([]api.CreateOrderRequest, 0, valid+4)
	for i := range valid {
		r := validRequest()
		r.Items[0].Quantity = i + 1 // each answer tells whose it is
		reqs = append(reqs, r)
	}
	invalid := validRequest()
	invalid.Items[0].UnitPrice = 0
	conflicting := taken
	conflicting.Items = []api.Item{{SKU: "book", Quantity: 9, UnitPrice: 1250}}
	twice := validRequest()
	twice.IdempotencyKey = "checkout-2"
	reqs = append(reqs, invalid, conflicting, twice, twice)

	type answer struct {
		order api.Order
		err   error
	}
	answers := make([]answer, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() {
			o, err := f.client.CreateOrder(ctx, r)
			answers[i] = answer{o, err}
		})
	}
	wg.Wait()

	ids := map[string]bool{first.ID: true}
	for i := range valid {
		a := answers[i]
		require.NoError(t, a.err, "valid request %d", i)
		require.Equal(t, reqs[i].CustomerID, a.order.CustomerID, "request %d got its own order", i)
		require.EqualValues(t, 1250*(i+1), a.order.Total, "request %d got its own order", i)
		ids[a.order.ID] = true
	}
	require.Equal(t, api.CodeInvalid, client.Code(answers[valid].err), "the invalid request")
	require.Equal(t, api.CodeConflict, client.Code(answers[valid+1].err), "the key reused with other input")
	require.NoError(t, answers[valid+2].err)
	require.NoError(t, answers[valid+3].err)
	require.Equal(t, answers[valid+2].order.ID, answers[valid+3].order.ID, "one key, one order")
	ids[answers[valid+2].order.ID] = true
	require.Len(t, ids, valid+2)

	rows, err := f.pool.Query(ctx, "SELECT stream_id FROM events")
	require.NoError(t, err)
	stored, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Len(t, stored, valid+2, "exactly the valid orders are stored, each once")
	for _, id := range stored {
		require.True(t, ids[id], "stored order %s was answered to a caller", id)
	}
	var transactions int
	require.NoError(t, f.pool.QueryRow(ctx, "SELECT count(DISTINCT xmin::text) FROM events").Scan(&transactions))
	require.Less(t, transactions, valid+2, "concurrent creates share transactions")
	t.Logf("%d orders in %d transactions", valid+2, transactions)
}

// TestGroupCommittedCancelsOfOneOrder sends concurrent cancels of one order,
// and one of an order that does not exist: every cancel of the order gets it
// CANCELLING, recorded once, and only the unknown one fails.
func TestGroupCommittedCancelsOfOneOrder(t *testing.T) {
	f := start(t)
	ctx := testenv.Context(t, time.Minute)
	o, err := f.client.CreateOrder(ctx, validRequest())
	require.NoError(t, err)

	const cancels = 12
	errs := make([]error, cancels+1)
	got := make([]api.Order, cancels)
	var wg sync.WaitGroup
	for i := range cancels {
		wg.Go(func() {
			got[i], errs[i] = f.client.CancelOrder(ctx, o.ID, api.CancelOrderRequest{Reason: "changed my mind"})
		})
	}
	wg.Go(func() { _, errs[cancels] = f.client.CancelOrder(ctx, uuid.NewString(), api.CancelOrderRequest{}) })
	wg.Wait()

	for i := range cancels {
		require.NoError(t, errs[i], "cancel %d", i)
		require.Equal(t, "CANCELLING", got[i].Status)
		require.Equal(t, 2, got[i].Version, "cancel %d: one cancellation recorded", i)
	}
	require.Equal(t, api.CodeNotFound, client.Code(errs[cancels]))
	var events int
	require.NoError(t, f.pool.QueryRow(ctx, "SELECT count(*) FROM events WHERE stream_id = $1", o.ID).Scan(&events))
	require.Equal(t, 2, events)
}
