package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/orderflow/orderflow/schema"
)

// StreamAppend is one stream's new events at the version they were decided
// on: NewStream for a stream that must not exist yet.
type StreamAppend struct {
	Stream   StreamID
	Expected int
	Events   []schema.Envelope
}

// LoadStreams returns the events of the streams of streamType named by ids,
// each stream's oldest first, in one query. Streams without events are
// absent from the map.
func (s *Store) LoadStreams(ctx context.Context, db DB, streamType string, ids []string) (map[string][]schema.Envelope, error) {
	if len(ids) == 0 {
		return map[string][]schema.Envelope{}, nil
	}
	rows, err := db.Query(ctx, `SELECT stream_id, event_id::text, event_type, version, data, correlation_id,
			causation_id, trace_parent, occurred_at
		FROM events WHERE stream_type = $1 AND stream_id = ANY($2) ORDER BY stream_id, version`, streamType, ids)
	if err != nil {
		return nil, fmt.Errorf("load %s streams: %w", streamType, err)
	}
	defer rows.Close()
	out := make(map[string][]schema.Envelope, len(ids))
	for rows.Next() {
		env := schema.Envelope{AggregateType: streamType}
		var data []byte
		if err := rows.Scan(&env.AggregateID, &env.ID, &env.Type, &env.Version, &data, &env.CorrelationID,
			&env.CausationID, &env.TraceParent, &env.OccurredAt); err != nil {
			return nil, fmt.Errorf("load %s streams: %w", streamType, err)
		}
		env.Type, env.Payload, err = s.codec.Registry().DecodeData(env.Type, data)
		if err != nil {
			return nil, fmt.Errorf("load %s/%s version %d: %w", streamType, env.AggregateID, env.Version, err)
		}
		out[env.AggregateID] = append(out[env.AggregateID], env)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load %s streams: %w", streamType, err)
	}
	return out, nil
}

// AppendManyTx appends to several streams inside tx in one round trip: the
// streams' version checks, every event and every outbox row go as four
// statements of one pipelined batch, whatever the number of streams. Each
// stream may appear once. It returns the stored envelopes of each append, in
// the order given. If any stream is not at its expected version it returns
// ErrConcurrency, and tx must be rolled back (Store.Tx does): some of the
// batch may have run.
func (s *Store) AppendManyTx(ctx context.Context, tx pgx.Tx, appends []StreamAppend) ([][]schema.Envelope, error) {
	if one, ok := single(appends); ok {
		// One stream: the per-row statements are cheaper than unnest's.
		out := make([][]schema.Envelope, len(appends))
		stored, rows, err := s.send(ctx, tx, appends[one].Stream, appends[one].Expected, appends[one].Events, false)
		if err != nil {
			return nil, err
		}
		track(tx, rows)
		out[one] = stored
		return out, nil
	}
	var (
		out         = make([][]schema.Envelope, len(appends))
		seen        = make(map[StreamID]bool, len(appends))
		news, moves streamRows
		evs         eventRows
		obs         outboxRows
	)
	for i, a := range appends {
		if len(a.Events) == 0 {
			continue
		}
		if a.Stream.Type == "" || a.Stream.ID == "" {
			return nil, errors.New("append: stream type and id are required")
		}
		if a.Expected < 0 {
			return nil, fmt.Errorf("append %s: AppendManyTx needs an expected version", a.Stream)
		}
		if seen[a.Stream] {
			return nil, fmt.Errorf("append %s: the stream appears twice in one AppendManyTx", a.Stream)
		}
		seen[a.Stream] = true
		n := len(a.Events)
		if a.Expected == NewStream {
			news.add(a.Stream, 0, n)
		} else {
			moves.add(a.Stream, a.Expected, a.Expected+n)
		}
		out[i] = make([]schema.Envelope, n)
		for j, env := range a.Events {
			env.Version = a.Expected + j + 1
			env.AggregateType, env.AggregateID = a.Stream.Type, a.Stream.ID
			if env.Type == "" && env.Payload != nil {
				env.Type = env.Payload.EventType()
			}
			msg, err := s.message(env)
			if err != nil {
				return nil, fmt.Errorf("append %s: %w", a.Stream, err)
			}
			evs.add(env, msg.data)
			if err := obs.add(env, msg); err != nil {
				return nil, fmt.Errorf("append %s: headers: %w", a.Stream, err)
			}
			out[i][j] = env
		}
	}
	if len(evs.ids) == 0 {
		return out, nil
	}

	batch := &pgx.Batch{}
	if len(news.ids) > 0 {
		batch.Queue(`INSERT INTO streams (stream_type, stream_id, version)
			SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) ON CONFLICT DO NOTHING`,
			news.types, news.ids, news.next)
	}
	if len(moves.ids) > 0 {
		batch.Queue(`UPDATE streams s SET version = v.next
			FROM unnest($1::text[], $2::text[], $3::int[], $4::int[]) AS v(stream_type, stream_id, expected, next)
			WHERE s.stream_type = v.stream_type AND s.stream_id = v.stream_id AND s.version = v.expected`,
			moves.types, moves.ids, moves.expected, moves.next)
	}
	batch.Queue(`INSERT INTO events (stream_type, stream_id, version, event_id, event_type, data,
			correlation_id, causation_id, trace_parent, occurred_at)
		SELECT t, i, v, e, et, d::jsonb, c, ca, tr, o
		FROM unnest($1::text[], $2::text[], $3::int[], $4::uuid[], $5::text[], $6::text[],
			$7::text[], $8::text[], $9::text[], $10::timestamptz[]) AS u(t, i, v, e, et, d, c, ca, tr, o)`,
		evs.types, evs.ids, evs.versions, evs.eventIDs, evs.eventTypes, evs.data,
		evs.correlations, evs.causations, evs.traces, evs.occurred)
	batch.Queue(`INSERT INTO outbox (event_id, topic, key, payload, headers)
		SELECT e, t, k, p, h::jsonb FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::text[]) AS u(e, t, k, p, h)
		RETURNING id, event_id::text`,
		obs.eventIDs, obs.topics, obs.keys, obs.payloads, obs.headers)

	results := tx.SendBatch(ctx, batch)
	for _, check := range []struct {
		rows streamRows
		what string
	}{{news, "a new stream exists already"}, {moves, "a stream is not at its expected version"}} {
		if len(check.rows.ids) == 0 {
			continue
		}
		tag, err := results.Exec()
		if err == nil && tag.RowsAffected() != int64(len(check.rows.ids)) {
			err = fmt.Errorf("append %d streams: %s: %w", len(appends), check.what, ErrConcurrency)
		}
		if err != nil {
			_ = results.Close()
			return nil, appendError(err)
		}
	}
	rows, err := obs.written(results)
	if cerr := results.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, appendError(err)
	}
	track(tx, rows)
	return out, nil
}

// single returns the index of the only append with events, if exactly one
// has any and it has an expected version.
func single(appends []StreamAppend) (int, bool) {
	found := -1
	for i, a := range appends {
		if len(a.Events) == 0 {
			continue
		}
		if found >= 0 || a.Expected < 0 {
			return 0, false
		}
		found = i
	}
	return found, found >= 0
}

// appendError turns a unique violation (a version or an event id already
// stored) into ErrConcurrency.
func appendError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" { // unique_violation
		return fmt.Errorf("append: %s: %w", pgErr.ConstraintName, ErrConcurrency)
	}
	if errors.Is(err, ErrConcurrency) {
		return err
	}
	return fmt.Errorf("append: %w", err)
}

// streamRows are the columns of streams rows, for unnest.
type streamRows struct {
	types, ids     []string
	expected, next []int32
}

func (r *streamRows) add(s StreamID, expected, next int) {
	r.types, r.ids = append(r.types, s.Type), append(r.ids, s.ID)
	r.expected, r.next = append(r.expected, int32(expected)), append(r.next, int32(next))
}

// eventRows are the columns of events rows, for unnest.
type eventRows struct {
	types, ids, eventIDs, eventTypes []string
	correlations, causations, traces []string
	versions                         []int32
	data                             []string // JSON
	occurred                         []time.Time
}

func (r *eventRows) add(env schema.Envelope, data []byte) {
	r.types, r.ids = append(r.types, env.AggregateType), append(r.ids, env.AggregateID)
	r.versions = append(r.versions, int32(env.Version))
	r.eventIDs, r.eventTypes = append(r.eventIDs, env.ID), append(r.eventTypes, env.Type)
	r.data = append(r.data, string(data))
	r.correlations, r.causations = append(r.correlations, env.CorrelationID), append(r.causations, env.CausationID)
	r.traces, r.occurred = append(r.traces, env.TraceParent), append(r.occurred, env.OccurredAt)
}

// outboxRows are the columns of outbox rows, for unnest.
type outboxRows struct {
	eventIDs, topics, keys []string
	payloads               [][]byte
	headers                []string // JSON
	messages               []outboxMessage
}

func (r *outboxRows) add(env schema.Envelope, msg outboxMessage) error {
	headers, err := json.Marshal(msg.headers)
	if err != nil {
		return err
	}
	r.messages = append(r.messages, msg)
	r.eventIDs, r.topics, r.keys = append(r.eventIDs, env.ID), append(r.topics, msg.topic), append(r.keys, env.CorrelationID)
	r.payloads, r.headers = append(r.payloads, msg.payload), append(r.headers, string(headers))
	return nil
}

// written reads the answers of the batch's events insert and outbox insert
// (the last two statements) and returns the outbox rows written, with the
// ids the insert returned.
func (r *outboxRows) written(results pgx.BatchResults) ([]OutboxRow, error) {
	if _, err := results.Exec(); err != nil {
		return nil, err
	}
	byEvent := make(map[uuid.UUID]int, len(r.eventIDs))
	for i, id := range r.eventIDs {
		u, err := uuid.Parse(id)
		if err != nil {
			return nil, fmt.Errorf("event id %q: %w", id, err)
		}
		byEvent[u] = i
	}
	ids, err := results.Query()
	if err != nil {
		return nil, err
	}
	rows := make([]OutboxRow, 0, len(r.eventIDs))
	var id int64
	var eventID string
	_, err = pgx.ForEachRow(ids, []any{&id, &eventID}, func() error {
		u, err := uuid.Parse(eventID)
		if err != nil {
			return fmt.Errorf("outbox insert returned event id %q: %w", eventID, err)
		}
		i, ok := byEvent[u]
		if !ok {
			return fmt.Errorf("outbox insert returned event %s, which it was not given", eventID)
		}
		rows = append(rows, OutboxRow{ID: id, EventID: r.eventIDs[i], Topic: r.topics[i], Key: r.keys[i],
			Payload: r.payloads[i], Headers: r.messages[i].headers})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(rows) != len(r.eventIDs) {
		return nil, fmt.Errorf("outbox insert returned %d rows of %d", len(rows), len(r.eventIDs))
	}
	return rows, nil
}
