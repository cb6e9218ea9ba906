package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/compensation/adapters/postgres"
	"github.com/orderflow/orderflow/compensation/app/command"
	"github.com/orderflow/orderflow/compensation/domain"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/pgmigrate"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

type fixture struct {
	pool      *pgxpool.Pool
	store     *eventstore.Store
	sagas     *postgres.Sagas
	deadlines *postgres.Deadlines
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := testenv.Context(t, time.Minute)
	pool := testenv.PostgresPool(t)
	require.NoError(t, pgmigrate.Run(ctx, pool, eventstore.Migrations(), postgres.Migrations()))
	store := eventstore.New(pool, schema.NewCodec(schema.NewRegistry()))
	sagas := postgres.NewSagas(postgres.NewRepository(store))
	return fixture{pool: pool, store: store, sagas: sagas,
		deadlines: postgres.NewDeadlines(sagas, slog.New(slog.NewTextHandler(io.Discard, nil)))}
}

// inTx runs fn on a unit of work of one transaction, saved and committed.
func (f fixture) inTx(t *testing.T, fn func(command.Sagas) error) error {
	t.Helper()
	ctx := context.Background()
	return pgx.BeginFunc(ctx, f.pool, func(tx pgx.Tx) error {
		unit, err := f.sagas.Begin(ctx, tx)
		if err != nil {
			return err
		}
		if err := fn(unit); err != nil {
			return err
		}
		return unit.Save(ctx)
	})
}

func (f fixture) startSaga(t *testing.T, orderID string, createdAt time.Time) {
	t.Helper()
	h := command.NewStartSagaHandler(time.Second, time.Now)
	require.NoError(t, f.inTx(t, func(sagas command.Sagas) error {
		return h.Handle(context.Background(), sagas, command.StartSaga{OrderID: orderID, Amount: 100, CreatedAt: createdAt,
			Cause: schema.Cause{CausationID: uuid.NewString()}})
	}))
}

func (f fixture) types(t *testing.T, orderID string) []string {
	t.Helper()
	envs, err := f.store.Load(context.Background(), eventstore.StreamID{Type: schema.AggregateCompensation, ID: orderID})
	require.NoError(t, err)
	var out []string
	for _, env := range envs {
		out = append(out, env.Type)
	}
	return out
}

func (f fixture) due(t *testing.T, orderID string) (time.Time, bool) {
	t.Helper()
	var due time.Time
	err := f.pool.QueryRow(context.Background(), `SELECT due_at FROM deadlines WHERE order_id = $1`, orderID).Scan(&due)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, false
	}
	require.NoError(t, err)
	return due, true
}

func TestSagasKeepTheDeadlineInStepWithTheSaga(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	createdAt := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	orderID := uuid.NewString()

	f.startSaga(t, orderID, createdAt)
	due, ok := f.due(t, orderID)
	require.True(t, ok, "SagaStarted stores the deadline in its transaction")
	require.True(t, due.Equal(createdAt.Add(time.Second)))

	capture := command.NewRecordCaptureHandler(time.Now)
	require.NoError(t, f.inTx(t, func(sagas command.Sagas) error {
		return capture.Handle(ctx, sagas, command.RecordCapture{OrderID: orderID,
			Capture: domain.Capture{PaymentID: "pay-1", ChargeID: "ch_1", Amount: 100}, Cause: schema.Cause{CausationID: uuid.NewString()}})
	}))
	_, ok = f.due(t, orderID)
	require.False(t, ok, "a captured saga's deadline cannot fire")
	require.Equal(t, []string{schema.TypeSagaStarted, schema.TypeCaptureRecorded}, f.types(t, orderID))
}

func TestSagasRefuseAStaleSave(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t, time.Minute)
	orderID := uuid.NewString()
	f.startSaga(t, orderID, time.Now().Add(time.Hour))

	tx, err := f.pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	stale, err := f.sagas.Begin(ctx, tx, orderID)
	require.NoError(t, err)

	settle := command.NewSettleSagaHandler(time.Now)
	require.NoError(t, f.inTx(t, func(sagas command.Sagas) error {
		return settle.Handle(ctx, sagas, command.SettleSaga{OrderID: orderID, Cause: schema.Cause{CausationID: uuid.NewString()}})
	}))

	fire := command.NewFireDeadlineHandler()
	require.NoError(t, fire.Handle(ctx, stale, command.FireDeadline{OrderID: orderID, Now: time.Now().Add(2 * time.Hour)}))
	require.ErrorIs(t, stale.Save(ctx), eventstore.ErrConcurrency)
	require.NoError(t, tx.Rollback(ctx))
	require.Equal(t, []string{schema.TypeSagaStarted, schema.TypeSagaSettled}, f.types(t, orderID))
}

// TestDeadlinesFireOnceAcrossReplicas runs two pollers' worth of FireDue
// concurrently over the same due deadlines: each fires exactly once.
func TestDeadlinesFireOnceAcrossReplicas(t *testing.T) {
	f := newFixture(t)
	past := time.Now().Add(-time.Minute)
	const orders = 60
	ids := make([]string, orders)
	for i := range ids {
		ids[i] = uuid.NewString()
		f.startSaga(t, ids[i], past)
	}

	fire := command.NewFireDeadlineHandler()
	var (
		mu    sync.Mutex
		fired = map[string]int{}
		wg    sync.WaitGroup
	)
	for range 2 {
		wg.Go(func() {
			for {
				n, err := f.deadlines.FireDue(context.Background(), time.Now(), 7,
					func(ctx context.Context, sagas command.Sagas, orderID string) error {
						mu.Lock()
						fired[orderID]++
						mu.Unlock()
						return fire.Handle(ctx, sagas, command.FireDeadline{OrderID: orderID, Now: time.Now()})
					})
				if err != nil {
					t.Errorf("fire due: %v", err)
					return
				}
				if n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()

	for _, id := range ids {
		require.Equal(t, 1, fired[id], "order %s handed out once", id)
		require.Equal(t, []string{schema.TypeSagaStarted, schema.TypeCancellationDecided}, f.types(t, id))
	}
	pending, err := f.deadlines.Pending(context.Background())
	require.NoError(t, err)
	require.Zero(t, pending)
}

// TestDeadlinesPostponeOneThatFails checks that a deadline whose handling
// fails is rolled back alone and tried again later, without holding up the
// others.
func TestDeadlinesPostponeOneThatFails(t *testing.T) {
	f := newFixture(t)
	past := time.Now().Add(-time.Minute)
	broken, fine := uuid.NewString(), uuid.NewString()
	f.startSaga(t, broken, past.Add(-time.Second)) // due first
	f.startSaga(t, fine, past)

	fire := command.NewFireDeadlineHandler()
	now := time.Now()
	n, err := f.deadlines.FireDue(context.Background(), now, 10,
		func(ctx context.Context, sagas command.Sagas, orderID string) error {
			if err := fire.Handle(ctx, sagas, command.FireDeadline{OrderID: orderID, Now: now}); err != nil {
				return err
			}
			if orderID == broken {
				return fmt.Errorf("something went wrong after the append")
			}
			return nil
		})
	require.NoError(t, err)
	require.Equal(t, 2, n)

	require.Equal(t, []string{schema.TypeSagaStarted, schema.TypeCancellationDecided}, f.types(t, fine))
	require.Equal(t, []string{schema.TypeSagaStarted}, f.types(t, broken), "the failed deadline's append was rolled back")
	due, ok := f.due(t, broken)
	require.True(t, ok, "the failed deadline is kept")
	require.True(t, due.After(now), "and postponed, so it does not block the queue")
}

// TestDeadlinesFireADueBatchOnOneUnit checks that due deadlines fired
// together are decided on one unit: their decisions are appended by one
// save, in one (sub)transaction, where firing each in a savepoint of its
// own gives each its own transaction id.
func TestDeadlinesFireADueBatchOnOneUnit(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t, time.Minute)
	past := time.Now().Add(-time.Minute)
	ids := make([]string, 20)
	for i := range ids {
		ids[i] = uuid.NewString()
		f.startSaga(t, ids[i], past.Add(time.Duration(i)*time.Millisecond))
	}

	fire := command.NewFireDeadlineHandler()
	now := time.Now()
	n, err := f.deadlines.FireDue(ctx, now, 100, func(ctx context.Context, sagas command.Sagas, orderID string) error {
		return fire.Handle(ctx, sagas, command.FireDeadline{OrderID: orderID, Now: now})
	})
	require.NoError(t, err)
	require.Equal(t, len(ids), n)

	for _, id := range ids {
		require.Equal(t, []string{schema.TypeSagaStarted, schema.TypeCancellationDecided}, f.types(t, id))
		_, ok := f.due(t, id)
		require.False(t, ok, "a fired deadline is deleted")
	}
	var transactions int
	require.NoError(t, f.pool.QueryRow(ctx, `SELECT count(DISTINCT xmin::text) FROM events WHERE event_type = $1`,
		schema.TypeCancellationDecided).Scan(&transactions))
	require.Equal(t, 1, transactions, "the batch's decisions are saved together")
}

// TestDeadlinesDropARowThatCannotFire checks that a deadline row whose saga
// can no longer time out — left behind, say, by an older version — is
// deleted when it comes due, instead of being fired on every poll.
func TestDeadlinesDropARowThatCannotFire(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t, time.Minute)
	orderID := uuid.NewString()
	f.startSaga(t, orderID, time.Now().Add(-time.Minute))
	settle := command.NewSettleSagaHandler(time.Now)
	require.NoError(t, f.inTx(t, func(sagas command.Sagas) error {
		return settle.Handle(ctx, sagas, command.SettleSaga{OrderID: orderID, Cause: schema.Cause{CausationID: uuid.NewString()}})
	}))
	_, err := f.pool.Exec(ctx, `INSERT INTO deadlines (order_id, due_at) VALUES ($1, now() - interval '1 second')`, orderID)
	require.NoError(t, err)

	fire := command.NewFireDeadlineHandler()
	n, err := f.deadlines.FireDue(ctx, time.Now(), 10, func(ctx context.Context, sagas command.Sagas, orderID string) error {
		return fire.Handle(ctx, sagas, command.FireDeadline{OrderID: orderID, Now: time.Now()})
	})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, ok := f.due(t, orderID)
	require.False(t, ok, "the stale row is deleted")
	require.Equal(t, []string{schema.TypeSagaStarted, schema.TypeSagaSettled}, f.types(t, orderID))
}

// TestDeadlinesCountTheOverdue checks the count behind the gauge of sagas
// past their deadline: deadlines passed by more than the grace, until they
// fire.
func TestDeadlinesCountTheOverdue(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t, time.Minute)
	now := time.Now()
	f.startSaga(t, uuid.NewString(), now.Add(-time.Minute))   // due 59 s ago
	f.startSaga(t, uuid.NewString(), now.Add(-5*time.Second)) // due 4 s ago
	f.startSaga(t, uuid.NewString(), now.Add(30*time.Second)) // due in half a minute

	for _, tt := range []struct {
		grace time.Duration
		want  int
	}{
		{grace: 10 * time.Second, want: 1},
		{grace: time.Second, want: 2},
		{grace: 2 * time.Minute, want: 0},
	} {
		t.Run(tt.grace.String(), func(t *testing.T) {
			n, err := f.deadlines.Overdue(ctx, tt.grace)
			require.NoError(t, err)
			require.Equal(t, tt.want, n)
		})
	}

	fire := command.NewFireDeadlineHandler()
	fired, err := f.deadlines.FireDue(ctx, time.Now(), 10, func(ctx context.Context, sagas command.Sagas, orderID string) error {
		return fire.Handle(ctx, sagas, command.FireDeadline{OrderID: orderID, Now: time.Now()})
	})
	require.NoError(t, err)
	require.Equal(t, 2, fired)
	n, err := f.deadlines.Overdue(ctx, 0)
	require.NoError(t, err)
	require.Zero(t, n, "a fired deadline is no longer overdue")
}
