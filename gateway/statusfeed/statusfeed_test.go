package statusfeed_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/gateway/internal/eventtest"
	"github.com/orderflow/orderflow/gateway/mirror"
	"github.com/orderflow/orderflow/gateway/statusfeed"
	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/platform/logging"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

// The gateway injects a Feed as graph.StatusFeed; that wiring checks the
// interface at compile time.
var _ interface {
	Follow(ctx context.Context, orderID string) (<-chan *model.Order, error)
	Resume(ctx context.Context, orderID string, afterVersion int) (<-chan *model.Order, error)
} = (*statusfeed.Feed)(nil)

// fixture is the real pipeline: events produced to Kafka, mirrored into
// JetStream by a running mirror, followed by a feed.
type fixture struct {
	t        *testing.T
	js       jetstream.JetStream
	stream   mirror.Stream
	producer *eventtest.Producer
	known    sync.Map // order id → true: what the order service would know
	feed     *statusfeed.Feed
}

func newFixture(t *testing.T, restartsNATS bool) *fixture {
	t.Helper()
	if restartsNATS {
		eventtest.RestartsNATS(t)
	} else {
		eventtest.UsesNATS(t)
	}
	topicPrefix, topics := eventtest.Topics(t)
	_, js := eventtest.NATS(t)
	name, subjectPrefix := eventtest.StreamNames(t, js)
	f := &fixture{t: t, js: js, stream: mirror.Stream{Name: name, SubjectPrefix: subjectPrefix},
		producer: eventtest.NewProducer(t, topics)}
	log := logging.New(os.Stderr, "test", slog.LevelError)

	ctx := testenv.Context(t, 10*time.Second)
	_, err := mirror.EnsureStream(ctx, js, f.stream)
	require.NoError(t, err)
	m, err := mirror.New(mirror.Config{Brokers: testenv.KafkaBrokers(), TopicPrefix: topicPrefix, Stream: f.stream,
		RetryInitial: 20 * time.Millisecond, RetryMax: 300 * time.Millisecond}, js, log)
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { require.NoError(t, m.Run(runCtx)) })
	t.Cleanup(func() { stop(); wg.Wait(); m.Close() })
	select {
	case <-m.Assigned():
	case <-time.After(30 * time.Second):
		t.Fatal("mirror got no partitions within 30s")
	}

	f.feed = statusfeed.New(js, statusfeed.ExistsFunc(func(_ context.Context, id string) (bool, error) {
		_, ok := f.known.Load(id)
		return ok, nil
	}), statusfeed.Config{Stream: name, SubjectPrefix: subjectPrefix}, log)
	run(t, f.feed)
	return f
}

// run runs feed until the test ends.
func run(t *testing.T, feed *statusfeed.Feed) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { require.NoError(t, feed.Run(ctx)) })
	t.Cleanup(func() { stop(); wg.Wait() })
}

// saga starts an order the order service knows.
func (f *fixture) saga() *eventtest.Saga {
	s := eventtest.NewSaga(uuid.NewString(), time.Now())
	f.known.Store(s.OrderID, true)
	return s
}

// send produces events and waits until JetStream has them.
func (f *fixture) send(events ...schema.Envelope) {
	f.t.Helper()
	f.producer.Send(events...)
	f.waitMirrored(events...)
}

func (f *fixture) waitMirrored(events ...schema.Envelope) {
	f.t.Helper()
	ctx := context.Background()
	st, err := f.js.Stream(ctx, f.stream.Name)
	require.NoError(f.t, err)
	for _, env := range events {
		testenv.Eventually(f.t, 20*time.Second, func() error {
			// Each subject carries one stream's events in order: the last
			// one having a version at least env's means env is in.
			msg, err := st.GetLastMsgForSubject(ctx, f.stream.Subject(env.CorrelationID, env.AggregateType))
			if err != nil {
				return err
			}
			if v, _ := strconv.Atoi(msg.Header.Get(schema.HeaderVersion)); v < env.Version {
				return fmt.Errorf("%s v%d not mirrored yet (last v%d)", env.Type, env.Version, v)
			}
			return nil
		})
	}
}

func (f *fixture) follow(ctx context.Context, orderID string) <-chan *model.Order {
	f.t.Helper()
	ch, err := f.feed.Follow(ctx, orderID)
	require.NoError(f.t, err)
	return ch
}

func (f *fixture) consumers() int {
	f.t.Helper()
	st, err := f.js.Stream(context.Background(), f.stream.Name)
	require.NoError(f.t, err)
	return st.CachedInfo().State.Consumers
}

func next(t *testing.T, ch <-chan *model.Order) *model.Order {
	t.Helper()
	select {
	case o, ok := <-ch:
		require.True(t, ok, "the feed ended early")
		return o
	case <-time.After(15 * time.Second):
		t.Fatal("no order within 15s")
		return nil
	}
}

func requireNothing(t *testing.T, ch <-chan *model.Order, d time.Duration) {
	t.Helper()
	select {
	case o, ok := <-ch:
		if ok {
			t.Fatalf("unexpected order sent: %s v%d", o.Status, o.Version)
		}
		t.Fatal("the feed ended early")
	case <-time.After(d):
	}
}

func requireClosed(t *testing.T, ch <-chan *model.Order) {
	t.Helper()
	select {
	case o, ok := <-ch:
		require.False(t, ok, "expected the end, got %v", o)
	case <-time.After(15 * time.Second):
		t.Fatal("the feed did not end within 15s")
	}
}

func TestFollow(t *testing.T) {
	f := newFixture(t, false)

	t.Run("subscribed before any event was mirrored", func(t *testing.T) {
		ctx := testenv.Context(t, time.Minute)
		s := f.saga()
		ch := f.follow(ctx, s.OrderID)
		requireNothing(t, ch, 300*time.Millisecond)

		f.send(s.Created())
		o := next(t, ch)
		require.Equal(t, model.OrderStatusPending, o.Status)
		require.Equal(t, s.OrderID, o.ID)
		require.Equal(t, s.CustomerID, o.CustomerID)
		require.Equal(t, 2500, o.Total)
		require.Nil(t, o.Payment)

		f.send(s.SagaStarted(), s.Requested(), s.Captured())
		requireNothing(t, ch, 300*time.Millisecond) // payment changes alone are not status changes

		f.send(s.Paid())
		o = next(t, ch)
		require.Equal(t, model.OrderStatusPaid, o.Status)
		require.Equal(t, 2, o.Version)
		require.Equal(t, model.PaymentStatusCaptured, o.Payment.Status, "the payment folded meanwhile is part of the order")

		f.send(s.CancelRequested(schema.ReasonCustomerRequest), s.Refunded(), s.Cancelled(schema.ReasonCustomerRequest))
		o = next(t, ch)
		require.Equal(t, model.OrderStatusCancelling, o.Status)
		require.Equal(t, schema.ReasonCustomerRequest, *o.CancellationReason)
		o = next(t, ch)
		require.Equal(t, model.OrderStatusCancelled, o.Status)
		require.Equal(t, 4, o.Version)
		require.Len(t, o.History, 4)
		requireClosed(t, ch)
	})

	t.Run("subscribed mid-flight", func(t *testing.T) {
		ctx := testenv.Context(t, time.Minute)
		s := f.saga()
		f.known.Delete(s.OrderID) // JetStream has its events: the order service is not asked
		created, paid := s.Created(), s.Paid()
		f.send(created, s.Requested(), s.Captured(), paid)

		ch := f.follow(ctx, s.OrderID)
		o := next(t, ch)
		require.Equal(t, model.OrderStatusPaid, o.Status, "first the order as it is now")
		require.Equal(t, model.PaymentStatusCaptured, o.Payment.Status)
		require.Equal(t, 2, o.Version)

		// The stream holding an event twice (a Kafka replay after the
		// deduplication window) sends nothing twice.
		for _, env := range []schema.Envelope{created, paid} {
			km := eventtest.Message(t, env)
			header := nats.Header{}
			for _, h := range km.Headers {
				header.Add(h.Key, string(h.Value))
			}
			msg := &nats.Msg{Subject: f.stream.Subject(s.OrderID, env.AggregateType), Header: header, Data: km.Value}
			_, err := f.js.PublishMsg(ctx, msg, jetstream.WithMsgID(uuid.NewString()))
			require.NoError(t, err)
		}
		requireNothing(t, ch, 300*time.Millisecond)

		f.send(s.CancelRequested(schema.ReasonCustomerRequest))
		require.Equal(t, model.OrderStatusCancelling, next(t, ch).Status)
		// The refund is on another topic than the cancel: only once it is in
		// the stream before OrderCancelled is it part of the CANCELLED order.
		f.send(s.Refunded())
		requireNothing(t, ch, 300*time.Millisecond)
		f.send(s.Cancelled(schema.ReasonCustomerRequest))
		o = next(t, ch)
		require.Equal(t, model.OrderStatusCancelled, o.Status)
		require.Equal(t, model.PaymentStatusRefunded, o.Payment.Status)
		requireClosed(t, ch)
	})

	t.Run("subscribed after the order was cancelled", func(t *testing.T) {
		ctx := testenv.Context(t, time.Minute)
		s := f.saga()
		f.send(s.DeclinePath()...)

		ch := f.follow(ctx, s.OrderID)
		o := next(t, ch)
		require.Equal(t, model.OrderStatusCancelled, o.Status)
		require.Equal(t, schema.ReasonPaymentDeclined, *o.CancellationReason)
		require.Equal(t, model.PaymentStatusDeclined, o.Payment.Status)
		require.Equal(t, "card_declined", *o.Payment.FailureCode)
		requireClosed(t, ch)
	})

	t.Run("subscribed while the order is paid and stays paid", func(t *testing.T) {
		ctx, cancel := context.WithCancel(testenv.Context(t, time.Minute))
		s := f.saga()
		f.send(s.HappyPath()...)
		ch := f.follow(ctx, s.OrderID)
		require.Equal(t, model.OrderStatusPaid, next(t, ch).Status)
		requireNothing(t, ch, 300*time.Millisecond)
		cancel()
		requireClosed(t, ch)
	})

	t.Run("an unknown order is NOT_FOUND", func(t *testing.T) {
		ctx := testenv.Context(t, time.Minute)
		for _, id := range []string{uuid.NewString(), "a.b", ">", ""} {
			ch, err := f.feed.Follow(ctx, id)
			require.Nil(t, ch)
			e, ok := model.AsError(err)
			require.True(t, ok, "a client error, not %v", err)
			require.Equal(t, model.CodeNotFound, e.Code)
			require.Equal(t, fmt.Sprintf("order %s does not exist", id), e.Message)
		}
	})

	t.Run("when the order service cannot be asked, UNAVAILABLE", func(t *testing.T) {
		ctx := testenv.Context(t, time.Minute)
		feed := statusfeed.New(f.js, statusfeed.ExistsFunc(func(context.Context, string) (bool, error) {
			return false, errors.New("connection refused")
		}), statusfeed.Config{Stream: f.stream.Name, SubjectPrefix: f.stream.SubjectPrefix},
			logging.New(os.Stderr, "test", slog.LevelError))
		run(t, feed)
		_, err := feed.Follow(ctx, uuid.NewString())
		e, ok := model.AsError(err)
		require.True(t, ok)
		require.Equal(t, model.CodeUnavailable, e.Code)
	})

	t.Run("a known order whose events never come, until the subscriber leaves", func(t *testing.T) {
		ctx, cancel := context.WithCancel(testenv.Context(t, time.Minute))
		s := f.saga()
		ch := f.follow(ctx, s.OrderID)
		requireNothing(t, ch, 300*time.Millisecond)
		cancel()
		requireClosed(t, ch)
	})

	t.Run("many subscribers while events flow: each sees a gapless suffix", func(t *testing.T) {
		ctx := testenv.Context(t, time.Minute)
		s := f.saga()
		steps := [][]schema.Envelope{
			{s.Created()},
			{s.SagaStarted(), s.Requested()},
			{s.Captured(), s.Paid()},
			{s.CancelRequested(schema.ReasonCustomerRequest)},
			{s.Refunded()},
			{s.Cancelled(schema.ReasonCustomerRequest)},
		}
		all := []model.OrderStatus{model.OrderStatusPending, model.OrderStatusPaid, model.OrderStatusCancelling, model.OrderStatusCancelled}

		const subscribers = 12
		var wg sync.WaitGroup
		results := make([][]*model.Order, subscribers)
		for i := range subscribers {
			wg.Go(func() {
				time.Sleep(time.Duration(i) * 40 * time.Millisecond)
				ch, err := f.feed.Follow(ctx, s.OrderID)
				if err != nil {
					t.Errorf("subscriber %d: %v", i, err)
					return
				}
				for o := range ch {
					results[i] = append(results[i], o)
				}
			})
		}
		for _, step := range steps {
			f.producer.Send(step...)
			time.Sleep(60 * time.Millisecond)
		}
		wg.Wait()

		seen := map[int]int{}
		for i, got := range results {
			seen[len(got)]++
			require.NotEmpty(t, got, "subscriber %d", i)
			var statuses []model.OrderStatus
			for j, o := range got {
				statuses = append(statuses, o.Status)
				if j > 0 {
					require.Greater(t, o.Version, got[j-1].Version, "subscriber %d: in version order", i)
				}
			}
			require.Equal(t, all[len(all)-len(statuses):], statuses, "subscriber %d: the current status, then every later one", i)
		}
		t.Logf("subscribers by number of orders received: %v", seen)
	})

	testenv.Eventually(t, 10*time.Second, func() error {
		// The feed reads the stream with one consumer, none per subscription.
		if n := f.consumers(); n != 1 {
			return fmt.Errorf("%d consumers on the stream, want the feed's 1", n)
		}
		return nil
	})
}

func TestFollowSurvivesANATSRestart(t *testing.T) {
	f := newFixture(t, true)
	ctx := testenv.Context(t, 2*time.Minute)
	s := f.saga()
	f.send(s.Created(), s.Requested())
	ch := f.follow(ctx, s.OrderID)
	require.Equal(t, model.OrderStatusPending, next(t, ch).Status)

	testenv.StopServer(t, "nats")
	f.producer.Send(s.Captured(), s.Paid()) // waits in Kafka until NATS is back
	testenv.Infra(t, "up")

	o := next(t, ch)
	require.Equal(t, model.OrderStatusPaid, o.Status)
	require.Equal(t, 2, o.Version)
	f.send(s.CancelRequested(schema.ReasonCustomerRequest))
	require.Equal(t, model.OrderStatusCancelling, next(t, ch).Status)
	f.send(s.Cancelled(schema.ReasonCustomerRequest))
	require.Equal(t, model.OrderStatusCancelled, next(t, ch).Status)
	requireClosed(t, ch)
}
