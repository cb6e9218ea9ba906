// Package eventstore keeps event-sourced streams in Postgres.
//
// Append writes a stream's new events with optimistic concurrency (a stale
// expected version fails with ErrConcurrency and writes nothing) and, in the
// same transaction, the Kafka message of each event into the outbox, so that
// an event is published if and only if it was committed. The outbox package
// relays those messages to Kafka.
package eventstore

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderflow/orderflow/platform/pgmigrate"
	"github.com/orderflow/orderflow/schema"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the event store's tables as a migration set.
func Migrations() pgmigrate.Set {
	return pgmigrate.Set{Name: "eventstore", FS: migrations, Dir: "migrations"}
}

// NotifyChannel is the Postgres channel notified when outbox rows commit.
const NotifyChannel = "orderflow_outbox"

// Sentinel errors.
var (
	// ErrConcurrency means the stream's version was not the expected one:
	// someone else appended first. Reload and decide again.
	ErrConcurrency = errors.New("eventstore: stream version conflict")
	// ErrIdempotencyConflict means an idempotency key was reused with a
	// different command.
	ErrIdempotencyConflict = errors.New("eventstore: idempotency key reused with different input")
	// ErrStreamNotFound means the stream has no events.
	ErrStreamNotFound = errors.New("eventstore: stream not found")
)

// Special expected versions.
const (
	// NewStream expects the stream not to exist yet.
	NewStream = 0
	// AnyVersion appends after whatever the stream holds.
	AnyVersion = -1
)

// StreamID names one stream.
type StreamID struct {
	Type string
	ID   string
}

func (s StreamID) String() string { return s.Type + "/" + s.ID }

// DB is what the store needs of a connection, a pool or a transaction.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Store appends to and loads streams.
type Store struct {
	pool   *pgxpool.Pool
	codec  *schema.Codec
	topics func(aggregateType string) (string, error)
	// committed is signalled after a transaction run by Tx commits; the
	// notifier turns that into one NOTIFY for the relay.
	committed chan struct{}
	local     Waker
}

// Waker is an outbox relay in the same process as the store.
type Waker interface {
	// Wake tells the relay that outbox rows committed. It reports whether
	// the relay is the active one and will fetch them; if not, the store
	// announces the commit with a NOTIFY, for the active relay elsewhere.
	Wake() bool
	// Committed hands the relay every outbox row a transaction just
	// committed, in id order, so that it need not read them back. It
	// reports what Wake does.
	Committed(rows []OutboxRow) bool
}

// OutboxRow is an outbox row as an append of this process wrote it.
type OutboxRow struct {
	ID      int64
	EventID string
	Topic   string
	Key     string
	Payload []byte
	Headers []schema.MessageHeader
}

// Option configures a Store.
type Option func(*Store)

// WithTopics overrides the aggregate-type-to-topic mapping (tests use it to
// publish on topics of their own).
func WithTopics(topicFor func(aggregateType string) (string, error)) Option {
	return func(s *Store) { s.topics = topicFor }
}

// WithLocalRelay wakes the process's own relay directly after a commit:
// when it is the active relay, no NOTIFY is needed, which saves Postgres a
// statement per commit and the relay the notification's trip.
func WithLocalRelay(w Waker) Option {
	return func(s *Store) { s.local = w }
}

// New returns a store on pool.
func New(pool *pgxpool.Pool, codec *schema.Codec, opts ...Option) *Store {
	s := &Store{pool: pool, codec: codec, topics: schema.TopicFor, committed: make(chan struct{}, 1)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Pool returns the store's connection pool, for callers that open their own
// transaction and then use the *Tx methods.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Codec returns the store's codec.
func (s *Store) Codec() *schema.Codec { return s.codec }

// Tx runs fn in a transaction and, once it committed, wakes the outbox
// relay (directly, or through the notifier). Use it for every transaction that calls AppendTx: a transaction
// committed otherwise is still relayed, but only at the relay's next poll.
//
// The transaction's BEGIN goes to Postgres with its first statement, in one
// round trip (see pipelinedTx).
func (s *Store) Tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release() // a connection left inside a transaction is closed, not reused
	tx := &pipelinedTx{conn: conn.Conn()}
	if err := runTx(ctx, tx, fn); err != nil {
		return err
	}
	switch {
	case !tx.begun:
	case len(tx.outbox) > 0 && !tx.untracked:
		s.committedRows(tx.outbox)
	default:
		s.wake()
	}
	return nil
}

// ErrCommitUnknown means a transaction's work succeeded but its COMMIT
// failed: whether it took effect is unknown, so it must not simply be done
// again (a create without an idempotency key would be stored twice).
var ErrCommitUnknown = errors.New("eventstore: commit failed, outcome unknown")

// Redo runs fn in a transaction as Tx does, and again at once while it
// fails with ErrConcurrency — another writer moved one of its streams, so
// the work is redone on the new state — at most attempts times, returning
// the last ErrConcurrency then. A COMMIT that failed after fn succeeded is
// not redone: it is returned wrapping ErrCommitUnknown.
func (s *Store) Redo(ctx context.Context, attempts int, fn func(tx pgx.Tx) error) error {
	var err error
	for range attempts {
		done := false
		err = s.Tx(ctx, func(tx pgx.Tx) error {
			if err := fn(tx); err != nil {
				return err
			}
			done = true
			return nil
		})
		if err != nil && done {
			return fmt.Errorf("commit: %w: %w", ErrCommitUnknown, err)
		}
		if !errors.Is(err, ErrConcurrency) {
			return err
		}
	}
	return err
}

// RunNotifier turns commits made through Tx into NOTIFYs on NotifyChannel
// until ctx is done, coalescing commits that happen while one is being sent.
//
// Why not NOTIFY inside the appending transaction: Postgres serialises the
// commits of all transactions that notify (a server-wide lock held until
// the commit's WAL flush), which defeats group commit and halved the append
// rate. A NOTIFY sent on its own, after the commit, holds that lock for
// microseconds and wakes the relay of any replica.
func (s *Store) RunNotifier(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.committed:
		}
		if _, err := s.pool.Exec(ctx, "SELECT pg_notify($1, '')", NotifyChannel); err != nil && ctx.Err() == nil {
			// Not fatal: the relay also polls. Keep going.
			continue
		}
	}
}

// Append appends events to stream in a transaction of its own and returns
// them with their versions assigned.
//
// With an expected version it takes one round trip: the version check and
// the inserts go in one pipelined batch, which Postgres runs as one implicit
// transaction, and each insert only takes effect if the check took effect
// (it reads the stream's new version back). A failed check therefore writes
// nothing; any error rolls the whole batch back.
func (s *Store) Append(ctx context.Context, stream StreamID, expected int, events []schema.Envelope) ([]schema.Envelope, error) {
	if expected == AnyVersion {
		var out []schema.Envelope
		err := s.Tx(ctx, func(tx pgx.Tx) error {
			var err error
			out, err = s.AppendTx(ctx, tx, stream, expected, events)
			return err
		})
		return out, err
	}
	out, rows, err := s.send(ctx, s.pool, stream, expected, events, true)
	if err != nil {
		return nil, err
	}
	s.committedRows(rows)
	return out, nil
}

// committedRows hands the local relay the outbox rows a transaction
// committed, or else wakes the notifier.
func (s *Store) committedRows(rows []OutboxRow) {
	slices.SortFunc(rows, func(a, b OutboxRow) int { return cmp.Compare(a.ID, b.ID) })
	if s.local != nil && s.local.Committed(rows) {
		return
	}
	s.wake()
}

// wake tells the local relay, or else the notifier, that an append committed.
func (s *Store) wake() {
	if s.local != nil && s.local.Wake() {
		return
	}
	select {
	case s.committed <- struct{}{}:
	default: // a wake-up is already pending: one NOTIFY covers both
	}
}

// AppendTx appends inside tx; nothing is visible or published unless tx
// commits. Run tx with Tx so that the relay is woken at once. After any
// error, and ErrConcurrency in particular, the transaction must be rolled
// back (Tx and pgx.BeginFunc do): some of the batch may have run. expected is the version the caller loaded (NewStream for a new
// stream, AnyVersion to skip the check).
func (s *Store) AppendTx(ctx context.Context, tx pgx.Tx, stream StreamID, expected int, events []schema.Envelope) ([]schema.Envelope, error) {
	if expected == AnyVersion && len(events) > 0 {
		// The new version is only known from the answer: a round trip of its own.
		var last int
		err := tx.QueryRow(ctx, `INSERT INTO streams (stream_type, stream_id, version) VALUES ($1, $2, $3)
			ON CONFLICT (stream_type, stream_id) DO UPDATE SET version = streams.version + $3
			RETURNING version`, stream.Type, stream.ID, len(events)).Scan(&last)
		if err != nil {
			return nil, fmt.Errorf("append %s: %w", stream, err)
		}
		expected = -last
	}
	out, rows, err := s.send(ctx, tx, stream, expected, events, false)
	track(tx, rows)
	return out, err
}

// batcher is what send needs: a pool (implicit transaction) or a transaction.
type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// send queues the stream's version check (unless expected is -last: the
// stream was already moved to version last) and the events' and outbox rows'
// inserts in one batch, and checks the answers. The version check is the
// first statement of the batch: one round trip for all. If it matches no
// row the inserts may have run; with guarded, each insert only takes effect
// if the stream reached its new version in this transaction, so nothing is
// written; without, the caller's transaction must roll back on the error.
func (s *Store) send(ctx context.Context, db batcher, stream StreamID, expected int, events []schema.Envelope, guarded bool) ([]schema.Envelope, []OutboxRow, error) {
	if len(events) == 0 {
		return nil, nil, nil
	}
	if stream.Type == "" || stream.ID == "" {
		return nil, nil, errors.New("append: stream type and id are required")
	}
	n := len(events)
	var (
		last  int
		check string // what a failed check means, "" when there is no check
		batch = &pgx.Batch{}
	)
	switch {
	case expected < 0: // already moved by AnyVersion
		last = -expected
	case expected == NewStream:
		batch.Queue(`INSERT INTO streams (stream_type, stream_id, version) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, stream.Type, stream.ID, n)
		last, check = n, "stream exists"
	default:
		batch.Queue(`UPDATE streams SET version = version + $4
			WHERE stream_type = $1 AND stream_id = $2 AND version = $3`, stream.Type, stream.ID, expected, n)
		last, check = expected+n, fmt.Sprintf("not at version %d", expected)
	}

	insertEvent, insertOutbox := insertEventSQL, insertOutboxSQL
	if guarded {
		insertEvent, insertOutbox = guardedInsertEventSQL, guardedInsertOutboxSQL
	}
	out := make([]schema.Envelope, n)
	rows := make([]OutboxRow, n)
	for i, env := range events {
		env.Version = last - n + i + 1
		env.AggregateType, env.AggregateID = stream.Type, stream.ID
		if env.Type == "" && env.Payload != nil {
			env.Type = env.Payload.EventType()
		}
		msg, err := s.message(env)
		if err != nil {
			return nil, nil, fmt.Errorf("append %s: %w", stream, err)
		}
		rows[i] = OutboxRow{EventID: env.ID, Topic: msg.topic, Key: env.CorrelationID, Payload: msg.payload, Headers: msg.headers}
		eventArgs := []any{stream.Type, stream.ID, env.Version, env.ID, env.Type, msg.data,
			env.CorrelationID, env.CausationID, env.TraceParent, env.OccurredAt}
		outboxArgs := []any{env.ID, msg.topic, env.CorrelationID, msg.payload, msg.headers}
		if guarded {
			eventArgs = append(eventArgs, last)
			outboxArgs = append(outboxArgs, stream.Type, stream.ID, last)
		}
		batch.Queue(insertEvent, eventArgs...)
		batch.Queue(insertOutbox, outboxArgs...)
		out[i] = env
	}
	results := db.SendBatch(ctx, batch)
	if check != "" {
		tag, err := results.Exec()
		if err == nil && tag.RowsAffected() == 0 {
			_ = results.Close()
			return nil, nil, fmt.Errorf("append %s: %s: %w", stream, check, ErrConcurrency)
		}
		if err != nil {
			_ = results.Close()
			return nil, nil, fmt.Errorf("append %s: %w", stream, err)
		}
	}
	// Each event's insert, then its outbox row's, which returns the row's id.
	var err error
	for i := range rows {
		if _, err = results.Exec(); err != nil {
			break
		}
		if err = results.QueryRow().Scan(&rows[i].ID); err != nil {
			break
		}
	}
	if cerr := results.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" { // unique_violation
			return nil, nil, fmt.Errorf("append %s: %s: %w", stream, pgErr.ConstraintName, ErrConcurrency)
		}
		return nil, nil, fmt.Errorf("append %s: %w", stream, err)
	}
	return out, rows, nil
}

// The inserts of an append. The guarded forms take effect only if the
// stream reached the append's last version in the same transaction: Append
// runs them in an implicit transaction right after the version check.
const (
	insertEventSQL = `INSERT INTO events (stream_type, stream_id, version, event_id, event_type, data,
			correlation_id, causation_id, trace_parent, occurred_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
	insertOutboxSQL = `INSERT INTO outbox (event_id, topic, key, payload, headers) VALUES ($1, $2, $3, $4, $5) RETURNING id`

	guardedInsertEventSQL = `INSERT INTO events (stream_type, stream_id, version, event_id, event_type, data,
			correlation_id, causation_id, trace_parent, occurred_at)
		SELECT $1::text, $2::text, $3::int, $4::uuid, $5::text, $6::jsonb, $7::text, $8::text, $9::text, $10::timestamptz
		WHERE EXISTS (SELECT 1 FROM streams WHERE stream_type = $1 AND stream_id = $2 AND version = $11)`
	guardedInsertOutboxSQL = `INSERT INTO outbox (event_id, topic, key, payload, headers)
		SELECT $1::uuid, $2::text, $3::text, $4::bytea, $5::jsonb
		WHERE EXISTS (SELECT 1 FROM streams WHERE stream_type = $6 AND stream_id = $7 AND version = $8)
		RETURNING id`
)

type outboxMessage struct {
	topic   string
	data    []byte
	payload []byte
	headers []schema.MessageHeader
}

func (s *Store) message(env schema.Envelope) (outboxMessage, error) {
	payload, data, err := s.codec.EncodeParts(env)
	if err != nil {
		return outboxMessage{}, err
	}
	topic, err := s.topics(env.AggregateType)
	if err != nil {
		return outboxMessage{}, err
	}
	return outboxMessage{
		topic:   topic,
		data:    data,
		payload: payload,
		headers: schema.MessageHeaders(env),
	}, nil
}

// Load returns every event of stream, oldest first, or ErrStreamNotFound.
func (s *Store) Load(ctx context.Context, stream StreamID) ([]schema.Envelope, error) {
	return s.LoadTx(ctx, s.pool, stream)
}

// LoadTx is Load on db, typically a transaction that will append next.
func (s *Store) LoadTx(ctx context.Context, db DB, stream StreamID) ([]schema.Envelope, error) {
	rows, err := db.Query(ctx, `SELECT event_id::text, event_type, version, data, correlation_id, causation_id,
			trace_parent, occurred_at
		FROM events WHERE stream_type = $1 AND stream_id = $2 ORDER BY version`, stream.Type, stream.ID)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", stream, err)
	}
	defer rows.Close()
	var out []schema.Envelope
	for rows.Next() {
		env := schema.Envelope{AggregateType: stream.Type, AggregateID: stream.ID}
		var data []byte
		if err := rows.Scan(&env.ID, &env.Type, &env.Version, &data, &env.CorrelationID, &env.CausationID,
			&env.TraceParent, &env.OccurredAt); err != nil {
			return nil, fmt.Errorf("load %s: %w", stream, err)
		}
		env.Type, env.Payload, err = s.codec.Registry().DecodeData(env.Type, data)
		if err != nil {
			return nil, fmt.Errorf("load %s version %d: %w", stream, env.Version, err)
		}
		out = append(out, env)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load %s: %w", stream, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("load %s: %w", stream, ErrStreamNotFound)
	}
	return out, nil
}
