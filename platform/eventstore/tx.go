package eventstore

import (
	"context"
	"errors"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pipelinedTx is the transaction Store.Tx runs its function in: a pgx.Tx
// whose BEGIN is not a round trip of its own but travels to Postgres with
// the transaction's first statement, in one pipeline (pgx sends a Batch as
// one round trip, and a BEGIN inside it keeps the transaction open after
// it). Every consumer batch, group commit and deadline poll is a
// transaction of three to five round trips, and on this kind of machine a
// round trip to a sleeping backend costs more CPU than the statement it
// carries (docs/performance.md), so the one saved is worth the type. A
// transaction that makes no statement costs no round trip at all.
//
// It behaves as pgx's own transaction does, with one exception: an Exec
// without arguments as the first statement goes after a BEGIN of its own,
// since it may hold several statements, which only the simple protocol
// runs. LargeObjects is not supported (nothing in the stores uses them).
type pipelinedTx struct {
	conn       *pgx.Conn
	begun      bool // BEGIN has been sent and succeeded
	closed     bool // committed or rolled back
	savepoints int64
	// outbox holds the outbox rows the store's appends wrote in this
	// transaction, for the relay once it committed (Store.Tx); untracked
	// says a savepoint was taken, which could roll some of them back, so
	// they are not handed over but read back by the relay.
	outbox    []OutboxRow
	untracked bool
}

// track records rows written in db's transaction, if db is a transaction
// of Store.Tx.
func track(db batcher, rows []OutboxRow) {
	if t, ok := db.(*pipelinedTx); ok {
		t.outbox = append(t.outbox, rows...)
	}
}

var _ pgx.Tx = (*pipelinedTx)(nil)

// runTx runs fn in tx as pgx.BeginFunc does: committed if fn returns nil,
// rolled back if it fails or panics.
func runTx(ctx context.Context, tx *pipelinedTx, fn func(pgx.Tx) error) (err error) {
	defer func() {
		if rerr := tx.Rollback(ctx); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) && err == nil {
			err = rerr
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// begin sends BEGIN on its own, for the statements that cannot carry it.
func (t *pipelinedTx) begin(ctx context.Context) error {
	if t.begun {
		return nil
	}
	if _, err := t.conn.Exec(ctx, "begin"); err != nil {
		return err
	}
	t.begun = true
	return nil
}

// first sends the transaction's first statement, with its BEGIN.
func (t *pipelinedTx) first(ctx context.Context, sql string, args []any) pgx.BatchResults {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	return t.SendBatch(ctx, b)
}

func (t *pipelinedTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if t.closed {
		return failedBatch{pgx.ErrTxClosed}
	}
	if t.begun {
		return t.conn.SendBatch(ctx, b)
	}
	p := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(b.QueuedQueries)+1)}
	p.Queue("begin")
	p.QueuedQueries = append(p.QueuedQueries, b.QueuedQueries...)
	br := t.conn.SendBatch(ctx, p)
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return failedBatch{err}
	}
	t.begun = true
	return br
}

func (t *pipelinedTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if t.closed {
		return pgconn.CommandTag{}, pgx.ErrTxClosed
	}
	if !t.begun && len(args) == 0 {
		if err := t.begin(ctx); err != nil {
			return pgconn.CommandTag{}, err
		}
	}
	if t.begun {
		return t.conn.Exec(ctx, sql, args...)
	}
	br := t.first(ctx, sql, args)
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (t *pipelinedTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if t.closed {
		return failedRows{pgx.ErrTxClosed}, pgx.ErrTxClosed
	}
	if t.begun {
		return t.conn.Query(ctx, sql, args...)
	}
	br := t.first(ctx, sql, args)
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return failedRows{err}, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

func (t *pipelinedTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if t.begun && !t.closed {
		return t.conn.QueryRow(ctx, sql, args...)
	}
	rows, err := t.Query(ctx, sql, args...)
	return firstRow{rows: rows, err: err}
}

func (t *pipelinedTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if t.closed {
		return 0, pgx.ErrTxClosed
	}
	if err := t.begin(ctx); err != nil {
		return 0, err
	}
	return t.conn.CopyFrom(ctx, table, columns, src)
}

func (t *pipelinedTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	if t.closed {
		return nil, pgx.ErrTxClosed
	}
	return t.conn.Prepare(ctx, name, sql)
}

// LargeObjects panics: pgx builds them only on its own transactions.
func (t *pipelinedTx) LargeObjects() pgx.LargeObjects {
	panic("eventstore: large objects are not supported in Store.Tx")
}

func (t *pipelinedTx) Conn() *pgx.Conn { return t.conn }

// Begin starts a savepoint, as pgx's transactions do.
func (t *pipelinedTx) Begin(ctx context.Context) (pgx.Tx, error) {
	t.untracked = true
	if t.closed {
		return nil, pgx.ErrTxClosed
	}
	if err := t.begin(ctx); err != nil {
		return nil, err
	}
	t.savepoints++
	name := "sp_" + strconv.FormatInt(t.savepoints, 10)
	if _, err := t.conn.Exec(ctx, "savepoint "+name); err != nil {
		return nil, err
	}
	return &savepoint{Tx: t, name: name}, nil
}

// Commit commits, with no round trip if nothing was sent.
func (t *pipelinedTx) Commit(ctx context.Context) error {
	if t.closed {
		return pgx.ErrTxClosed
	}
	t.closed = true
	if !t.begun {
		return nil
	}
	tag, err := t.conn.Exec(ctx, "commit")
	if err != nil {
		if t.conn.PgConn().TxStatus() != 'I' {
			_ = t.conn.Close(ctx) // the error is what matters
		}
		return err
	}
	if tag.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// Rollback rolls back; a failure closes the connection, as pgx's does.
func (t *pipelinedTx) Rollback(ctx context.Context) error {
	if t.closed {
		return pgx.ErrTxClosed
	}
	t.closed = true
	if !t.begun {
		return nil
	}
	if _, err := t.conn.Exec(ctx, "rollback"); err != nil {
		_ = t.conn.Close(ctx)
		return err
	}
	return nil
}

// savepoint is a transaction nested in a pipelinedTx.
type savepoint struct {
	pgx.Tx // the pipelinedTx, for every statement
	name   string
	closed bool
}

func (s *savepoint) Commit(ctx context.Context) error { return s.end(ctx, "release savepoint ") }

func (s *savepoint) Rollback(ctx context.Context) error { return s.end(ctx, "rollback to savepoint ") }

func (s *savepoint) end(ctx context.Context, statement string) error {
	if s.closed {
		return pgx.ErrTxClosed
	}
	s.closed = true
	_, err := s.Tx.Exec(ctx, statement+s.name)
	return err
}

// batchRows are the rows of a transaction's first statement: closing them
// also reads the end of the batch that carried its BEGIN.
type batchRows struct {
	pgx.Rows
	br  pgx.BatchResults
	err error
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if r.br != nil {
		r.err = r.br.Close()
		r.br = nil
	}
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// firstRow is QueryRow's answer for a transaction's first statement, read
// as pgx reads its own.
type firstRow struct {
	rows pgx.Rows
	err  error
}

func (r firstRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// failedBatch answers every result of a batch that could not be sent.
type failedBatch struct{ err error }

func (b failedBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, b.err }
func (b failedBatch) Query() (pgx.Rows, error)         { return failedRows(b), b.err }
func (b failedBatch) QueryRow() pgx.Row                { return firstRow{err: b.err} }
func (b failedBatch) Close() error                     { return b.err }

// failedRows are the rows of a query that failed before it was read.
type failedRows struct{ err error }

func (r failedRows) Close()                                       {}
func (r failedRows) Err() error                                   { return r.err }
func (r failedRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (r failedRows) FieldDescriptions() []pgconn.FieldDescription { return nil }
func (r failedRows) Next() bool                                   { return false }
func (r failedRows) Scan(...any) error                            { return r.err }
func (r failedRows) Values() ([]any, error)                       { return nil, r.err }
func (r failedRows) RawValues() [][]byte                          { return nil }
func (r failedRows) Conn() *pgx.Conn                              { return nil }
