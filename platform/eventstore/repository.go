package eventstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/schema"
)

// Repository keeps aggregates of one kind as the streams of one stream
// type: it folds a stream's events into the aggregate, and saves what was
// decided as new events at the version the aggregate was loaded at. It is
// the one aggregate contract of every event-sourced service: an aggregate A
// is a zero value for an id and a pure function applying one event.
//
// Work happens in a Unit inside one transaction: the unit loads every
// stream a batch of commands or messages needs in one query, lets each
// decision see the ones before it, and appends to every stream touched in
// one round trip when saved.
type Repository[A any] struct {
	store      *Store
	streamType string
	zero       func(id string) A
	apply      func(a A, env schema.Envelope) (A, error)
}

// NewRepository returns the repository of streamType's aggregates. zero
// returns the aggregate of a stream with no events; apply returns a after
// env, or an error if env cannot follow (a broken stream).
func NewRepository[A any](store *Store, streamType string, zero func(id string) A,
	apply func(a A, env schema.Envelope) (A, error)) *Repository[A] {
	return &Repository[A]{store: store, streamType: streamType, zero: zero, apply: apply}
}

// Store returns the event store the repository writes to.
func (r *Repository[A]) Store() *Store { return r.store }

// StreamType returns the stream type the repository keeps.
func (r *Repository[A]) StreamType() string { return r.streamType }

// Load returns the aggregate of id and its version (0 when the stream has no
// events) from db, outside any unit: for queries.
func (r *Repository[A]) Load(ctx context.Context, db DB, id string) (A, int, error) {
	streams, err := r.store.LoadStreams(ctx, db, r.streamType, []string{id})
	if err != nil {
		var zero A
		return zero, 0, err
	}
	return r.fold(id, streams[id])
}

func (r *Repository[A]) fold(id string, events []schema.Envelope) (A, int, error) {
	a := r.zero(id)
	version := 0
	for _, env := range events {
		var err error
		if a, err = r.apply(a, env); err != nil {
			return a, 0, fmt.Errorf("fold %s/%s version %d: %w", r.streamType, id, env.Version, err)
		}
		version = env.Version
	}
	return a, version, nil
}

// Begin starts a unit of work in tx, loading the aggregates of ids (more
// can be loaded later with Load) in one query.
func (r *Repository[A]) Begin(ctx context.Context, tx pgx.Tx, ids ...string) (*Unit[A], error) {
	u := &Unit[A]{repo: r, tx: tx, entries: map[string]*entry[A]{}}
	if err := u.Load(ctx, ids...); err != nil {
		return nil, err
	}
	return u, nil
}

// Unit is a unit of work over one transaction: the aggregates it loaded,
// with the events recorded for them since, saved together by Save.
type Unit[A any] struct {
	repo    *Repository[A]
	tx      pgx.Tx
	entries map[string]*entry[A]
	touched []string // ids with recorded events, in the order first recorded
}

type entry[A any] struct {
	state   A
	loaded  int // the stream's version when loaded
	pending []schema.Envelope
}

// Load loads the aggregates of ids that the unit does not hold yet, in one
// query.
func (u *Unit[A]) Load(ctx context.Context, ids ...string) error {
	missing := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, ok := u.entries[id]; !ok && !contains(missing, id) {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	streams, err := u.repo.store.LoadStreams(ctx, u.tx, u.repo.streamType, missing)
	if err != nil {
		return err
	}
	for _, id := range missing {
		state, version, err := u.repo.fold(id, streams[id])
		if err != nil {
			return err
		}
		u.entries[id] = &entry[A]{state: state, loaded: version}
	}
	return nil
}

// Fresh adds ids the caller just made up (new UUIDs) to the unit as streams
// without events, without a query: Save appends to them as new streams and
// fails with ErrConcurrency should one exist after all.
func (u *Unit[A]) Fresh(ids ...string) {
	for _, id := range ids {
		if _, ok := u.entries[id]; !ok {
			u.entries[id] = &entry[A]{state: u.repo.zero(id)}
		}
	}
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// Get returns the aggregate of id as decided so far in the unit, and its
// version counting the events recorded but not saved yet (0 for a stream
// that has none), loading it if the unit does not hold it.
func (u *Unit[A]) Get(ctx context.Context, id string) (A, int, error) {
	if err := u.Load(ctx, id); err != nil {
		var zero A
		return zero, 0, err
	}
	e := u.entries[id]
	return e.state, e.loaded + len(e.pending), nil
}

// Record records events for id: each gets the aggregate's next version and
// is applied to it at once, so the next Get sees it. Nothing is written
// before Save.
func (u *Unit[A]) Record(ctx context.Context, id string, events ...schema.Envelope) error {
	if len(events) == 0 {
		return nil
	}
	if err := u.Load(ctx, id); err != nil {
		return err
	}
	e := u.entries[id]
	state := e.state
	pending := make([]schema.Envelope, 0, len(events))
	for i, env := range events {
		env.AggregateType, env.AggregateID = u.repo.streamType, id
		env.Version = e.loaded + len(e.pending) + i + 1
		if env.Type == "" && env.Payload != nil {
			env.Type = env.Payload.EventType()
		}
		var err error
		if state, err = u.repo.apply(state, env); err != nil {
			return fmt.Errorf("record %s on %s/%s: %w", env.Type, u.repo.streamType, id, err)
		}
		pending = append(pending, env)
	}
	if len(e.pending) == 0 {
		u.touched = append(u.touched, id)
	}
	e.state, e.pending = state, append(e.pending, pending...)
	return nil
}

// Save appends every recorded event, each stream at the version it was
// loaded at, in one round trip, and returns the stored events in the order
// their streams were first recorded to. A stream that moved meanwhile fails
// the whole save with ErrConcurrency; the transaction must then be rolled
// back and the work done again. The unit is empty afterwards.
func (u *Unit[A]) Save(ctx context.Context) ([]schema.Envelope, error) {
	if len(u.touched) == 0 {
		return nil, nil
	}
	appends := make([]StreamAppend, len(u.touched))
	for i, id := range u.touched {
		e := u.entries[id]
		appends[i] = StreamAppend{Stream: StreamID{Type: u.repo.streamType, ID: id}, Expected: e.loaded, Events: e.pending}
	}
	stored, err := u.repo.store.AppendManyTx(ctx, u.tx, appends)
	if err != nil {
		return nil, err
	}
	var out []schema.Envelope
	for i, id := range u.touched {
		e := u.entries[id]
		e.loaded, e.pending = e.loaded+len(e.pending), nil
		out = append(out, stored[i]...)
	}
	u.touched = nil
	return out, nil
}
