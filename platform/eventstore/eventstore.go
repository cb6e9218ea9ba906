// Package eventstore keeps event-sourced streams in Postgres.
//
// Append writes a stream's new events with optimistic concurrency (a stale
// expected version fails with ErrConcurrency and writes nothing) and, in the
// same transaction, the Kafka message of each event into the outbox, so that
// an event is published if and only if it was committed. The outbox package
// relays those messages to Kafka.
package eventstore

import (
	"context"
	"embed"
	"errors"
	"fmt"

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
}

// Option configures a Store.
type Option func(*Store)

// WithTopics overrides the aggregate-type-to-topic mapping (tests use it to
// publish on topics of their own).
func WithTopics(topicFor func(aggregateType string) (string, error)) Option {
	return func(s *Store) { s.topics = topicFor }
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
// relay. Use it for every transaction that calls AppendTx: a transaction
// committed otherwise is still relayed, but only at the relay's next poll.
func (s *Store) Tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if err := pgx.BeginFunc(ctx, s.pool, fn); err != nil {
		return err
	}
	select {
	case s.committed <- struct{}{}:
	default: // a wake-up is already pending: one NOTIFY covers both
	}
	return nil
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

// Append appends events to stream in its own transaction and returns them with
// their versions assigned.
func (s *Store) Append(ctx context.Context, stream StreamID, expected int, events []schema.Envelope) ([]schema.Envelope, error) {
	var out []schema.Envelope
	err := s.Tx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = s.AppendTx(ctx, tx, stream, expected, events)
		return err
	})
	return out, err
}

// AppendTx appends inside tx; nothing is visible or published unless tx
// commits. Run tx with Tx so that the relay is woken at once. After any
// error, and ErrConcurrency in particular, the transaction must be rolled
// back (Tx and pgx.BeginFunc do): some of the batch may have run. expected is the version the caller loaded (NewStream for a new
// stream, AnyVersion to skip the check).
func (s *Store) AppendTx(ctx context.Context, tx pgx.Tx, stream StreamID, expected int, events []schema.Envelope) ([]schema.Envelope, error) {
	if len(events) == 0 {
		return nil, nil
	}
	if stream.Type == "" || stream.ID == "" {
		return nil, errors.New("append: stream type and id are required")
	}
	n := len(events)
	// The stream's version check is the first statement of the same
	// pipelined batch as the inserts: one round trip instead of two. If it
	// matches no row the inserts may have run, but the caller's transaction
	// is rolled back on the error (see Tx), so nothing of them remains.
	var (
		last  int
		check string // what the failed check means, "" when there is none
		batch = &pgx.Batch{}
	)
	switch {
	case expected == AnyVersion:
		// The new version is only known from the answer: a round trip of its own.
		err := tx.QueryRow(ctx, `INSERT INTO streams (stream_type, stream_id, version) VALUES ($1, $2, $3)
			ON CONFLICT (stream_type, stream_id) DO UPDATE SET version = streams.version + $3
			RETURNING version`, stream.Type, stream.ID, n).Scan(&last)
		if err != nil {
			return nil, fmt.Errorf("append %s: %w", stream, err)
		}
	case expected == NewStream:
		batch.Queue(`INSERT INTO streams (stream_type, stream_id, version) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, stream.Type, stream.ID, n)
		last, check = n, "stream exists"
	case expected > 0:
		batch.Queue(`UPDATE streams SET version = version + $4
			WHERE stream_type = $1 AND stream_id = $2 AND version = $3`, stream.Type, stream.ID, expected, n)
		last, check = expected+n, fmt.Sprintf("not at version %d", expected)
	default:
		return nil, fmt.Errorf("append %s: invalid expected version %d", stream, expected)
	}

	out := make([]schema.Envelope, n)
	for i, env := range events {
		env.Version = last - n + i + 1
		env.AggregateType, env.AggregateID = stream.Type, stream.ID
		if env.Type == "" && env.Payload != nil {
			env.Type = env.Payload.EventType()
		}
		msg, err := s.message(env)
		if err != nil {
			return nil, fmt.Errorf("append %s: %w", stream, err)
		}
		batch.Queue(`INSERT INTO events (stream_type, stream_id, version, event_id, event_type, data,
				correlation_id, causation_id, trace_parent, occurred_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			stream.Type, stream.ID, env.Version, env.ID, env.Type, msg.data,
			env.CorrelationID, env.CausationID, env.TraceParent, env.OccurredAt)
		batch.Queue(`INSERT INTO outbox (event_id, topic, key, payload, headers) VALUES ($1, $2, $3, $4, $5)`,
			env.ID, msg.topic, env.CorrelationID, msg.payload, msg.headers)
		out[i] = env
	}
	results := tx.SendBatch(ctx, batch)
	if check != "" {
		tag, err := results.Exec()
		if err == nil && tag.RowsAffected() == 0 {
			_ = results.Close() // the rest no longer matters: the transaction must roll back
			return nil, fmt.Errorf("append %s: %s: %w", stream, check, ErrConcurrency)
		}
		if err != nil {
			_ = results.Close()
			return nil, fmt.Errorf("append %s: %w", stream, err)
		}
	}
	if err := results.Close(); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" { // unique_violation
			return nil, fmt.Errorf("append %s: %s: %w", stream, pgErr.ConstraintName, ErrConcurrency)
		}
		return nil, fmt.Errorf("append %s: %w", stream, err)
	}
	return out, nil
}

type outboxMessage struct {
	topic   string
	data    []byte
	payload []byte
	headers []schema.MessageHeader
}

func (s *Store) message(env schema.Envelope) (outboxMessage, error) {
	payload, err := s.codec.Encode(env)
	if err != nil {
		return outboxMessage{}, err
	}
	data, err := s.codec.EncodeData(env.Payload)
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
