// Package timeline reads an order's saga timeline for the orderTimeline
// query: every event of the order's, its payment's and its compensation's
// streams, from the NATS JetStream stream the mirror writes (one subject
// per order and stream, orderflow.events.<orderId>.<aggregateType>), put in
// causal order (FromEvents). It reads on request and keeps nothing: an
// order's events are fetched by subject, which JetStream indexes, and there
// are about ten of them.
package timeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/schema"
)

// Config names the stream the mirror writes and bounds a timeline.
type Config struct {
	// Stream defaults to schema.NATSStream.
	Stream string
	// SubjectPrefix is the mirror's subject prefix ("" in production).
	SubjectPrefix string
	// MaxEvents bounds the messages read for one timeline (the first ones
	// are kept); default 1000. A saga has about ten events.
	MaxEvents int
}

// DefaultMaxEvents is the default of Config.MaxEvents, as the schema
// documents it.
const DefaultMaxEvents = 1000

func (c *Config) setDefaults() {
	if c.Stream == "" {
		c.Stream = schema.NATSStream
	}
	if c.MaxEvents <= 0 {
		c.MaxEvents = DefaultMaxEvents
	}
}

// Reader implements graph.Timelines.
type Reader struct {
	js  jetstream.JetStream
	cfg Config
	log *slog.Logger
	// stream is the stream's handle once looked up: it reads by name, so
	// it stays good if the stream is made again.
	stream atomic.Pointer[jetstream.Stream]
}

// New returns a reader of the stream through js.
func New(js jetstream.JetStream, cfg Config, log *slog.Logger) *Reader {
	cfg.setDefaults()
	return &Reader{js: js, cfg: cfg, log: log.With("component", "timeline", "stream", cfg.Stream)}
}

// Timeline returns the order's events mirrored so far in causal order
// (FromEvents); none if it has none yet. NATS that cannot be read is an
// UNAVAILABLE *model.Error; the request's own end (ctx) is returned as is.
func (r *Reader) Timeline(ctx context.Context, orderID string) ([]*model.TimelineEntry, error) {
	if orderID == "" || strings.ContainsAny(orderID, ".*> \t\r\n") {
		return nil, model.OrderNotFound(orderID) // cannot be a subject token, so cannot be an order
	}
	envs, err := r.read(ctx, orderID)
	switch {
	case err == nil:
		return FromEvents(envs), nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, jetstream.ErrStreamNotFound):
		r.log.WarnContext(ctx, "no stream to read a timeline from", "order_id", orderID, "err", err)
		return nil, model.Unavailable(fmt.Sprintf("the order's timeline is not available yet: the gateway has not "+
			"mirrored any event into NATS JetStream (stream %s does not exist); try again shortly", r.cfg.Stream))
	default:
		r.log.WarnContext(ctx, "cannot read a timeline", "order_id", orderID, "err", err)
		return nil, model.Unavailable("the order's timeline cannot be read at the moment: " +
			"the gateway cannot reach NATS JetStream, where the events are mirrored; try again shortly")
	}
}

// read returns the order's messages in stream order, at most MaxEvents,
// each got by subject from the sequence after the previous one: it ends
// where the stream ended when the last one was read.
func (r *Reader) read(ctx context.Context, orderID string) ([]schema.Envelope, error) {
	if nc := r.js.Conn(); !nc.IsConnected() {
		return nil, fmt.Errorf("nats is %s", nc.Status()) // fail now rather than at the request's timeout
	}
	stream, err := r.handle(ctx)
	if err != nil {
		return nil, err
	}
	subject := r.cfg.SubjectPrefix + schema.NATSOrderSubject(orderID)
	var out []schema.Envelope
	seq := uint64(1)
	for range r.cfg.MaxEvents {
		msg, err := stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("get %s from %d: %w", subject, seq, err)
		}
		seq = msg.Sequence + 1
		env, err := decode(msg)
		if err != nil {
			r.log.WarnContext(ctx, "skipping an undecodable event", "subject", msg.Subject, "seq", msg.Sequence, "err", err)
			continue
		}
		out = append(out, env)
	}
	r.log.WarnContext(ctx, "timeline cut at its maximum", "order_id", orderID, "max_events", r.cfg.MaxEvents)
	return out, nil
}

func (r *Reader) handle(ctx context.Context) (jetstream.Stream, error) {
	if s := r.stream.Load(); s != nil {
		return *s, nil
	}
	s, err := r.js.Stream(ctx, r.cfg.Stream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", r.cfg.Stream, err)
	}
	r.stream.Store(&s)
	return s, nil
}

// decode reads the envelope of a mirrored event: only its own fields, not
// the payload, so that an event of a type this gateway does not know yet is
// on the timeline too. What the envelope leaves out, the subject
// (aggregate type) and the headers (trace context) tell.
func decode(msg *jetstream.RawStreamMsg) (schema.Envelope, error) {
	var env schema.Envelope
	if err := json.Unmarshal(msg.Data, &env); err != nil {
		return schema.Envelope{}, err
	}
	if env.ID == "" || env.Type == "" {
		return schema.Envelope{}, errors.New("no event id or type")
	}
	if env.AggregateType == "" {
		env.AggregateType = msg.Subject[strings.LastIndexByte(msg.Subject, '.')+1:]
	}
	if env.TraceParent == "" {
		env.TraceParent = msg.Header.Get(schema.HeaderTraceParent)
	}
	return env, nil
}
