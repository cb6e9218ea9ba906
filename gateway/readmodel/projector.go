package readmodel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/orderflow/orderflow/gateway/orderview"
	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/schema"
)

// maxRounds bounds the rounds of one batch. A round after the first re-reads
// the parts that another writer of the same stream changed meanwhile (two
// group members during a rebalance); after this many the consumer's backoff
// takes over.
const maxRounds = 50

// Projector folds events into the read model.
type Projector struct {
	rdb  redis.UniversalClient
	keys keys
}

// NewProjector returns a projector writing the keys under prefix.
func NewProjector(rdb redis.UniversalClient, prefix string) *Projector {
	return &Projector{rdb: rdb, keys: keys{prefix: prefix}}
}

// Handle is the projector as a consumer.Handler. Events it does not fold
// (compensation events) are passed over.
func (p *Projector) Handle(ctx context.Context, msgs []consumer.Message) error {
	_, err := p.ApplyBatch(ctx, envelopes(msgs))
	return err
}

func envelopes(msgs []consumer.Message) []schema.Envelope {
	events := make([]schema.Envelope, len(msgs))
	for i, msg := range msgs {
		events[i] = msg.Envelope
	}
	return events
}

// Apply folds one event into its order's read model and reports whether
// anything changed; see ApplyBatch.
func (p *Projector) Apply(ctx context.Context, env schema.Envelope) (bool, error) {
	n, err := p.ApplyBatch(ctx, []schema.Envelope{env})
	return n > 0, err
}

// ApplyBatch folds events into their orders' documents and lists, each
// stream's events in the order given, and returns how many of them changed
// something. An event already applied (redelivered, or older than the
// document) changes nothing and writes nothing. Payment events that arrive
// before their order's OrderCreated are kept in a payment part that queries
// do not show until OrderCreated adds the order part.
//
// Cost: one round trip reads the parts the batch's events apply to (none
// for streams whose first event is in the batch), one more writes them —
// one writePart call per order part, which applies the part's events and
// their list changes at once. A failure may leave some parts written and
// others not; each write is guarded by version, so applying the same events
// again completes it.
func (p *Projector) ApplyBatch(ctx context.Context, events []schema.Envelope) (int, error) {
	parts := p.parts(events)
	changed := 0
	for round := 0; len(parts) > 0; round++ {
		if round == maxRounds {
			return changed, fmt.Errorf("project: %d rounds of conflicting writers", maxRounds)
		}
		if err := p.read(ctx, parts); err != nil {
			return changed, fmt.Errorf("project: %w", err)
		}
		n, again, err := p.write(ctx, parts)
		changed += n
		if err != nil {
			return changed, fmt.Errorf("project: %w", err)
		}
		parts = again
	}
	return changed, nil
}

// part is one stream's part of one order with the batch's events for it.
type part struct {
	orderID string
	payment bool // the payment stream's part, else the order stream's
	events  []schema.Envelope
	// base is the stored part: the order without its payment, or only the
	// payment (in an order that has nothing else). known says whether it
	// was read — or needs no reading, the stream starting in this batch.
	base  model.Order
	known bool
}

func (pt *part) field() (data, version string) {
	if pt.payment {
		return fieldPayment, fieldPaymentVersion
	}
	return fieldOrder, fieldOrderVersion
}

// parts groups the events that fold by order and stream, in their order.
func (p *Projector) parts(events []schema.Envelope) []*part {
	type id struct {
		order   string
		payment bool
	}
	var parts []*part
	byID := map[id]*part{}
	for _, env := range events {
		if !orderview.Folds(env) {
			continue
		}
		k := id{orderview.OrderID(env), isPayment(env)}
		pt := byID[k]
		if pt == nil {
			pt = &part{orderID: k.order, payment: k.payment, base: model.Order{ID: k.order}, known: env.Version == 1}
			byID[k] = pt
			parts = append(parts, pt)
		}
		pt.events = append(pt.events, env)
	}
	return parts
}

// isPayment reports whether env is a payment stream's event.
func isPayment(env schema.Envelope) bool {
	switch env.Payload.(type) {
	case schema.PaymentRequested, schema.PaymentCaptured, schema.PaymentDeclined, schema.PaymentFailed,
		schema.PaymentRefunded:
		return true
	}
	return false
}

// read loads the base of every part not known, in one round trip.
func (p *Projector) read(ctx context.Context, parts []*part) error {
	pipe := p.rdb.Pipeline()
	cmds := map[*part]*redis.StringCmd{}
	for _, pt := range parts {
		if !pt.known {
			data, _ := pt.field()
			cmds[pt] = pipe.HGet(ctx, p.keys.order(pt.orderID), data)
		}
	}
	if len(cmds) == 0 {
		return nil
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("read: %w", err)
	}
	for pt, cmd := range cmds {
		pt.base, pt.known = model.Order{ID: pt.orderID}, true
		raw, err := cmd.Bytes()
		switch {
		case errors.Is(err, redis.Nil):
			continue
		case err != nil:
			return fmt.Errorf("read %s: %w", pt.orderID, err)
		}
		into := any(&pt.base)
		if pt.payment {
			pt.base.Payment = &model.Payment{}
			into = pt.base.Payment
		}
		if err := json.Unmarshal(raw, into); err != nil {
			return fmt.Errorf("decode read model %s: %w", pt.orderID, err)
		}
	}
	return nil
}

// write folds each part's events into its base and writes the parts that
// changed, in one round trip. It returns how many events changed something
// and the parts to read and fold again.
func (p *Projector) write(ctx context.Context, parts []*part) (int, []*part, error) {
	type call struct {
		pt      *part
		changes int
		cmd     *redis.Cmd
	}
	var calls []call
	pipe := p.rdb.Pipeline()
	for _, pt := range parts {
		o := orderview.Clone(&pt.base)
		changes := 0
		for _, env := range pt.events {
			if orderview.Apply(o, env).Changed {
				changes++
			}
		}
		if changes == 0 {
			continue
		}
		keys, args, err := p.writeArgs(pt, o)
		if err != nil {
			return 0, nil, err
		}
		calls = append(calls, call{pt, changes, writePart.EvalSha(ctx, pipe, keys, args...)})
	}
	if len(calls) == 0 {
		return 0, nil, nil
	}
	if _, err := pipe.Exec(ctx); err != nil {
		if redis.HasErrorPrefix(err, "NOSCRIPT") { // a new or restarted Redis
			if err := writePart.Load(ctx, p.rdb).Err(); err != nil {
				return 0, nil, fmt.Errorf("load script: %w", err)
			}
			return 0, parts, nil
		}
		return 0, nil, fmt.Errorf("write: %w", err)
	}
	changed := 0
	var again []*part
	for _, c := range calls {
		switch c.cmd.Val() {
		case int64(written):
			changed += c.changes
		case int64(conflict):
			c.pt.known = false
			again = append(again, c.pt)
		}
	}
	return changed, again, nil
}

// writeArgs returns writePart's keys and arguments for writing pt as o.
func (p *Projector) writeArgs(pt *part, o *model.Order) ([]string, []any, error) {
	data, version := pt.field()
	key := p.keys.order(pt.orderID)
	if pt.payment {
		from := 0
		if pt.base.Payment != nil {
			from = pt.base.Payment.Version
		}
		doc, err := json.Marshal(o.Payment)
		if err != nil {
			return nil, nil, err
		}
		return []string{key}, []any{data, version, from, o.Payment.Version, doc, listsKept, o.ID, 0}, nil
	}
	doc, err := json.Marshal(o)
	if err != nil {
		return nil, nil, err
	}
	keys, lists := []string{key}, listsKept
	switch {
	case !orderview.Created(o):
	case !orderview.Created(&pt.base):
		keys, lists = append(keys, p.keys.customer(o.CustomerID), p.keys.customerStatus(o.CustomerID, o.Status)), listsCreated
	case o.Status != pt.base.Status:
		keys, lists = append(keys, p.keys.customerStatus(o.CustomerID, o.Status), p.keys.customerStatus(o.CustomerID, pt.base.Status)), listsMoved
	}
	score := strconv.FormatInt(o.CreatedAt.UnixMilli(), 10)
	return keys, []any{data, version, pt.base.Version, o.Version, doc, lists, o.ID, score}, nil
}

// Kafka says where the events are.
type Kafka struct {
	Brokers string
	// TopicPrefix is the deployment's topic prefix (schema.TopicsWithPrefix).
	TopicPrefix string
}

// ConsumerConfig returns the settings of the projector's consumer group,
// <topicPrefix>gateway-projector, over the order and payment topics, for a
// gateway that projects without mirroring (one that does both projects in
// the mirror's group: mirror.Config.Then). The caller may tune retries
// before consumer.New(cfg, codec, p.Handle, log).
func (k Kafka) ConsumerConfig() consumer.Config {
	topics := schema.TopicsWithPrefix(k.TopicPrefix)
	return consumer.Config{
		Brokers:         k.Brokers,
		Group:           k.TopicPrefix + "gateway-projector",
		Topics:          []string{topics.Order, topics.Payment},
		DeadLetterTopic: topics.DeadLetter,
	}
}
