// Package outbox relays the event store's outbox to Kafka.
//
// Exactly one relay per database is active at a time (a Postgres advisory
// lock elects it; others wait as hot standbys), so per-key order is kept with
// any number of replicas. The active relay is woken by LISTEN/NOTIFY when an
// append commits, with a slow poll as a safety net; an append committed in
// its own process hands it the rows instead, and when they are the next
// ones to send (no earlier row may still commit) it produces them without
// reading the outbox. It produces rows in
// outbox order with an idempotent producer and deletes each row once its
// delivery report came; producing does not wait for earlier rows' reports
// (up to MaxInFlight rows may be outstanding), so a committed event goes out
// in a few milliseconds even under load.
//
// No event is lost: rows are deleted only after Kafka acknowledged them. No
// event is published twice: when a relay starts a session (after a crash, a
// failover or a Kafka outage), it reads back the tail of each partition of
// the topics that still have rows — a partition's published yet undeleted
// rows are among its last MaxInFlight messages, because rows are deleted in
// the order their reports come and a partition's reports come in order — and
// deletes the rows whose event ids it finds there instead of sending them
// again.
//
// Config.Metrics has the relay's series: rows published and the time from
// each row's creation to Kafka's acknowledgement (observed as reports
// come, nothing queried), whether this relay is the active one, and the
// outbox's depth and oldest row, measured by one cheap query every few
// seconds rather than on any event's path.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderflow/orderflow/platform/backoff"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/schema"
)

// Config configures a relay.
type Config struct {
	Brokers string
	// BatchSize is the most rows fetched per query.
	BatchSize int
	// MaxInFlight is the most rows produced and not yet deleted. It also
	// bounds how far back a new session reads each partition's tail.
	MaxInFlight int
	// PollInterval is how often the relay looks for rows without a
	// notification (a lost notification only delays, never loses).
	PollInterval time.Duration
	// RetryMax caps the backoff while Kafka or Postgres is unavailable.
	RetryMax time.Duration
	// LockKey is the advisory lock that elects the active relay.
	LockKey int64
	// DeliveryTimeout bounds how long the producer tries to deliver a
	// message before the session gives up and starts over (recovering what
	// was delivered after all).
	DeliveryTimeout time.Duration
	// Metrics receives the relay's series. Nil: series nobody serves.
	Metrics *Metrics
	// MeasureInterval is how often the outbox's depth and oldest row are
	// measured for Metrics. Default 5s.
	MeasureInterval time.Duration
}

func (c *Config) setDefaults() {
	if c.BatchSize == 0 {
		c.BatchSize = 500
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 4 * c.BatchSize
	}
	c.MaxInFlight = max(c.MaxInFlight, c.BatchSize)
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
	if c.RetryMax == 0 {
		c.RetryMax = 5 * time.Second
	}
	if c.LockKey == 0 {
		c.LockKey = 7_042_002
	}
	if c.DeliveryTimeout == 0 {
		c.DeliveryTimeout = 30 * time.Second
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(nil)
	}
	if c.MeasureInterval == 0 {
		c.MeasureInterval = 5 * time.Second
	}
}

// Relay moves outbox rows to Kafka.
type Relay struct {
	cfg  Config
	pool *pgxpool.Pool
	log  *slog.Logger

	current    atomic.Pointer[session] // the running session, if this relay is active
	published  atomic.Int64
	recovered  atomic.Int64
	sessions   atomic.Int64
	handedOver atomic.Int64
}

// Stats counts what a relay did, for metrics and tests.
type Stats struct {
	Published int64 // rows sent and acknowledged
	Recovered int64 // rows found already in Kafka when a session started
	Sessions  int64 // producer sessions started
	// HandedOver counts rows produced as a commit of this process handed
	// them over, without a fetch.
	HandedOver int64
}

// New returns a relay for the outbox in pool's database.
func New(cfg Config, pool *pgxpool.Pool, log *slog.Logger) *Relay {
	cfg.setDefaults()
	return &Relay{cfg: cfg, pool: pool, log: log.With("component", "outbox-relay")}
}

// Run relays until ctx is done. It returns nil on a graceful stop.
func (r *Relay) Run(ctx context.Context) error {
	measured := make(chan struct{})
	go func() {
		defer close(measured)
		r.measure(ctx)
	}()
	defer func() { <-measured }()
	delay := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := r.lead(ctx)
		if ctx.Err() != nil {
			return nil
		}
		r.log.Warn("relay interrupted, will retry", "err", err, "retry_in", delay.String())
		if !backoff.Sleep(ctx, backoff.Jitter(delay)) {
			return nil
		}
		delay = min(delay*2, r.cfg.RetryMax)
	}
	return nil
}

// lead becomes the active relay, then runs producer sessions until ctx ends
// or the lock connection fails.
func (r *Relay) lead(ctx context.Context) error {
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire: %w", err)
	}
	// The lock and LISTEN belong to this session: never hand it back to the pool.
	pgconn := conn.Hijack()
	defer pgconn.Close(context.WithoutCancel(ctx))

	for {
		var locked bool
		if err := pgconn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", r.cfg.LockKey).Scan(&locked); err != nil {
			return fmt.Errorf("try lock: %w", err)
		}
		if locked {
			break
		}
		if !backoff.Sleep(ctx, r.cfg.PollInterval) {
			return ctx.Err()
		}
	}
	if _, err := pgconn.Exec(ctx, "LISTEN "+eventstore.NotifyChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	r.log.Info("became the active relay")
	r.cfg.Metrics.leader.Set(1)
	defer r.cfg.Metrics.leader.Set(0)

	delay := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := r.session(ctx, pgconn)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errLockLost) {
			return err
		}
		r.log.Warn("relay session ended, starting a new one", "err", err, "retry_in", delay.String())
		if !backoff.Sleep(ctx, backoff.Jitter(delay)) {
			return nil
		}
		delay = min(delay*2, r.cfg.RetryMax)
	}
	return nil
}

var errLockLost = errors.New("lost the relay lock connection")

type row struct {
	id int64
	// created is when the row was inserted, on this process's clock: its
	// age by the database's clock, subtracted from the time of the fetch.
	created time.Time
	eventID string
	topic   string
	key     string
	payload []byte
	headers []schema.MessageHeader
}

// Wake tells the relay that outbox rows committed in its process (see
// eventstore.WithLocalRelay). It reports whether this relay is the active
// one: if not, the commit must be announced to the active one by NOTIFY.
func (r *Relay) Wake() bool {
	s := r.current.Load()
	if s == nil {
		return false
	}
	signal(s.wake)
	return true
}

// Committed hands the relay the outbox rows a transaction of its process
// committed (see eventstore.WithLocalRelay): if they are the next rows to
// send, it produces them without reading them back; otherwise it fetches as
// after Wake. It reports whether this relay is the active one.
func (r *Relay) Committed(rows []eventstore.OutboxRow) bool {
	s := r.current.Load()
	if s == nil {
		return false
	}
	select {
	case s.handed <- rows:
	default: // the publisher is behind: it fetches them with the rest
		signal(s.wake)
	}
	return true
}

// Stats returns the relay's counters.
func (r *Relay) Stats() Stats {
	return Stats{Published: r.published.Load(), Recovered: r.recovered.Load(), Sessions: r.sessions.Load(),
		HandedOver: r.handedOver.Load()}
}
