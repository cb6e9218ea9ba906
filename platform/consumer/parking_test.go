package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/inbox"
	"github.com/orderflow/orderflow/platform/logging"
	"github.com/orderflow/orderflow/platform/metrics"
	"github.com/orderflow/orderflow/platform/metrics/metricstest"
	"github.com/orderflow/orderflow/platform/parking"
	"github.com/orderflow/orderflow/platform/pgmigrate"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

// parkingWorld is a consumer group over a one-partition topic whose handler
// applies effects through the inbox and fails, while told to, on the
// messages of chosen keys: transiently, or permanently.
type parkingWorld struct {
	t       *testing.T
	ctx     context.Context
	topic   string
	dlq     string
	group   string
	db      effectsDB
	store   *parking.Store
	codec   *schema.Codec
	reg     *metrics.Registry
	failing sync.Map // key → "transient" or "permanent"
	order   []string // event ids in the order their effects committed
	orderMu sync.Mutex
}

func newParkingWorld(t *testing.T) *parkingWorld {
	ctx := testenv.Context(t, 3*time.Minute)
	dsn := testenv.PostgresDatabase(t)
	db := newEffectsDB(t, ctx, dsn)
	require.NoError(t, pgmigrate.Run(ctx, db.pool, parking.Migrations()))
	return &parkingWorld{t: t, ctx: ctx, topic: testenv.KafkaTopic(t, 1), dlq: testenv.KafkaTopic(t, 1),
		group: testenv.UniqueName("group"), db: db, store: parking.NewStore(db.pool),
		codec: schema.NewCodec(schema.NewRegistry()), reg: metrics.New()}
}

// start runs a consumer of the world's group until the test ends or the
// returned stop is called.
func (w *parkingWorld) start() (*consumer.Consumer, func()) {
	handler := inbox.Handler(w.db.store, w.group, func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		switch v, _ := w.failing.Load(msg.Envelope.CorrelationID); v {
		case "transient":
			return errors.New("canceling statement due to lock timeout")
		case "permanent":
			return consumer.Permanent(errors.New("broken invariant"))
		}
		if err := apply(ctx, tx, msg); err != nil {
			return err
		}
		w.orderMu.Lock()
		w.order = append(w.order, msg.Envelope.ID) // a batch may still roll back: read it for single messages only
		w.orderMu.Unlock()
		return nil
	})
	c, err := consumer.New(consumer.Config{
		Brokers: testenv.KafkaBrokers(), Group: w.group, Topics: []string{w.topic}, DeadLetterTopic: w.dlq,
		RetryInitial: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond,
		Parking: w.store, ParkAfterAttempts: 3, ParkAfter: 10 * time.Second, ReplayInterval: 200 * time.Millisecond,
		Metrics: consumer.NewMetrics(w.reg),
	}, w.codec, handler, logging.New(os.Stderr, "test", slog.LevelError))
	require.NoError(w.t, err)
	ctx, cancel := context.WithCancel(w.ctx)
	var wg sync.WaitGroup
	wg.Go(func() { require.NoError(w.t, c.Run(ctx)) })
	stop := sync.OnceFunc(func() { cancel(); wg.Wait() })
	w.t.Cleanup(stop)
	select {
	case <-c.Assigned():
	case <-time.After(60 * time.Second):
		w.t.Fatal("no partition assigned within 60s")
	}
	return c, stop
}

// send produces one event of order key and returns its id.
func (w *parkingWorld) send(key string) string {
	env, m := event(w.t, w.codec, key, schema.OrderPaid{OrderID: key, PaymentID: uuid.NewString(), Amount: 1})
	m.Headers = append(m.Headers, kafka.Header{Key: schema.HeaderEventType, Value: []byte(env.Type)})
	produce(w.t, w.topic, m)
	return env.ID
}

// letters returns every letter of the group, oldest first.
func (w *parkingWorld) letters() []parking.Letter {
	page, err := w.store.List(w.ctx, parking.Filter{}, parking.MaxPage, 0)
	require.NoError(w.t, err)
	return page.Letters
}

// waitFor waits until the letters are in the states given (by event id),
// every other message applied once, and the partition committed to its end.
func (w *parkingWorld) waitFor(applied []string, states map[string]string) {
	w.t.Helper()
	testenv.Eventually(w.t, 60*time.Second, func() error {
		got := w.db.applied(w.t, w.ctx)
		for _, id := range applied {
			if got[id] != 1 {
				return fmt.Errorf("event %s applied %d times, want once", id, got[id])
			}
		}
		if len(got) != len(applied) {
			return fmt.Errorf("%d events applied, want %d", len(got), len(applied))
		}
		byEvent := map[string]string{}
		for _, l := range w.letters() {
			byEvent[l.EventID] = l.State
		}
		for id, state := range states {
			if byEvent[id] != state {
				return fmt.Errorf("letter of event %s is %q, want %q", id, byEvent[id], state)
			}
		}
		return committedToEnd(w.t, w.group, w.topic)
	})
}

func (w *parkingWorld) letter(eventID string) parking.Letter {
	w.t.Helper()
	for _, l := range w.letters() {
		if l.EventID == eventID {
			full, err := w.store.Get(w.ctx, l.ID)
			require.NoError(w.t, err)
			return full
		}
	}
	w.t.Fatalf("no letter for event %s", eventID)
	return parking.Letter{}
}

func TestAMessageFailingPastItsBudgetIsParkedAndItsOrderWaitsBehindIt(t *testing.T) {
	w := newParkingWorld(t)
	stuck, other := uuid.NewString(), uuid.NewString()
	w.failing.Store(stuck, "transient")
	_, stop := w.start()

	// All on one partition: the stuck order's first event fails past the
	// budget; the other order's events go through; the stuck order's next
	// event is parked behind the first without being handed to the handler.
	s1 := w.send(stuck)
	o1 := w.send(other)
	s2 := w.send(stuck)
	o2 := w.send(other)
	w.waitFor([]string{o1, o2}, map[string]string{s1: parking.StateWaiting, s2: parking.StateWaiting})

	head, behind := w.letter(s1), w.letter(s2)
	require.Equal(t, parking.KindParked, head.Kind)
	require.Equal(t, 3, head.Attempts, "parked after the budget's three attempts")
	require.Contains(t, head.Reason, "lock timeout")
	require.Equal(t, stuck, head.Key)
	require.Equal(t, w.group, head.ConsumerGroup)
	require.NotEmpty(t, head.Event, "the event is kept to be shown and replayed")
	require.Equal(t, 0, behind.Attempts, "the later message never reached the handler")
	require.Contains(t, behind.Reason, fmt.Sprintf("held behind its order's parked message at offset %d", head.Offset))

	scrape := metricstest.Get(t, serve(t, w.reg))
	scrape.Require(t, 1, "orderflow_consumer_parked_total", "group", w.group, "reason", "budget")
	scrape.Require(t, 1, "orderflow_consumer_parked_total", "group", w.group, "reason", "held")
	scrape.Require(t, 1, "orderflow_consumer_held_keys", "group", w.group)

	// A restart keeps the order held: its next event is parked too.
	stop()
	c, _ := w.start()
	s3 := w.send(stuck)
	o3 := w.send(other)
	w.waitFor([]string{o1, o2, o3}, map[string]string{s3: parking.StateWaiting})

	// The cause is fixed; one replay of the first finishes the order, in
	// its order, and frees the key.
	w.failing.Delete(stuck)
	_, err := w.store.Replay(w.ctx, head.ID, "tester")
	require.NoError(t, err)
	c.WakeReplays()
	all := []string{o1, o2, o3, s1, s2, s3}
	w.waitFor(all, map[string]string{s1: parking.StateReplayed, s2: parking.StateReplayed, s3: parking.StateReplayed})
	w.orderMu.Lock()
	var stuckOrder []string
	for _, id := range w.order {
		if id == s1 || id == s2 || id == s3 {
			stuckOrder = append(stuckOrder, id)
		}
	}
	w.orderMu.Unlock()
	require.Equal(t, []string{s1, s2, s3}, stuckOrder, "the parked order's events were applied in their order")

	// A second replay changes nothing: the inbox has the event.
	_, err = w.store.Replay(w.ctx, head.ID, "tester")
	require.NoError(t, err)
	c.WakeReplays()
	testenv.Eventually(t, 30*time.Second, func() error {
		if l := w.letter(s1); l.Replays != 2 || l.State != parking.StateReplayed {
			return fmt.Errorf("replays %d, state %s", l.Replays, l.State)
		}
		return nil
	})
	w.waitFor(all, nil)

	// The key is free: a new event of the order is handled at once.
	s4 := w.send(stuck)
	w.waitFor(append(all, s4), nil)

	audit := w.letter(s1).Audit
	actions := make([]string, len(audit))
	for i, e := range audit {
		actions[i] = e.Action + " by " + e.Actor
	}
	require.Equal(t, []string{
		"parked by " + w.group, "replay_requested by tester", "replayed by " + w.group,
		"replay_requested by tester", "replayed by " + w.group,
	}, actions)
}

func TestDeadLettersAreRecordedAndADiscardedHeadLetsItsOrderGoOn(t *testing.T) {
	w := newParkingWorld(t)
	poisoned, stuck := uuid.NewString(), uuid.NewString()
	w.failing.Store(poisoned, "permanent")
	w.failing.Store(stuck, "transient")
	c, _ := w.start()

	p1 := w.send(poisoned)
	s1 := w.send(stuck)
	s2 := w.send(stuck)
	w.waitFor(nil, map[string]string{p1: parking.StateWaiting, s1: parking.StateWaiting, s2: parking.StateWaiting})
	require.Len(t, testenv.ReadTopic(t, w.dlq, 1, 30*time.Second, time.Second), 1, "the dead letter is on the dead-letter topic too")
	dead := w.letter(p1)
	require.Equal(t, parking.KindDeadLetter, dead.Kind)
	require.Contains(t, dead.Reason, "broken invariant")

	// A dead letter holds no key: the order's next event goes through.
	w.failing.Delete(poisoned)
	p2 := w.send(poisoned)
	w.waitFor([]string{p2}, nil)

	// Replayed once fixed, the dead letter is applied.
	_, err := w.store.Replay(w.ctx, dead.ID, "tester")
	require.NoError(t, err)
	c.WakeReplays()
	w.waitFor([]string{p2, p1}, map[string]string{p1: parking.StateReplayed})

	// Discarding the stuck order's first event lets the one parked behind
	// it flow, without a replay being asked for it.
	w.failing.Delete(stuck)
	_, err = w.store.Discard(w.ctx, w.letter(s1).ID, "tester", "")
	require.ErrorContains(t, err, "note is required")
	_, err = w.store.Discard(w.ctx, w.letter(s1).ID, "tester", "charged by hand")
	require.NoError(t, err)
	c.WakeReplays()
	w.waitFor([]string{p2, p1, s2}, map[string]string{s1: parking.StateDiscarded, s2: parking.StateReplayed})
	_, err = w.store.Replay(w.ctx, w.letter(s1).ID, "tester")
	require.ErrorContains(t, err, "was discarded: it cannot be replayed")
}

func serve(t *testing.T, reg *metrics.Registry) string {
	srv := httptest.NewServer(reg.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}
