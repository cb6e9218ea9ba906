package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"github.com/orderflow/orderflow/platform/broker"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/tracing"
	"github.com/orderflow/orderflow/schema"
)

// session is one producer's life: recover, then three loops until an error
// or the end of ctx —
//   - listen wakes the publisher on every notification (and each poll
//     interval), and watches the lock connection;
//   - publish fetches rows past the ones already sent and produces them,
//     while up to MaxInFlight rows are sent but not yet deleted;
//   - acknowledge takes the delivery reports and deletes the acknowledged
//     rows, a batch per DELETE, in the order the reports came.
//
// Publishing never waits for a delete or an acknowledgement unless
// MaxInFlight rows are outstanding, so a row committed while earlier rows
// are in flight goes out at once.
type session struct {
	relay    *Relay
	producer *kafka.Producer
	// deliveries receives a report per produced row; it holds MaxInFlight,
	// so the producer never blocks on it, even after acknowledge returned.
	deliveries chan kafka.Event
	wake       chan struct{}               // rows committed (Wake, a notification), or the poll interval passed
	handed     chan []eventstore.OutboxRow // rows committed in this process (Committed)
	room       chan struct{}               // acknowledge deleted rows
	unfinished atomic.Int64                // rows produced and not yet deleted
	stopped    chan struct{}               // publish returned: no more rows will be produced
}

func (r *Relay) session(ctx context.Context, lockConn *pgx.Conn) error {
	cfg := broker.ProducerConfig(r.cfg.Brokers)
	for k, v := range map[string]kafka.ConfigValue{
		"message.timeout.ms": int(r.cfg.DeliveryTimeout.Milliseconds()),
		// The row id travels as the message's opaque; nothing else is needed back.
		"go.delivery.report.fields": "none",
	} {
		if err := cfg.SetKey(k, v); err != nil {
			return err
		}
	}
	producer, err := kafka.NewProducer(cfg)
	if err != nil {
		return fmt.Errorf("new producer: %w", err)
	}
	defer func() {
		producer.Flush(flushTimeoutMs)
		producer.Close()
	}()
	r.sessions.Add(1)

	if err := r.recover(ctx); err != nil {
		return fmt.Errorf("recover: %w", err)
	}

	s := &session{
		relay:      r,
		producer:   producer,
		deliveries: make(chan kafka.Event, r.cfg.MaxInFlight),
		wake:       make(chan struct{}, 1),
		handed:     make(chan []eventstore.OutboxRow, handedQueue),
		room:       make(chan struct{}, 1),
		stopped:    make(chan struct{}),
	}
	r.current.Store(s)
	defer r.current.Store(nil)
	// A failing loop stops the others. A graceful stop (ctx) stops listen
	// and publish, while acknowledge finishes the rows in flight.
	loops, failed := errgroup.WithContext(context.WithoutCancel(ctx))
	running, stop := context.WithCancel(failed)
	defer stop()
	defer context.AfterFunc(ctx, stop)()
	loops.Go(func() error { return s.listen(running, lockConn) })
	loops.Go(func() error {
		defer close(s.stopped)
		return s.publish(running)
	})
	loops.Go(func() error { return s.acknowledge(failed) })
	return loops.Wait()
}

// listen turns notifications into wake-ups until ctx ends. When a poll
// interval passes without one it wakes the publisher anyway and checks that
// the lock connection is alive: an error there means the lock may be gone.
func (s *session) listen(ctx context.Context, lockConn *pgx.Conn) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, s.relay.cfg.PollInterval)
		_, err := lockConn.WaitForNotification(wctx)
		timedOut := errors.Is(wctx.Err(), context.DeadlineExceeded)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil:
		case timedOut:
			if err := lockConn.Ping(ctx); err != nil && ctx.Err() == nil {
				return fmt.Errorf("%w: %v", errLockLost, err)
			}
		default:
			return fmt.Errorf("%w: %v", errLockLost, err)
		}
		signal(s.wake)
	}
}

// publish produces the outbox in id order (rows that commit late, in the
// gaps the cursor passed, go out as soon as they are seen), keeping at most
// MaxInFlight rows produced and undeleted. Rows handed over by a commit of
// this process go out without a fetch when they are the next ones (take).
func (s *session) publish(ctx context.Context) error {
	var (
		cfg   = s.relay.cfg
		ahead gaps
	)
	var bounded time.Time
	fetchDue := true // at the start, after a wake-up, or when handed rows were not the next ones
	for ctx.Err() == nil {
		if ahead.unbounded() && time.Since(bounded) >= gapBoundInterval {
			// Drawing an xid costs a commit: once in a while is enough, since
			// a gap that stays open only costs a little in each fetch.
			var xid int64
			if err := s.relay.pool.QueryRow(ctx, "SELECT pg_current_xact_id()::text::bigint").Scan(&xid); err != nil {
				return fmt.Errorf("draw a bound for gaps: %w", err)
			}
			ahead.setBound(xid)
			bounded = time.Now()
		}
		// A delete that frees room only matters when there was none: waking
		// for every delete would cost a fetch each, for rows not there yet.
		var roomFreed <-chan struct{}
		if room := cfg.MaxInFlight - int(s.unfinished.Load()); room <= 0 {
			roomFreed = s.room
		} else if fetchDue {
			limit := min(cfg.BatchSize, room)
			rows, err := s.relay.fetch(ctx, &ahead, limit)
			if err != nil {
				return err
			}
			if err := s.produce(rows); err != nil {
				return err
			}
			if len(rows) == limit {
				continue // there may be more right away
			}
			// Fewer rows than asked for: the outbox was drained as of this
			// fetch. A row committed since has woken us (wake holds one),
			// or was handed over.
			fetchDue = false
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
			fetchDue = true
		case <-roomFreed:
			fetchDue = true
		case rows := <-s.handed:
			taken, err := s.take(&ahead, rows)
			if err != nil {
				return err
			}
			fetchDue = fetchDue || !taken
		}
	}
	return nil
}

// take produces rows a commit of this process handed over if they are the
// next rows to send: their ids follow the cursor without a hole, and no gap
// is open — a row in a gap, or in a hole, may belong to an earlier append
// of the same stream, which must go first. Rows the cursor passed already
// with no gap open were fetched before they were handed: nothing to do. In
// any other case it reports false, and the rows are fetched.
func (s *session) take(ahead *gaps, handed []eventstore.OutboxRow) (bool, error) {
	if len(handed) == 0 {
		return true, nil
	}
	if len(ahead.open) > 0 || s.relay.cfg.MaxInFlight-int(s.unfinished.Load()) < len(handed) {
		return false, nil
	}
	if handed[len(handed)-1].ID <= ahead.cursor {
		return true, nil
	}
	for i, h := range handed {
		if h.ID != ahead.cursor+1+int64(i) {
			return false, nil
		}
	}
	now := time.Now()
	rows := make([]row, len(handed))
	for i, h := range handed {
		rows[i] = row{id: h.ID, created: now, eventID: h.EventID, topic: h.Topic, key: h.Key,
			payload: h.Payload, headers: h.Headers}
	}
	if err := s.produce(rows); err != nil {
		return false, err
	}
	ahead.cursor = handed[len(handed)-1].ID
	s.relay.handedOver.Add(int64(len(rows)))
	s.relay.cfg.Metrics.handedOver.Add(float64(len(rows)))
	return true, nil
}

// sent is what a delivery report brings back of its row.
type sent struct {
	id      int64
	created time.Time
}

func (s *session) produce(rows []row) error {
	s.unfinished.Add(int64(len(rows)))
	for _, rw := range rows {
		headers := make([]kafka.Header, len(rw.headers))
		for i, h := range rw.headers {
			headers[i] = kafka.Header{Key: h.Key, Value: []byte(h.Value)}
		}
		topic := rw.topic
		if tracing.On() {
			headers = publishSpan(topic, headers)
		}
		err := s.producer.Produce(&kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key:            []byte(rw.key),
			Value:          rw.payload,
			Headers:        headers,
			Opaque:         sent{id: rw.id, created: rw.created},
		}, s.deliveries)
		if err != nil {
			return fmt.Errorf("produce: %w", err)
		}
	}
	return nil
}

// publishSpan records the relay's publish of one event as a producer
// span, the child of the trace the event was stored in (its traceparent
// header), and makes the message carry the span instead: the consumers'
// spans are its children. The span ends when the message is handed to the
// producer; the delivery's latency is in the outbox's metrics.
func publishSpan(topic string, headers []kafka.Header) []kafka.Header {
	m := &kafka.Message{Headers: headers}
	carrier := tracing.KafkaHeaders{Message: m}
	parent := carrier.Get(schema.HeaderTraceParent)
	if parent == "" {
		return headers // an event stored outside any trace starts none here
	}
	ctx, span := publishTracer.Start(tracing.WithTraceParent(context.Background(), parent), "publish "+carrier.Get(schema.HeaderEventType),
		trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(
			attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.destination.name", topic),
			attribute.String("orderflow.event.id", carrier.Get(schema.HeaderEventID)),
		))
	carrier.Set(schema.HeaderTraceParent, tracing.TraceParent(ctx))
	span.End()
	return m.Headers
}

var publishTracer = tracing.Tracer("outbox")

// drainTimeout bounds how long a graceful stop waits for the rows in flight
// to be acknowledged and deleted; what is left is recovered by the next
// session, never sent twice.
const drainTimeout = 5 * time.Second

// gapBoundInterval is how often the publisher draws an xid to bound the
// gaps found since the last one (see gaps).
const gapBoundInterval = 200 * time.Millisecond

// deleteDelay is how long an acknowledged row may wait to be deleted with
// the ones acknowledged after it. A delete is a commit off every event's
// path: at a low rate, 50 ms cost a delete per two or three events; 250 ms
// leaves the rows a little longer in the outbox (a new session reads back
// at most MaxInFlight of them anyway) for a fifth of the deletes.
const deleteDelay = 250 * time.Millisecond

// handedQueue is how many commits' rows wait for the publisher (Committed);
// past that, a commit wakes it to fetch instead.
const handedQueue = 64

// flushTimeoutMs bounds how long a session that ends waits for messages it
// already handed to the producer.
const flushTimeoutMs = 5_000

// acknowledge deletes acknowledged rows until ctx ends, or — after publish
// stopped — until no row is in flight. Rows are deleted in the order their
// reports came, at most deleteDelay after the first waiting report (or at
// once when BatchSize reports wait, or the publisher waits for room): a
// delete is off the path of every event's latency, and fewer deletes leave
// Postgres more commits for appends. A failed delivery ends the session:
// the idempotent producer fails every later message of that partition too,
// and the next session recovers what did reach Kafka and sends the rest, in
// order.
func (s *session) acknowledge(ctx context.Context) error {
	var (
		cfg      = s.relay.cfg
		ids      []int64
		due      <-chan time.Time // set while ids wait
		stopped  = s.stopped      // nil once seen closed
		draining <-chan time.Time // set once publish stopped
	)
	for {
		if stopped == nil && s.unfinished.Load() == int64(len(ids)) {
			if err := s.delete(ctx, ids); err != nil {
				return err
			}
			return nil // everything produced is deleted
		}
		select {
		case <-ctx.Done():
			return nil
		case <-draining:
			return nil
		case <-stopped:
			stopped = nil
			t := time.NewTimer(drainTimeout)
			defer t.Stop()
			draining = t.C
			continue
		case ev := <-s.deliveries:
			m, ok := ev.(*kafka.Message)
			if !ok {
				return fmt.Errorf("delivery: unexpected event %v", ev)
			}
			if m.TopicPartition.Error != nil {
				return fmt.Errorf("delivery: %w", m.TopicPartition.Error)
			}
			row := m.Opaque.(sent)
			s.relay.cfg.Metrics.published.Inc()
			s.relay.cfg.Metrics.latency.Observe(time.Since(row.created).Seconds())
			ids = append(ids, row.id)
			if due == nil {
				due = time.After(deleteDelay)
			}
			full := len(ids) >= cfg.BatchSize || s.unfinished.Load() >= int64(cfg.MaxInFlight)
			if !full && stopped != nil {
				continue
			}
		case <-due:
		}
		if err := s.delete(ctx, ids); err != nil {
			return err
		}
		ids, due = ids[:0], nil
	}
}

// delete removes acknowledged rows and gives their room back to publish.
func (s *session) delete(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
	defer cancel()
	if _, err := s.relay.pool.Exec(dctx, "DELETE FROM outbox WHERE id = ANY($1)", ids); err != nil {
		return fmt.Errorf("delete published: %w", err)
	}
	s.unfinished.Add(-int64(len(ids)))
	s.relay.published.Add(int64(len(ids)))
	signal(s.room)
	return nil
}

// fetchSQL returns up to $4 rows in id order: those in the open gaps ($2,
// $3: their bounds) and those above the cursor ($1), with the statement's
// snapshot's xmin, which says when a gap can be closed, and each row's age
// in microseconds by the database's clock. One row of NULLs when the
// outbox has nothing to send.
const fetchSQL = `
SELECT snap.xmin, o.id, o.event_id::text, o.topic, o.key, o.payload, o.headers,
       (extract(epoch FROM now() - o.created_at) * 1000000)::bigint
FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin) snap
LEFT JOIN LATERAL (
    (SELECT id, event_id, topic, key, payload, headers, created_at FROM outbox WHERE id > $1 ORDER BY id LIMIT $4)
    UNION ALL
    (SELECT o.id, o.event_id, o.topic, o.key, o.payload, o.headers, o.created_at
       FROM unnest($2::bigint[], $3::bigint[]) AS g(lo, hi)
       JOIN outbox o ON o.id BETWEEN g.lo AND g.hi)
    ORDER BY id LIMIT $4
) o ON true`

// fetch reads the next rows to send and moves ahead past them.
func (r *Relay) fetch(ctx context.Context, ahead *gaps, limit int) ([]row, error) {
	los, his := ahead.bounds()
	fetched := time.Now()
	rows, err := r.pool.Query(ctx, fetchSQL, ahead.cursor, los, his, limit)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	defer rows.Close()
	var (
		out  []row
		ids  []int64
		xmin int64
	)
	for rows.Next() {
		var (
			rw                  row
			id, ageMicros       *int64
			eventID, topic, key *string
			headers             []byte
		)
		if err := rows.Scan(&xmin, &id, &eventID, &topic, &key, &rw.payload, &headers, &ageMicros); err != nil {
			return nil, fmt.Errorf("fetch: %w", err)
		}
		if id == nil {
			continue // the one row of an empty outbox: just the snapshot
		}
		rw.id, rw.eventID, rw.topic, rw.key = *id, *eventID, *topic, *key
		rw.created = fetched.Add(-time.Duration(*ageMicros) * time.Microsecond)
		if err := json.Unmarshal(headers, &rw.headers); err != nil {
			return nil, fmt.Errorf("fetch: headers of row %d: %w", rw.id, err)
		}
		out = append(out, rw)
		ids = append(ids, rw.id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	ahead.update(ids, len(out) < limit, xmin)
	return out, nil
}

// signal wakes whoever waits on c, without blocking and without piling up.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
