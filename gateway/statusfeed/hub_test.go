package statusfeed_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
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

// direct is a stream the tests publish into as the mirror does (subject,
// headers, Nats-Msg-Id), without Kafka in between, so that they control
// what the stream holds when a feed starts.
type direct struct {
	t      *testing.T
	js     jetstream.JetStream
	stream mirror.Stream
	known  sync.Map // order id → true: what the order service would know
}

// newDirect makes the stream: the mirror's (file storage, fsynced), or with
// memory storage for the load test, which would otherwise spend the shared
// machine's disk on fsyncs the feed does not care about.
func newDirect(t *testing.T, memory bool) *direct {
	t.Helper()
	eventtest.UsesNATS(t)
	_, js := eventtest.NATS(t)
	name, prefix := eventtest.StreamNames(t, js)
	d := &direct{t: t, js: js, stream: mirror.Stream{Name: name, SubjectPrefix: prefix}}
	ctx := testenv.Context(t, 10*time.Second)
	if memory {
		_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{d.stream.AllSubjects()},
			Storage: jetstream.MemoryStorage, Duplicates: mirror.DefaultDuplicates})
		require.NoError(t, err)
	} else {
		_, err := mirror.EnsureStream(ctx, js, d.stream)
		require.NoError(t, err)
	}
	return d
}

// publish stores events in order and returns their stream sequences.
func (d *direct) publish(events ...schema.Envelope) []uint64 {
	d.t.Helper()
	seqs := make([]uint64, len(events))
	for i, env := range events {
		km := eventtest.Message(d.t, env)
		header := nats.Header{}
		for _, h := range km.Headers {
			header.Add(h.Key, string(h.Value))
		}
		msg := &nats.Msg{Subject: d.stream.Subject(env.CorrelationID, env.AggregateType), Header: header, Data: km.Value}
		ack, err := d.js.PublishMsg(context.Background(), msg, jetstream.WithMsgID(env.ID))
		if err != nil {
			d.t.Errorf("publish %s: %v", env.Type, err)
			return nil
		}
		seqs[i] = ack.Sequence
	}
	return seqs
}

func (d *direct) saga() *eventtest.Saga {
	s := eventtest.NewSaga(uuid.NewString(), time.Now())
	d.known.Store(s.OrderID, true)
	return s
}

// feed starts a feed on a connection of its own (a gateway replica) and
// waits until it reads the stream.
func (d *direct) feed(cfg statusfeed.Config) *statusfeed.Feed {
	d.t.Helper()
	_, js := eventtest.NATS(d.t)
	cfg.Stream, cfg.SubjectPrefix = d.stream.Name, d.stream.SubjectPrefix
	feed := statusfeed.New(js, statusfeed.ExistsFunc(func(_ context.Context, id string) (bool, error) {
		_, ok := d.known.Load(id)
		return ok, nil
	}), cfg, logging.New(os.Stderr, "test", slog.LevelError))
	run(d.t, feed)
	select {
	case <-feed.Ready():
	case <-time.After(10 * time.Second):
		d.t.Fatal("feed not reading the stream within 10s")
	}
	return feed
}

func (d *direct) consumers() int {
	d.t.Helper()
	st, err := d.js.Stream(context.Background(), d.stream.Name)
	require.NoError(d.t, err)
	return st.CachedInfo().State.Consumers
}

func statuses(orders []*model.Order) []model.OrderStatus {
	var out []model.OrderStatus
	for _, o := range orders {
		out = append(out, o.Status)
	}
	return out
}

func TestFollowAnOrderOlderThanTheFeed(t *testing.T) {
	d := newDirect(t, false)
	ctx := testenv.Context(t, time.Minute)
	old, midFlight, replayed := d.saga(), d.saga(), d.saga()
	d.publish(old.Created(), old.SagaStarted(), old.Requested(), old.Captured(), old.Paid())
	d.publish(replayed.HappyPath()...)
	d.publish(midFlight.Created(), midFlight.Requested())
	// Lookback 1ms: the feed starts after these events and never sees them.
	feed := d.feed(statusfeed.Config{Lookback: time.Millisecond})
	d.publish(midFlight.Captured()) // the feed sees the order from its payment's second event on

	t.Run("every event before the feed's start", func(t *testing.T) {
		before := feed.Stats()
		ch, err := feed.Follow(ctx, old.OrderID)
		require.NoError(t, err)
		o := next(t, ch)
		require.Equal(t, model.OrderStatusPaid, o.Status, "first the order as it is now, from its history")
		require.Equal(t, model.PaymentStatusCaptured, o.Payment.Status)
		require.Equal(t, 2500, o.Total)
		after := feed.Stats()
		require.Equal(t, before.Histories+1, after.Histories, "read from the order's history")

		d.publish(old.CancelRequested(schema.ReasonCustomerRequest), old.Refunded(), old.Cancelled(schema.ReasonCustomerRequest))
		require.Equal(t, model.OrderStatusCancelling, next(t, ch).Status)
		o = next(t, ch)
		require.Equal(t, model.OrderStatusCancelled, o.Status)
		require.Equal(t, model.PaymentStatusRefunded, o.Payment.Status)
		require.Equal(t, 4, o.Version)
		requireClosed(t, ch)
	})

	t.Run("the feed started in the middle of the order", func(t *testing.T) {
		ch, err := feed.Follow(ctx, midFlight.OrderID)
		require.NoError(t, err)
		o := next(t, ch)
		require.Equal(t, model.OrderStatusPending, o.Status)
		require.Equal(t, model.PaymentStatusCaptured, o.Payment.Status, "the event the feed saw is part of the order")
		d.publish(midFlight.Paid())
		o = next(t, ch)
		require.Equal(t, model.OrderStatusPaid, o.Status)
		require.Equal(t, 2, o.Version)
		require.Len(t, o.History, 2)
	})

	t.Run("created before the feed started, answered again by createOrder: from its history", func(t *testing.T) {
		// A createOrder repeated with the order's idempotency key answers
		// the old order: its events are not all to come.
		feed.Created(replayed.OrderID, time.Now().Add(-time.Hour))
		ch, err := feed.Follow(ctx, replayed.OrderID)
		require.NoError(t, err)
		require.Equal(t, model.OrderStatusPaid, next(t, ch).Status)
	})

	testenv.Eventually(t, 10*time.Second, func() error {
		if n := d.consumers(); n != 1 {
			return fmt.Errorf("%d consumers on the stream, want the feed's 1", n)
		}
		return nil
	})
}

func TestFollowFromMemory(t *testing.T) {
	d := newDirect(t, false)
	ctx := testenv.Context(t, time.Minute)
	feed := d.feed(statusfeed.Config{})

	t.Run("an order created here: no lookup, nobody asked", func(t *testing.T) {
		s := eventtest.NewSaga(uuid.NewString(), time.Now()) // not in d.known: asking would say NOT_FOUND
		feed.Created(s.OrderID, time.Now())
		before := feed.Stats()
		ch, err := feed.Follow(ctx, s.OrderID)
		require.NoError(t, err)
		requireNothing(t, ch, 200*time.Millisecond)
		d.publish(s.HappyPath()...)
		require.Equal(t, model.OrderStatusPending, next(t, ch).Status)
		o := next(t, ch)
		require.Equal(t, model.OrderStatusPaid, o.Status)
		require.Equal(t, model.PaymentStatusCaptured, o.Payment.Status)
		after := feed.Stats()
		require.Equal(t, before.Lookups, after.Lookups)
		require.Equal(t, before.Histories, after.Histories)
	})

	t.Run("an order the feed saw from its first event: from memory", func(t *testing.T) {
		s := d.saga()
		seqs := d.publish(s.DeclinePath()...)
		testenv.Eventually(t, 10*time.Second, func() error {
			if p := feed.Stats().Position; p < seqs[len(seqs)-1] {
				return fmt.Errorf("feed at %d", p)
			}
			return nil
		})
		d.known.Delete(s.OrderID) // nobody is asked
		before := feed.Stats()
		ch, err := feed.Follow(ctx, s.OrderID)
		require.NoError(t, err)
		o := next(t, ch)
		require.Equal(t, model.OrderStatusCancelled, o.Status)
		require.Equal(t, "card_declined", *o.Payment.FailureCode)
		requireClosed(t, ch)
		after := feed.Stats()
		require.Equal(t, before.Lookups, after.Lookups)
		require.Equal(t, before.Histories, after.Histories)
	})

	t.Run("an order the feed saw nothing of yet: one lookup, no history", func(t *testing.T) {
		s := d.saga()
		before := feed.Stats()
		ch, err := feed.Follow(ctx, s.OrderID)
		require.NoError(t, err)
		d.publish(s.Created(), s.Requested(), s.Declined("insufficient_funds"))
		require.Equal(t, model.OrderStatusPending, next(t, ch).Status)
		after := feed.Stats()
		require.Equal(t, before.Lookups+1, after.Lookups)
		require.Equal(t, before.Histories, after.Histories)
	})
}

// A subscriber that does not read is dropped by the feed once its buffer is
// full, and re-syncs from the order's history: it still gets every status
// change once, in order.
func TestFollowASlowSubscriber(t *testing.T) {
	d := newDirect(t, false)
	ctx := testenv.Context(t, time.Minute)
	feed := d.feed(statusfeed.Config{SubscriberBuffer: 1})
	s := d.saga()
	ch, err := feed.Follow(ctx, s.OrderID)
	require.NoError(t, err)
	d.publish(s.Created(), s.Requested(), s.Captured(), s.Paid(), s.CancelRequested(schema.ReasonCustomerRequest),
		s.Refunded(), s.Cancelled(schema.ReasonCustomerRequest))
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := feed.Stats().Overflows; n == 0 {
			return fmt.Errorf("no overflow yet")
		}
		return nil
	})

	var got []*model.Order
	for o := range ch {
		got = append(got, o)
	}
	require.Equal(t, []model.OrderStatus{model.OrderStatusPending, model.OrderStatusPaid,
		model.OrderStatusCancelling, model.OrderStatusCancelled}, statuses(got))
	require.Equal(t, model.PaymentStatusRefunded, got[3].Payment.Status)
	require.Positive(t, feed.Stats().Histories, "re-synced from the history")
}

// A subscription holds nothing once its client has gone: no consumer on the
// stream, no subscriber in the feed, no goroutine.
func TestFollowReleasesOnCtxDone(t *testing.T) {
	d := newDirect(t, false)
	old := d.saga()
	d.publish(old.HappyPath()...)
	feed := d.feed(statusfeed.Config{Lookback: time.Millisecond})
	seen := d.saga()
	d.publish(seen.HappyPath()...)
	created := eventtest.NewSaga(uuid.NewString(), time.Now())
	feed.Created(created.OrderID, time.Now())
	waiting := d.saga()

	consumers, goroutines := d.consumers(), runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(testenv.Context(t, time.Minute))
	var chans []<-chan *model.Order
	for _, id := range []string{old.OrderID, seen.OrderID, created.OrderID, waiting.OrderID} {
		for range 5 {
			ch, err := feed.Follow(ctx, id)
			require.NoError(t, err)
			chans = append(chans, ch)
		}
	}
	for _, ch := range chans[:10] {
		require.Equal(t, model.OrderStatusPaid, next(t, ch).Status)
	}
	require.Equal(t, 20, feed.Stats().Subscribers)
	cancel()
	for _, ch := range chans {
		requireClosed(t, ch)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := feed.Stats().Subscribers; n != 0 {
			return fmt.Errorf("%d subscribers left", n)
		}
		if n := d.consumers(); n != consumers {
			return fmt.Errorf("%d consumers on the stream, %d before", n, consumers)
		}
		if n := runtime.NumGoroutine(); n > goroutines {
			return fmt.Errorf("%d goroutines, %d before", n, goroutines)
		}
		return nil
	})
}

// loadOrder is one order of the load test: its events, and for each order
// stream version the status and payment status it stands for.
type loadOrder struct {
	saga    *eventtest.Saga
	events  []schema.Envelope
	status  map[int]model.OrderStatus
	payment map[int]model.PaymentStatus
	final   int // the last order version

	mu    sync.Mutex
	acked []uint64 // stream sequence of each published event
}

func newLoadOrder(i int) *loadOrder {
	s := eventtest.NewSaga(uuid.NewString(), time.Now())
	var events []schema.Envelope
	switch i % 3 {
	case 0:
		events = s.HappyPath()
	case 1:
		events = append(s.HappyPath(), s.CancelRequested(schema.ReasonCustomerRequest), s.Refunded(),
			s.Cancelled(schema.ReasonCustomerRequest))
	default:
		events = []schema.Envelope{s.Created(), s.Requested(), s.Declined("card_declined"), s.SagaStarted(),
			s.CancelRequested(schema.ReasonPaymentDeclined), s.Cancelled(schema.ReasonPaymentDeclined)}
	}
	o := &loadOrder{saga: s, events: events, status: map[int]model.OrderStatus{}, payment: map[int]model.PaymentStatus{}}
	var pay model.PaymentStatus
	for _, env := range events {
		switch env.Payload.(type) {
		case schema.PaymentRequested:
			pay = model.PaymentStatusPending
		case schema.PaymentCaptured:
			pay = model.PaymentStatusCaptured
		case schema.PaymentDeclined:
			pay = model.PaymentStatusDeclined
		case schema.PaymentRefunded:
			pay = model.PaymentStatusRefunded
		case schema.OrderCreated:
			o.status[env.Version] = model.OrderStatusPending
		case schema.OrderPaid:
			o.status[env.Version] = model.OrderStatusPaid
		case schema.OrderCancellationRequested:
			o.status[env.Version] = model.OrderStatusCancelling
		case schema.OrderCancelled:
			o.status[env.Version] = model.OrderStatusCancelled
		}
		if env.AggregateType == schema.AggregateOrder {
			o.payment[env.Version], o.final = pay, env.Version
		}
	}
	return o
}

// versionAt returns the order version of the last order event the stream
// held at sequence pos.
func (o *loadOrder) versionAt(pos uint64) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	v := 0
	for i, seq := range o.acked {
		if env := o.events[i]; seq <= pos && env.AggregateType == schema.AggregateOrder {
			v = env.Version
		}
	}
	return v
}

// The test: orders flow at 200/s, subscriptions open at random
// moments mid-flight on two replicas — one that created the orders and ran
// from the start, one that started later with a short look back (so it
// serves the orders it saw begin from memory and the older ones from their
// history). Every subscriber gets the order as it was when it subscribed
// (at least as the feed had read the stream), then every later status change
// exactly once, in order, and the end after CANCELLED.
func TestFollowMidFlightUnderLoad(t *testing.T) {
	const (
		rate     = 200
		duration = 4 * time.Second
		n        = int(rate * duration / time.Second)
	)
	d := newDirect(t, true)
	ctx := testenv.Context(t, 2*time.Minute)
	creator := d.feed(statusfeed.Config{})
	var late atomic.Pointer[statusfeed.Feed]

	orders := make([]*loadOrder, n)
	for i := range orders {
		orders[i] = newLoadOrder(i)
	}
	var started atomic.Int64
	var publishers sync.WaitGroup
	start := time.Now()
	publishers.Go(func() {
		for i, o := range orders {
			time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / rate)))
			creator.Created(o.saga.OrderID, time.Now()) // createOrder answered by the creator
			d.known.Store(o.saga.OrderID, true)
			started.Add(1)
			publishers.Go(func() {
				for _, env := range o.events {
					seqs := d.publish(env)
					if seqs == nil {
						return
					}
					o.mu.Lock()
					o.acked = append(o.acked, seqs[0])
					o.mu.Unlock()
					time.Sleep(time.Duration(10+rand.IntN(90)) * time.Millisecond)
				}
			})
		}
	})
	publishers.Go(func() {
		time.Sleep(duration * 3 / 8)
		late.Store(d.feed(statusfeed.Config{Lookback: 100 * time.Millisecond}))
	})

	type result struct {
		order   *loadOrder
		replica string
		minimum int // the version the first order sent must have at least
		got     []*model.Order
		err     error
	}
	var (
		resultsMu sync.Mutex
		results   []*result
		subs      sync.WaitGroup
	)
	subscribe := func(feed *statusfeed.Feed, replica string, o *loadOrder) {
		r := &result{order: o, replica: replica, minimum: o.versionAt(feed.Stats().Position)}
		resultsMu.Lock()
		results = append(results, r)
		resultsMu.Unlock()
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		ch, err := feed.Follow(ctx, o.saga.OrderID)
		if err != nil {
			cancel()
			r.err = err
			return
		}
		subs.Go(func() {
			defer cancel()
			for {
				select {
				case got, ok := <-ch:
					if !ok {
						return
					}
					r.got = append(r.got, got)
					if got.Version == o.final && got.Status != model.OrderStatusCancelled {
						return // PAID for good: nothing more is coming
					}
				case <-ctx.Done():
					return
				}
			}
		})
	}
	for time.Since(start) < duration {
		time.Sleep(time.Duration(2+rand.IntN(8)) * time.Millisecond)
		k := int(started.Load())
		o := orders[max(0, k-1-rand.IntN(min(k, 150)))] // one of the orders in flight
		if f := late.Load(); f != nil && rand.IntN(2) == 0 {
			subscribe(f, "late", o)
		} else {
			subscribe(creator, "creator", o)
		}
	}
	publishers.Wait()
	subs.Wait()

	byReplica := map[string]int{}
	for _, r := range results {
		require.NoError(t, r.err, "%s: order %s", r.replica, r.order.saga.OrderID)
		byReplica[r.replica]++
		o, got := r.order, r.got
		require.NotEmpty(t, got, "%s: order %s sent nothing", r.replica, o.saga.OrderID)
		require.GreaterOrEqual(t, got[0].Version, r.minimum, "%s: first the order as it is now", r.replica)
		for i, g := range got {
			require.Equal(t, o.status[g.Version], g.Status, "%s: order %s v%d", r.replica, o.saga.OrderID, g.Version)
			if i > 0 {
				require.Equal(t, got[i-1].Version+1, g.Version, "%s: order %s: every status change once, in order: %v",
					r.replica, o.saga.OrderID, statuses(got))
				require.Equal(t, o.payment[g.Version], g.Payment.Status, "%s: order %s v%d", r.replica, o.saga.OrderID, g.Version)
			}
		}
		require.Equal(t, o.final, got[len(got)-1].Version, "%s: order %s: up to the last change: %v",
			r.replica, o.saga.OrderID, statuses(got))
		require.Equal(t, 2500, got[0].Total)
	}
	cs, ls := creator.Stats(), late.Load().Stats()
	t.Logf("%d orders, subscriptions by replica %v; creator %+v; late %+v", n, byReplica, cs, ls)
	require.Zero(t, cs.Histories, "the creator serves every subscription from memory or the events to come")
	require.Zero(t, cs.Lookups, "the creator looks nothing up")
	require.Positive(t, ls.Histories, "the late replica read the history of orders older than its start")
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := d.consumers(); n != 2 {
			return fmt.Errorf("%d consumers on the stream, want the two feeds'", n)
		}
		return nil
	})
}

// The stream may hold a stream's events out of version order (a publish
// retried after a later one went through): each subscriber applies them in
// version order, so no status change is skipped — whether it gets them from
// the feed or from the order's history.
func TestFollowAppliesEachStreamInVersionOrder(t *testing.T) {
	d := newDirect(t, false)
	ctx := testenv.Context(t, time.Minute)
	want := []model.OrderStatus{model.OrderStatusPending, model.OrderStatusPaid, model.OrderStatusCancelling}

	s := d.saga()
	created, requested, captured, paid, cancel := s.Created(), s.Requested(), s.Captured(), s.Paid(),
		s.CancelRequested(schema.ReasonCustomerRequest)
	feed := d.feed(statusfeed.Config{})
	ch, err := feed.Follow(ctx, s.OrderID)
	require.NoError(t, err)
	d.publish(created, captured, cancel, requested, paid)
	var got []*model.Order
	for range want {
		got = append(got, next(t, ch))
	}
	require.Equal(t, want, statuses(got), "from the feed")
	require.Equal(t, model.PaymentStatusCaptured, got[1].Payment.Status)

	old := d.saga()
	created, requested, captured, paid, cancel = old.Created(), old.Requested(), old.Captured(), old.Paid(),
		old.CancelRequested(schema.ReasonCustomerRequest)
	d.publish(created, captured, cancel)
	late := d.feed(statusfeed.Config{Lookback: time.Millisecond})
	ch, err = late.Follow(ctx, old.OrderID)
	require.NoError(t, err)
	o := next(t, ch)
	require.Equal(t, model.OrderStatusPending, o.Status, "the cancel waits for OrderPaid before it")
	require.Nil(t, o.Payment, "the capture waits for the request before it")
	d.publish(requested, paid)
	got = []*model.Order{o, next(t, ch), next(t, ch)}
	require.Equal(t, want, statuses(got), "from the history, then the feed")
	require.Equal(t, model.PaymentStatusCaptured, got[1].Payment.Status)
}
