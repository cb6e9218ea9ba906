// Package outbox relays the event store's outbox to Kafka.
//
// Exactly one relay per database is active at a time (a Postgres advisory
// lock elects it; others wait as hot standbys), so per-key order is kept with
// any number of replicas. The active relay is woken by LISTEN/NOTIFY when an
// append commits, with a slow poll as a safety net. It publishes a batch in
// outbox order with an idempotent producer, waits for every delivery report,
// and only then deletes the batch's rows.
//
// No event is lost: rows are deleted only after Kafka acknowledged them. No
// event is published twice: when a relay starts a session (after a crash, a
// failover or a Kafka outage), it reads back the tail of each partition of
// the topics that still have rows — at most one batch per partition can be
// published yet undeleted — and deletes the rows whose event ids it finds
// there instead of sending them again.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderflow/orderflow/platform/backoff"
	"github.com/orderflow/orderflow/platform/broker"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/schema"
)

// Config configures a relay.
type Config struct {
	Brokers string
	// BatchSize is the most rows published per round trip. It also bounds
	// how far back a new session reads each partition's tail.
	BatchSize int
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
}

func (c *Config) setDefaults() {
	if c.BatchSize == 0 {
		c.BatchSize = 500
	}
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
}

// Relay moves outbox rows to Kafka.
type Relay struct {
	cfg  Config
	pool *pgxpool.Pool
	log  *slog.Logger

	published atomic.Int64
	recovered atomic.Int64
	sessions  atomic.Int64
}

// Stats counts what a relay did, for metrics and tests.
type Stats struct {
	Published int64 // rows sent and acknowledged
	Recovered int64 // rows found already in Kafka when a session started
	Sessions  int64 // producer sessions started
}

// New returns a relay for the outbox in pool's database.
func New(cfg Config, pool *pgxpool.Pool, log *slog.Logger) *Relay {
	cfg.setDefaults()
	return &Relay{cfg: cfg, pool: pool, log: log.With("component", "outbox-relay")}
}

// Run relays until ctx is done. It returns nil on a graceful stop.
func (r *Relay) Run(ctx context.Context) error {
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
	id      int64
	eventID string
	topic   string
	key     string
	payload []byte
	headers []schema.MessageHeader
}

// session runs one producer: recover, then publish batches until an error.
func (r *Relay) session(ctx context.Context, lockConn *pgx.Conn) error {
	cfg := broker.ProducerConfig(r.cfg.Brokers)
	if err := cfg.SetKey("message.timeout.ms", int(r.cfg.DeliveryTimeout.Milliseconds())); err != nil {
		return err
	}
	producer, err := kafka.NewProducer(cfg)
	if err != nil {
		return fmt.Errorf("new producer: %w", err)
	}
	defer func() {
		producer.Flush(5_000)
		producer.Close()
	}()
	r.sessions.Add(1)

	if err := r.recover(ctx); err != nil {
		return fmt.Errorf("recover: %w", err)
	}

	for ctx.Err() == nil {
		rows, err := r.fetch(ctx)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			if err := r.wait(ctx, lockConn); err != nil {
				return err
			}
			continue
		}
		if err := publish(producer, rows); err != nil {
			return err
		}
		ids := make([]int64, len(rows))
		for i, rw := range rows {
			ids[i] = rw.id
		}
		if _, err := r.pool.Exec(ctx, "DELETE FROM outbox WHERE id = ANY($1)", ids); err != nil {
			return fmt.Errorf("delete published: %w", err)
		}
		r.published.Add(int64(len(rows)))
	}
	return nil
}

// wait blocks until a notification, the poll interval, or ctx. An error on
// the lock connection means the lock may be gone: the caller must stop.
func (r *Relay) wait(ctx context.Context, lockConn *pgx.Conn) error {
	wctx, cancel := context.WithTimeout(ctx, r.cfg.PollInterval)
	defer cancel()
	_, err := lockConn.WaitForNotification(wctx)
	if err == nil || ctx.Err() != nil || errors.Is(wctx.Err(), context.DeadlineExceeded) {
		if wctx.Err() != nil && ctx.Err() == nil {
			// Timed out: make sure the lock connection is still alive.
			if err := lockConn.Ping(ctx); err != nil {
				return fmt.Errorf("%w: %v", errLockLost, err)
			}
		}
		return nil
	}
	return fmt.Errorf("%w: %v", errLockLost, err)
}

func (r *Relay) fetch(ctx context.Context) ([]row, error) {
	rows, err := r.pool.Query(ctx, `SELECT id, event_id::text, topic, key, payload, headers
		FROM outbox ORDER BY id LIMIT $1`, r.cfg.BatchSize)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		var (
			rw      row
			headers []byte
		)
		if err := rows.Scan(&rw.id, &rw.eventID, &rw.topic, &rw.key, &rw.payload, &headers); err != nil {
			return nil, fmt.Errorf("fetch: %w", err)
		}
		if err := json.Unmarshal(headers, &rw.headers); err != nil {
			return nil, fmt.Errorf("fetch: headers of row %d: %w", rw.id, err)
		}
		out = append(out, rw)
	}
	return out, rows.Err()
}

// publish sends rows in order and returns once every one was acknowledged,
// or with the first failure. Order per partition holds because the producer
// is idempotent: a failed message fails every later one of its partition.
func publish(producer *kafka.Producer, rows []row) error {
	delivery := make(chan kafka.Event, len(rows))
	for _, rw := range rows {
		headers := make([]kafka.Header, len(rw.headers))
		for i, h := range rw.headers {
			headers[i] = kafka.Header{Key: h.Key, Value: []byte(h.Value)}
		}
		topic := rw.topic
		err := producer.Produce(&kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key:            []byte(rw.key),
			Value:          rw.payload,
			Headers:        headers,
		}, delivery)
		if err != nil {
			return fmt.Errorf("produce: %w", err)
		}
	}
	var first error
	for range rows {
		m := (<-delivery).(*kafka.Message)
		if m.TopicPartition.Error != nil && first == nil {
			first = fmt.Errorf("delivery: %w", m.TopicPartition.Error)
		}
	}
	return first
}

// Stats returns the relay's counters.
func (r *Relay) Stats() Stats {
	return Stats{Published: r.published.Load(), Recovered: r.recovered.Load(), Sessions: r.sessions.Load()}
}
