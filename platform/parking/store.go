package parking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/schema"
)

// ErrNotFound: no letter has that id.
var ErrNotFound = errors.New("no such message set aside")

// ConflictError says why a letter's state does not allow what was asked.
type ConflictError struct{ Message string }

func (e *ConflictError) Error() string { return e.Message }

// InvalidError says what to fix in a request.
type InvalidError struct{ Message string }

func (e *InvalidError) Error() string { return e.Message }

// Store keeps a service's messages set aside in its Postgres database. It
// is the consumers' consumer.Parking and the triage API's backend.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a store over pool, whose database has Migrations applied.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

var _ consumer.Parking = (*Store)(nil)

// SetAside records a message set aside, or — delivered again after a crash,
// or parked again — updates its row; each time with an audit entry.
func (s *Store) SetAside(ctx context.Context, m consumer.SetAside) error {
	kind, action := KindParked, ActionParked
	if m.DeadLetter {
		kind, action = KindDeadLetter, ActionDeadLettered
	}
	headers, err := json.Marshal(m.Headers)
	if err != nil {
		return fmt.Errorf("encode headers: %w", err)
	}
	var eventID, eventType string
	for _, h := range m.Headers {
		switch h.Key {
		case schema.HeaderEventID:
			eventID = h.Value
		case schema.HeaderEventType:
			eventType = h.Value
		}
	}
	_, err = s.pool.Exec(ctx, `
		WITH m AS (
			INSERT INTO parked_messages (consumer_group, topic, kafka_partition, kafka_offset, key, kind, state,
				reason, attempts, event_id, event_type, headers, value)
			VALUES ($1, $2, $3, $4, $5, $6, 'waiting', $7, $8, $9, $10, $11, $12)
			ON CONFLICT (consumer_group, topic, kafka_partition, kafka_offset) DO UPDATE
			SET kind = EXCLUDED.kind, state = 'waiting', reason = EXCLUDED.reason,
				attempts = parked_messages.attempts + EXCLUDED.attempts, updated_at = now()
			RETURNING id)
		INSERT INTO parked_audit (message_id, action, actor, note) SELECT id, $13, $1, $7 FROM m`,
		m.Group, m.Topic, m.Partition, m.Offset, m.Key, kind, m.Reason, m.Attempts, eventID, eventType,
		headers, m.Value, action)
	if err != nil {
		return fmt.Errorf("set a message aside: %w", err)
	}
	return nil
}

// HeldKeys returns the keys of a partition with a parked message waiting or
// replaying, each with the offset of its first one.
func (s *Store) HeldKeys(ctx context.Context, group, topic string, partition int32) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT key, min(kafka_offset) FROM parked_messages
		WHERE consumer_group = $1 AND topic = $2 AND kafka_partition = $3
		  AND kind = 'parked' AND state IN ('waiting', 'replaying')
		GROUP BY key`, group, topic, partition)
	if err != nil {
		return nil, fmt.Errorf("held keys: %w", err)
	}
	held := map[string]int64{}
	var key string
	var offset int64
	_, err = pgx.ForEachRow(rows, []any{&key, &offset}, func() error {
		held[key] = offset
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("held keys: %w", err)
	}
	return held, nil
}

// due selects the rows (as p) whose replay is due: asked for, or parked
// behind a predecessor (never failed itself, attempts 0) that is gone —
// and in either case with no parked message of the same key before it
// still waiting or replaying. Dead letters hold no key.
const due = `p.state IN ('waiting', 'replaying')
	AND (p.state = 'replaying' OR (p.kind = 'parked' AND p.attempts = 0))
	AND NOT (p.kind = 'parked' AND EXISTS (
		SELECT 1 FROM parked_messages q
		WHERE q.consumer_group = p.consumer_group AND q.topic = p.topic AND q.kafka_partition = p.kafka_partition
		  AND q.key = p.key AND q.kind = 'parked' AND q.state IN ('waiting', 'replaying')
		  AND q.kafka_offset < p.kafka_offset))`

// ReplayPartitions returns the partitions of group with replays due.
func (s *Store) ReplayPartitions(ctx context.Context, group string) ([]consumer.TopicPartition, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT topic, kafka_partition FROM parked_messages p
		WHERE p.consumer_group = $1 AND `+due, group)
	if err != nil {
		return nil, fmt.Errorf("partitions with replays due: %w", err)
	}
	tps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (consumer.TopicPartition, error) {
		var tp consumer.TopicPartition
		err := row.Scan(&tp.Topic, &tp.Partition)
		return tp, err
	})
	if err != nil {
		return nil, fmt.Errorf("partitions with replays due: %w", err)
	}
	return tps, nil
}

// Replays returns a partition's replays due, in offset order.
func (s *Store) Replays(ctx context.Context, group, topic string, partition int32) ([]consumer.Replay, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, kind, key, kafka_offset, value, headers FROM parked_messages p
		WHERE p.consumer_group = $1 AND p.topic = $2 AND p.kafka_partition = $3 AND `+due+`
		ORDER BY kafka_offset`, group, topic, partition)
	if err != nil {
		return nil, fmt.Errorf("replays due: %w", err)
	}
	replays, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (consumer.Replay, error) {
		var r consumer.Replay
		var kind string
		var headers []byte
		if err := row.Scan(&r.ID, &kind, &r.Key, &r.Offset, &r.Value, &headers); err != nil {
			return r, err
		}
		r.DeadLetter = kind == KindDeadLetter
		return r, json.Unmarshal(headers, &r.Headers)
	})
	if err != nil {
		return nil, fmt.Errorf("replays due: %w", err)
	}
	return replays, nil
}

// Replayed records how a replay ended: handled, or set aside again (as a
// dead letter if the failure was permanent) with the failure as its reason.
func (s *Store) Replayed(ctx context.Context, id int64, out consumer.ReplayOutcome) error {
	var err error
	if out.Err == nil {
		_, err = s.pool.Exec(ctx, `
			WITH m AS (UPDATE parked_messages SET state = 'replayed', replays = replays + 1, updated_at = now()
				WHERE id = $1 RETURNING id, consumer_group)
			INSERT INTO parked_audit (message_id, action, actor) SELECT id, $2, consumer_group FROM m`,
			id, ActionReplayed)
	} else {
		_, err = s.pool.Exec(ctx, `
			WITH m AS (UPDATE parked_messages SET state = 'waiting', replays = replays + 1, updated_at = now(),
				kind = CASE WHEN $2 THEN 'dead_letter' ELSE kind END, reason = $3, attempts = attempts + $4
				WHERE id = $1 RETURNING id, consumer_group)
			INSERT INTO parked_audit (message_id, action, actor, note) SELECT id, $5, consumer_group, $3 FROM m`,
			id, out.Permanent, out.Err.Error(), out.Attempts, ActionReplayFailed)
	}
	if err != nil {
		return fmt.Errorf("record a replay: %w", err)
	}
	return nil
}

const letterColumns = `id, kind, state, reason, attempts, replays, consumer_group, topic, kafka_partition,
	kafka_offset, key, event_id, event_type, headers, value, parked_at, updated_at`

func scanLetter(row pgx.CollectableRow) (Letter, error) {
	var l Letter
	var headers, value []byte
	err := row.Scan(&l.ID, &l.Kind, &l.State, &l.Reason, &l.Attempts, &l.Replays, &l.ConsumerGroup, &l.Topic,
		&l.Partition, &l.Offset, &l.Key, &l.EventID, &l.EventType, &headers, &value, &l.ParkedAt, &l.UpdatedAt)
	if err != nil {
		return l, err
	}
	if err := json.Unmarshal(headers, &l.Headers); err != nil {
		return l, fmt.Errorf("decode headers of %d: %w", l.ID, err)
	}
	if json.Valid(value) {
		l.Event = json.RawMessage(value)
	} else {
		l.Value = strings.ToValidUTF8(string(value), "\uFFFD")
	}
	return l, nil
}

// Validate reports what is wrong with f.
func (f Filter) Validate() error {
	switch f.Kind {
	case "", KindParked, KindDeadLetter:
	default:
		return &InvalidError{fmt.Sprintf("kind %q is not one of %s, %s", f.Kind, KindParked, KindDeadLetter)}
	}
	switch f.State {
	case "", StateWaiting, StateReplaying, StateReplayed, StateDiscarded:
	default:
		return &InvalidError{fmt.Sprintf("state %q is not one of %s, %s, %s, %s", f.State,
			StateWaiting, StateReplaying, StateReplayed, StateDiscarded)}
	}
	return nil
}

// where is f as a condition on parked_messages, its arguments numbered
// from n.
func (f Filter) where(n int) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, arg any) {
		args = append(args, arg)
		conds = append(conds, strings.ReplaceAll(cond, "$?", "$"+strconv.Itoa(n+len(args)-1)))
	}
	if f.Topic != "" {
		add("topic = $?", f.Topic)
	}
	if f.Reason != "" {
		add("strpos(lower(reason), lower($?)) > 0", f.Reason)
	}
	if f.Kind != "" {
		add("kind = $?", f.Kind)
	}
	if f.State != "" {
		add("state = $?", f.State)
	}
	if len(conds) == 0 {
		return "true", nil
	}
	return strings.Join(conds, " AND "), args
}

// List returns up to first letters after the id after that f selects,
// oldest first.
func (s *Store) List(ctx context.Context, f Filter, first int, after int64) (Page, error) {
	if err := f.Validate(); err != nil {
		return Page{}, err
	}
	if first <= 0 || first > MaxPage {
		return Page{}, &InvalidError{fmt.Sprintf("first must be between 1 and %d, not %d", MaxPage, first)}
	}
	cond, args := f.where(3)
	rows, err := s.pool.Query(ctx, `SELECT `+letterColumns+` FROM parked_messages
		WHERE id > $1 AND `+cond+` ORDER BY id LIMIT $2`, append([]any{after, first + 1}, args...)...)
	if err != nil {
		return Page{}, fmt.Errorf("list: %w", err)
	}
	letters, err := pgx.CollectRows(rows, scanLetter)
	if err != nil {
		return Page{}, fmt.Errorf("list: %w", err)
	}
	page := Page{Letters: letters}
	if len(letters) > first {
		page.Letters, page.HasNext = letters[:first], true
	}
	if n := len(page.Letters); n > 0 {
		page.EndCursor = page.Letters[n-1].ID
	}
	return page, nil
}

// Get returns one letter with its audit trail.
func (s *Store) Get(ctx context.Context, id int64) (Letter, error) {
	return get(ctx, s.pool, id)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func get(ctx context.Context, q querier, id int64) (Letter, error) {
	rows, err := q.Query(ctx, `SELECT `+letterColumns+` FROM parked_messages WHERE id = $1`, id)
	if err != nil {
		return Letter{}, fmt.Errorf("get %d: %w", id, err)
	}
	l, err := pgx.CollectExactlyOneRow(rows, scanLetter)
	if errors.Is(err, pgx.ErrNoRows) {
		return Letter{}, ErrNotFound
	}
	if err != nil {
		return Letter{}, fmt.Errorf("get %d: %w", id, err)
	}
	rows, err = q.Query(ctx, `SELECT at, action, actor, note FROM parked_audit WHERE message_id = $1 ORDER BY id`, id)
	if err != nil {
		return Letter{}, fmt.Errorf("audit of %d: %w", id, err)
	}
	l.Audit, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		err := row.Scan(&e.At, &e.Action, &e.Actor, &e.Note)
		return e, err
	})
	if err != nil {
		return Letter{}, fmt.Errorf("audit of %d: %w", id, err)
	}
	return l, nil
}

// Replay asks for one letter to be replayed by its consumer and returns it.
// A letter replayed before may be replayed again (the inbox makes that a
// no-op); one replaying already is left as it is; a discarded one cannot be.
func (s *Store) Replay(ctx context.Context, id int64, actor string) (Letter, error) {
	return s.change(ctx, id, func(state string) (string, error) {
		switch state {
		case StateReplaying:
			return "", nil
		case StateDiscarded:
			return "", &ConflictError{fmt.Sprintf("message %d was discarded: it cannot be replayed", id)}
		}
		return ActionReplayAsked, nil
	}, StateReplaying, actor, "")
}

// Discard gives up on a waiting letter, with a note saying why. A parked
// message's key is held until none of its messages waits; messages parked
// only behind this one then flow.
func (s *Store) Discard(ctx context.Context, id int64, actor, note string) (Letter, error) {
	if strings.TrimSpace(note) == "" {
		return Letter{}, &InvalidError{"note is required: say why the message is discarded"}
	}
	return s.change(ctx, id, func(state string) (string, error) {
		if state != StateWaiting {
			return "", &ConflictError{fmt.Sprintf("message %d is %s: only a waiting message can be discarded", id, state)}
		}
		return ActionDiscarded, nil
	}, StateDiscarded, actor, note)
}

// change moves letter id to state to, with an audit entry, if decide — given
// its current state — returns an action; "" leaves it as it is.
func (s *Store) change(ctx context.Context, id int64, decide func(state string) (string, error), to, actor, note string) (Letter, error) {
	if strings.TrimSpace(actor) == "" {
		return Letter{}, &InvalidError{"actor is required: say who asks"}
	}
	var l Letter
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var state string
		err := tx.QueryRow(ctx, `SELECT state FROM parked_messages WHERE id = $1 FOR UPDATE`, id).Scan(&state)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		action, err := decide(state)
		if err != nil {
			return err
		}
		if action != "" {
			if _, err := tx.Exec(ctx, `UPDATE parked_messages SET state = $2, updated_at = now() WHERE id = $1`, id, to); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO parked_audit (message_id, action, actor, note) VALUES ($1, $2, $3, $4)`,
				id, action, actor, note); err != nil {
				return err
			}
		}
		l, err = get(ctx, tx, id)
		return err
	})
	return l, err
}

// ReplayAll asks for every waiting letter f selects to be replayed and
// returns how many that was.
func (s *Store) ReplayAll(ctx context.Context, f Filter, actor string) (int, error) {
	if strings.TrimSpace(actor) == "" {
		return 0, &InvalidError{"actor is required: say who asks"}
	}
	if f.State != "" && f.State != StateWaiting {
		return 0, &InvalidError{fmt.Sprintf("a bulk replay takes waiting messages only, not state %q", f.State)}
	}
	f.State = StateWaiting
	if err := f.Validate(); err != nil {
		return 0, err
	}
	cond, args := f.where(3)
	tag, err := s.pool.Exec(ctx, `
		WITH m AS (UPDATE parked_messages SET state = 'replaying', updated_at = now() WHERE `+cond+` RETURNING id)
		INSERT INTO parked_audit (message_id, action, actor) SELECT id, $1, $2 FROM m`,
		append([]any{ActionReplayAsked, actor}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
