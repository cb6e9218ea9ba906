package storebench

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/schema"
	"github.com/orderflow/orderflow/tools/measure"
)

// measureAppends runs writers that each append one event at a time with
// Store.Append, closed loop, as command handlers would, while the store's
// notifier runs as it does in a service. No relay runs.
func measureAppends(ctx context.Context, db *database, cfg Config) (Throughput, error) {
	store := newStore(db, "storebench.unpublished")
	stop := background(ctx, store.RunNotifier)
	w := measure.NewWindow(cfg.Warmup, cfg.Duration)
	profile := startProfile(ctx, db, w)
	t, err := measure.ClosedLoop(ctx, cfg.Writers, w, func() func(context.Context) error {
		sw := &streamWriter{store: store}
		return func(ctx context.Context) error {
			_, err := sw.appendOne(ctx)
			return err
		}
	})
	res := Throughput{Throughput: t, Profile: profile()}
	if stopErr := stop(); err == nil {
		err = stopErr
	}
	return res, err
}

// newStore returns an event store on the benchmark database that publishes
// every event to topic.
func newStore(db *database, topic string, opts ...eventstore.Option) *eventstore.Store {
	opts = append(opts, eventstore.WithTopics(func(string) (string, error) { return topic, nil }))
	return eventstore.New(db.Pool, schema.NewCodec(schema.NewRegistry()), opts...)
}

// background runs tasks until stop is called, as a service runs its relay
// and notifier next to its handlers. stop returns the first task's error,
// and the same again if called again.
func background(ctx context.Context, tasks ...func(context.Context) error) (stop func() error) {
	ctx, cancel := context.WithCancel(ctx)
	g, ctx := errgroup.WithContext(ctx)
	for _, task := range tasks {
		g.Go(func() error { return task(ctx) })
	}
	return sync.OnceValue(func() error {
		cancel()
		return g.Wait()
	})
}

// streamWriter appends to one order stream at a time, the first event at
// NewStream and the next ones at the version it wrote last, as command
// handlers do, and after eventsPerStream events moves on to a new order.
type streamWriter struct {
	store   *eventstore.Store
	orderID string
	version int
}

// appendOne appends the next event and returns its id.
func (w *streamWriter) appendOne(ctx context.Context) (string, error) {
	if w.orderID == "" || w.version == eventsPerStream {
		w.orderID, w.version = uuid.NewString(), eventstore.NewStream
	}
	env := schema.New(schema.AggregateOrder, w.orderID,
		schema.OrderPaid{OrderID: w.orderID, PaymentID: uuid.NewString(), Amount: int64(1000 + w.version)},
		schema.Cause{CorrelationID: w.orderID, CausationID: uuid.NewString()}, time.Now())
	stream := eventstore.StreamID{Type: schema.AggregateOrder, ID: w.orderID}
	if _, err := w.store.Append(ctx, stream, w.version, []schema.Envelope{env}); err != nil {
		return "", err
	}
	w.version++
	return env.ID, nil
}
