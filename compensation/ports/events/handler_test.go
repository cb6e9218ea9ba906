package events_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/compensation/adapters/postgres"
	"github.com/orderflow/orderflow/compensation/app"
	"github.com/orderflow/orderflow/compensation/app/command"
	"github.com/orderflow/orderflow/compensation/ports/events"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/inbox"
	"github.com/orderflow/orderflow/platform/pgmigrate"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

const paymentTimeout = 30 * time.Second

type fixture struct {
	pool       *pgxpool.Pool
	store      *eventstore.Store
	app        app.Application
	deadlines  *postgres.Deadlines
	handler    consumer.Handler
	statements *statements
	warnings   *logBuffer // what the poller logged at level WARN and above
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := testenv.Context(t, time.Minute)
	cfg, err := pgxpool.ParseConfig(testenv.PostgresDatabase(t))
	require.NoError(t, err)
	st := &statements{}
	cfg.ConnConfig.Tracer = st
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, pgmigrate.Run(ctx, pool, eventstore.Migrations(), inbox.Migrations(), postgres.Migrations()))

	store := eventstore.New(pool, schema.NewCodec(schema.NewRegistry()))
	sagas := postgres.NewSagas(postgres.NewRepository(store))
	a := app.New(sagas, paymentTimeout, time.Now)
	units := func(ctx context.Context, tx pgx.Tx, orderIDs ...string) (events.Unit, error) {
		u, err := sagas.Begin(ctx, tx, orderIDs...)
		if err != nil {
			return nil, err
		}
		return u, nil
	}
	warnings := &logBuffer{}
	return fixture{pool: pool, store: store, app: a, statements: st, warnings: warnings,
		deadlines: postgres.NewDeadlines(sagas, slog.New(slog.NewTextHandler(warnings, &slog.HandlerOptions{Level: slog.LevelWarn}))),
		handler:   events.NewHandler(store, a, units)}
}

// logBuffer keeps what a logger wrote, for several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// statements records the SQL sent to Postgres, a batch as one entry.
type statements struct {
	mu  sync.Mutex
	sql []string
}

func (s *statements) add(sql string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sql = append(s.sql, sql)
}

func (s *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	s.add(d.SQL)
	return ctx
}

func (s *statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (s *statements) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	sqls := make([]string, len(d.Batch.QueuedQueries))
	for i, q := range d.Batch.QueuedQueries {
		sqls[i] = q.SQL
	}
	s.add(strings.Join(sqls, ";\n"))
	return ctx
}

func (s *statements) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (s *statements) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

func (s *statements) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sql = nil
}

// count returns how many round trips sent SQL containing each of parts.
func (s *statements) count(parts ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sql := range s.sql {
		if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(sql, p) }) {
			n++
		}
	}
	return n
}

// order is a test order and the events its services would publish.
type order struct{ id, paymentID string }

func newOrder() order { return order{id: uuid.NewString(), paymentID: uuid.NewString()} }

func (o order) message(aggregateType string, payload schema.Event, at time.Time) consumer.Message {
	aggregateID := o.id
	if aggregateType == schema.AggregatePayment {
		aggregateID = o.paymentID
	}
	env := schema.New(aggregateType, aggregateID, payload, schema.Cause{CorrelationID: o.id, CausationID: uuid.NewString()}, at)
	env.Version = 1
	return consumer.Message{Envelope: env}
}

func (o order) created(at time.Time) consumer.Message {
	return o.message(schema.AggregateOrder, schema.OrderCreated{OrderID: o.id, CustomerID: uuid.NewString(),
		Currency: "EUR", Total: 4200, PaymentMethod: "tok_visa",
		Items: []schema.OrderItem{{SKU: "sku-1", Quantity: 1, UnitPrice: 4200}}}, at)
}

func (o order) paid() consumer.Message {
	return o.message(schema.AggregateOrder, schema.OrderPaid{OrderID: o.id, PaymentID: o.paymentID, Amount: 4200}, time.Now())
}

func (o order) cancelRequested() consumer.Message {
	return o.message(schema.AggregateOrder,
		schema.OrderCancellationRequested{OrderID: o.id, Reason: schema.ReasonCustomerRequest}, time.Now())
}

func (o order) declined() consumer.Message {
	return o.message(schema.AggregatePayment, schema.PaymentDeclined{PaymentID: o.paymentID, OrderID: o.id,
		Amount: 4200, Code: "card_declined"}, time.Now())
}

func (o order) captured() consumer.Message {
	return o.message(schema.AggregatePayment, schema.PaymentCaptured{PaymentID: o.paymentID, OrderID: o.id,
		Amount: 4200, ChargeID: "ch_" + o.id}, time.Now())
}

// history returns the saga's events: their types, and the reason of each
// decided cancel.
func (f fixture) history(t *testing.T, orderID string) []string {
	t.Helper()
	envs, err := f.store.Load(context.Background(), eventstore.StreamID{Type: schema.AggregateCompensation, ID: orderID})
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return nil
	}
	require.NoError(t, err)
	out := make([]string, len(envs))
	for i, env := range envs {
		out[i] = env.Type
		if d, ok := env.Payload.(schema.CancellationDecided); ok {
			out[i] += " " + d.Reason
		}
	}
	return out
}

func (f fixture) deadline(t *testing.T, orderID string) bool {
	t.Helper()
	var n int
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT count(*) FROM deadlines WHERE order_id = $1`, orderID).Scan(&n))
	return n == 1
}

func TestABatchDecidesEachMessageInOrderWithOneLoadAndOneSave(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t, time.Minute)
	paid, declined, cancelled, pending := newOrder(), newOrder(), newOrder(), newOrder()
	require.NoError(t, f.handler(ctx, []consumer.Message{paid.created(time.Now())}))
	require.True(t, f.deadline(t, paid.id))

	batch := []consumer.Message{
		declined.created(time.Now()),
		declined.declined(), // needs the saga started by the message before it
		paid.paid(),
		cancelled.created(time.Now()),
		cancelled.cancelRequested(),
		pending.created(time.Now()),
	}
	f.statements.reset()
	require.NoError(t, f.handler(ctx, batch))

	check := func() {
		t.Helper()
		require.Equal(t, []string{schema.TypeSagaStarted, schema.TypeSagaSettled}, f.history(t, paid.id))
		require.Equal(t, []string{schema.TypeSagaStarted, schema.TypeCancellationDecided + " " + schema.ReasonPaymentDeclined},
			f.history(t, declined.id))
		require.Equal(t, []string{schema.TypeSagaStarted, schema.TypeCancellationStarted, schema.TypeCancellationCompleted},
			f.history(t, cancelled.id))
		require.Equal(t, []string{schema.TypeSagaStarted}, f.history(t, pending.id))
		for _, o := range []order{paid, declined, cancelled} {
			require.False(t, f.deadline(t, o.id), "the deadline of %s is void", o.id)
		}
		require.True(t, f.deadline(t, pending.id), "the pending saga's deadline is stored")
	}
	require.Equal(t, 1, f.statements.count("SELECT", "FROM events"), "one query loads every saga of the batch")
	require.Equal(t, 1, f.statements.count("INSERT INTO events"), "one save appends to every saga")
	require.Equal(t, 1, f.statements.count("DELETE FROM deadlines"), "one statement deletes the void deadlines")
	require.Equal(t, 1, f.statements.count("INSERT INTO deadlines"), "one statement stores the new ones")
	check()
	var transactions int
	require.NoError(t, f.pool.QueryRow(ctx, `SELECT count(DISTINCT xmin::text) FROM events
		WHERE stream_type = $1 AND NOT (stream_id = $2 AND version = 1)`, schema.AggregateCompensation, paid.id).Scan(&transactions))
	require.Equal(t, 1, transactions, "the batch commits in one transaction")

	var events int
	require.NoError(t, f.pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&events))
	f.statements.reset()
	require.NoError(t, f.handler(ctx, batch), "the batch redelivered")
	require.Zero(t, f.statements.count("FROM events"), "a redelivered batch loads no saga")
	check()
	var again int
	require.NoError(t, f.pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&again))
	require.Equal(t, events, again, "a redelivered batch changes nothing twice")
}

func TestAPoisonMessageFailsItsBatchWholeAndThenAlone(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t, time.Minute)
	fresh, orphan, early := newOrder(), newOrder(), newOrder()
	good := fresh.created(time.Now())
	poison := orphan.paid()      // an order event for a saga never started: dead-lettered
	overtook := early.captured() // a payment event ahead of its OrderCreated: retried

	err := f.handler(ctx, []consumer.Message{good, poison})
	require.True(t, consumer.IsPermanent(err), "%v", err)
	err = f.handler(ctx, []consumer.Message{good, overtook})
	require.Error(t, err)
	require.False(t, consumer.IsPermanent(err), "%v", err)
	require.Empty(t, f.history(t, fresh.id), "nothing of a failed batch commits")

	// What the consumer does next: the same messages one at a time.
	require.NoError(t, f.handler(ctx, []consumer.Message{good}))
	err = f.handler(ctx, []consumer.Message{poison})
	require.True(t, consumer.IsPermanent(err), "%v", err)
	require.ErrorContains(t, err, "saga not started")
	err = f.handler(ctx, []consumer.Message{overtook})
	require.Error(t, err)
	require.False(t, consumer.IsPermanent(err), "a capture ahead of its order is retried: %v", err)

	require.Equal(t, []string{schema.TypeSagaStarted}, f.history(t, fresh.id))
	require.True(t, f.deadline(t, fresh.id))
	require.NoError(t, f.handler(ctx, []consumer.Message{early.created(time.Now())}))
	require.NoError(t, f.handler(ctx, []consumer.Message{overtook}), "retried once its order was created")
	require.Equal(t, []string{schema.TypeSagaStarted, schema.TypeCaptureRecorded}, f.history(t, early.id))
}

// deliver hands msgs to the handler as the consumer does: the batch, then,
// if it failed, each message alone until it is handled. It returns every
// error met on the way.
func deliver(ctx context.Context, h consumer.Handler, msgs []consumer.Message) []error {
	err := h(ctx, msgs)
	if err == nil {
		return nil
	}
	errs := []error{err}
	for _, msg := range msgs {
		for {
			err := h(ctx, []consumer.Message{msg})
			if err == nil || consumer.IsPermanent(err) || ctx.Err() != nil {
				break
			}
			errs = append(errs, err)
		}
	}
	return errs
}

// TestThePollerAndAConsumerRacingOnSagasDecideEachOnce fires many due
// deadlines, a batch of them per unit, while a consumer batch declines the
// payments of the same sagas in the opposite order: each saga is decided
// once, by one or the other, and neither deadlocks (Postgres would abort
// one of them with 40P01).
func TestThePollerAndAConsumerRacingOnSagasDecideEachOnce(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t, 2*time.Minute)
	const rounds, sagas = 20, 60

	for round := range rounds {
		orders := make([]order, sagas)
		created := make([]consumer.Message, sagas)
		declines := make([]consumer.Message, sagas)
		for i := range orders {
			orders[i] = newOrder()
			created[i] = orders[i].created(time.Now().Add(-time.Hour))
			declines[sagas-1-i] = orders[i].declined()
		}
		require.NoError(t, f.handler(ctx, created))

		var (
			wg          sync.WaitGroup
			consumerErr []error
			pollerErr   []error
		)
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			for batch := range slices.Chunk(declines, 10) {
				consumerErr = append(consumerErr, deliver(ctx, f.handler, batch)...)
			}
		})
		wg.Go(func() {
			<-start
			fire := f.app.Commands.FireDeadline
			for ctx.Err() == nil {
				now := time.Now()
				n, err := f.deadlines.FireDue(ctx, now, 10, func(ctx context.Context, sagas command.Sagas, orderID string) error {
					return fire.Handle(ctx, sagas, command.FireDeadline{OrderID: orderID, Now: now})
				})
				if err != nil {
					pollerErr = append(pollerErr, err)
				}
				pending, err := f.deadlines.Pending(ctx)
				if err != nil {
					pollerErr = append(pollerErr, err)
				}
				if n == 0 && pending == 0 {
					return
				}
			}
		})
		close(start)
		wg.Wait()

		for _, err := range append(consumerErr, pollerErr...) {
			var pgErr *pgconn.PgError
			require.False(t, errors.As(err, &pgErr) && pgErr.Code == "40P01", "round %d: deadlock: %v", round, err)
			require.ErrorIs(t, err, eventstore.ErrConcurrency, "round %d: only a lost race fails, and is redone", round)
		}
		require.Empty(t, pollerErr, "round %d", round)
		require.Empty(t, f.warnings.String(), "round %d: the poller postponed no deadline: it skips or waits out the consumer's locks", round)
		for _, o := range orders {
			h := f.history(t, o.id)
			require.Len(t, h, 2, "round %d: decided once: %v", round, h)
			require.Contains(t, []string{
				schema.TypeCancellationDecided + " " + schema.ReasonPaymentTimeout,
				schema.TypeCancellationDecided + " " + schema.ReasonPaymentDeclined,
			}, h[1])
			require.False(t, f.deadline(t, o.id))
		}
	}
}
