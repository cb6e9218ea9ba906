package eventstore_test

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

// countingConn counts the writes to Postgres: pgx writes once per round
// trip (a statement, or a whole batch, and its Sync).
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// txStore is a store on a one-connection pool whose writes are counted,
// with a table to write to.
func txStore(t *testing.T) (*eventstore.Store, *pgxpool.Pool, *atomic.Int64) {
	t.Helper()
	ctx := testenv.Context(t, time.Minute)
	cfg, err := pgxpool.ParseConfig(testenv.PostgresDatabase(t))
	require.NoError(t, err)
	cfg.MaxConns = 1
	writes := &atomic.Int64{}
	dial := cfg.ConnConfig.DialFunc
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{Conn: c, writes: writes}, nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = pool.Exec(ctx, `CREATE TABLE t (id int PRIMARY KEY, note text NOT NULL)`)
	require.NoError(t, err)
	return eventstore.New(pool, schema.NewCodec(schema.NewRegistry())), pool, writes
}

func notes(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT note FROM t ORDER BY id`)
	require.NoError(t, err)
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return got
}

// Round trips are what the pipelined BEGIN saves: a transaction of one
// statement takes two (the statement with its BEGIN, then COMMIT), not
// three; one that sends nothing takes none.
func TestATransactionsBeginTravelsWithItsFirstStatement(t *testing.T) {
	store, pool, writes := txStore(t)
	ctx := testenv.Context(t, time.Minute)
	for _, first := range []struct {
		name string
		run  func(tx pgx.Tx, id int) error
	}{
		{"Exec", func(tx pgx.Tx, id int) error {
			_, err := tx.Exec(ctx, `INSERT INTO t VALUES ($1, 'exec')`, id)
			return err
		}},
		{"Query", func(tx pgx.Tx, id int) error {
			rows, err := tx.Query(ctx, `INSERT INTO t VALUES ($1, 'query') RETURNING id`, id)
			if err != nil {
				return err
			}
			got, err := pgx.CollectRows(rows, pgx.RowTo[int])
			if err == nil && (len(got) != 1 || got[0] != id) {
				err = errors.New("wrong rows")
			}
			return err
		}},
		{"QueryRow", func(tx pgx.Tx, id int) error {
			var got int
			err := tx.QueryRow(ctx, `INSERT INTO t VALUES ($1, 'queryrow') RETURNING id`, id).Scan(&got)
			if err == nil && got != id {
				err = errors.New("wrong row")
			}
			return err
		}},
		{"SendBatch", func(tx pgx.Tx, id int) error {
			b := &pgx.Batch{}
			b.Queue(`INSERT INTO t VALUES ($1, 'batch')`, id)
			b.Queue(`SELECT count(*) FROM t WHERE id = $1`, id)
			br := tx.SendBatch(ctx, b)
			if _, err := br.Exec(); err != nil {
				return err
			}
			var n int
			if err := br.QueryRow().Scan(&n); err != nil {
				return err
			}
			if n != 1 {
				return errors.New("the batch's results are not its own")
			}
			return br.Close()
		}},
	} {
		t.Run(first.name, func(t *testing.T) {
			id := int(writes.Load()) + 1000
			// Once, so that the statement is prepared and cached.
			require.NoError(t, store.Tx(ctx, func(tx pgx.Tx) error { return first.run(tx, id) }))
			before := writes.Load()
			require.NoError(t, store.Tx(ctx, func(tx pgx.Tx) error { return first.run(tx, id+1) }))
			require.Equal(t, int64(2), writes.Load()-before, "round trips of a one-statement transaction")
		})
	}
	require.Equal(t, []string{"exec", "exec", "query", "query", "queryrow", "queryrow", "batch", "batch"}, notes(t, pool))

	before := writes.Load()
	require.NoError(t, store.Tx(ctx, func(pgx.Tx) error { return nil }))
	require.Equal(t, int64(0), writes.Load()-before, "round trips of an empty transaction")
}

func TestATransactionIsAllOrNothing(t *testing.T) {
	store, pool, _ := txStore(t)
	ctx := testenv.Context(t, time.Minute)
	boom := errors.New("boom")

	// fn fails after its first statement: nothing stays.
	err := store.Tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO t VALUES ($1, 'a')`, 1); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	require.Empty(t, notes(t, pool))

	// The first statement fails: the error is the statement's, and the
	// connection (the pool's only one) is usable afterwards.
	require.NoError(t, store.Tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO t VALUES ($1, 'b')`, 2)
		return err
	}))
	err = store.Tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO t VALUES ($1, 'b again')`, 2)
		return err
	})
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	require.Equal(t, "23505", pgErr.Code) // unique_violation
	err = store.Tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO t VALUES ($1, 'c')`, 3)
		return err
	})
	require.NoError(t, err)
	require.Equal(t, []string{"b", "c"}, notes(t, pool))

	// A panic rolls back too.
	require.Panics(t, func() {
		_ = store.Tx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO t VALUES ($1, 'd')`, 4); err != nil {
				return err
			}
			panic("boom")
		})
	})
	require.Equal(t, []string{"b", "c"}, notes(t, pool))

	// A savepoint rolled back keeps what came before it.
	require.NoError(t, store.Tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO t VALUES ($1, 'e')`, 5); err != nil {
			return err
		}
		err := pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
			if _, err := sp.Exec(ctx, `INSERT INTO t VALUES ($1, 'f')`, 6); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			return errors.New("the savepoint's error was lost")
		}
		return pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
			_, err := sp.Exec(ctx, `INSERT INTO t VALUES ($1, 'g')`, 7)
			return err
		})
	}))
	require.Equal(t, []string{"b", "c", "e", "g"}, notes(t, pool))

	// A statement without arguments may hold several; it runs first too.
	require.NoError(t, store.Tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO t VALUES (8, 'h'); INSERT INTO t VALUES (9, 'i')`)
		return err
	}))
	require.Equal(t, []string{"b", "c", "e", "g", "h", "i"}, notes(t, pool))
}
