package readmodel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/orderflow/orderflow/gateway/orderview"
	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/schema"
)

// maxConflicts bounds the optimistic retries of one event. Conflicts happen
// when an order's and its payment's events are applied at the same moment;
// after this many the consumer's backoff takes over.
const maxConflicts = 50

// Projector folds events into the read model.
type Projector struct {
	rdb  redis.UniversalClient
	keys keys
}

// NewProjector returns a projector writing the keys under prefix.
func NewProjector(rdb redis.UniversalClient, prefix string) *Projector {
	return &Projector{rdb: rdb, keys: keys{prefix: prefix}}
}

// Handle is the projector as a consumer.Handler.
func (p *Projector) Handle(ctx context.Context, msg consumer.Message) error {
	_, err := p.Apply(ctx, msg.Envelope)
	return err
}

// Apply folds one event into its order's document and lists, atomically, and
// reports whether anything changed. An event already applied (redelivered, or
// older than the document) changes nothing and writes nothing. Payment events
// that arrive before their order's OrderCreated are kept in a partial
// document that queries do not show until OrderCreated fills it in.
func (p *Projector) Apply(ctx context.Context, env schema.Envelope) (bool, error) {
	if !orderview.Folds(env) {
		return false, nil
	}
	id := orderview.OrderID(env)
	key := p.keys.order(id)
	for range maxConflicts {
		var changed bool
		err := p.rdb.Watch(ctx, func(tx *redis.Tx) error {
			var err error
			changed, err = p.apply(ctx, tx, key, env)
			return err
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue // the document changed under us: read it again
		}
		if err != nil {
			return false, fmt.Errorf("project %s %s: %w", env.Type, id, err)
		}
		return changed, nil
	}
	return false, fmt.Errorf("project %s %s: %d conflicting writers in a row", env.Type, id, maxConflicts)
}

func (p *Projector) apply(ctx context.Context, tx *redis.Tx, key string, env schema.Envelope) (bool, error) {
	var o model.Order
	raw, err := tx.Get(ctx, key).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
	case err != nil:
		return false, err
	default:
		if err := json.Unmarshal(raw, &o); err != nil {
			return false, fmt.Errorf("decode read model: %w", err)
		}
	}
	before := o.Status
	wasCreated := orderview.Created(&o)
	change := orderview.Apply(&o, env)
	if !change.Changed {
		return false, nil
	}
	doc, err := json.Marshal(&o)
	if err != nil {
		return false, err
	}
	_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Set(ctx, key, doc, 0)
		if !orderview.Created(&o) {
			return nil
		}
		member := redis.Z{Score: float64(o.CreatedAt.UnixMilli()), Member: o.ID}
		if !wasCreated {
			pipe.ZAdd(ctx, p.keys.customer(o.CustomerID), member)
		}
		if !wasCreated || change.StatusChanged {
			if wasCreated && before != "" {
				pipe.ZRem(ctx, p.keys.customerStatus(o.CustomerID, before), o.ID)
			}
			pipe.ZAdd(ctx, p.keys.customerStatus(o.CustomerID, o.Status), member)
		}
		return nil
	})
	return true, err
}

// Kafka says where the events are.
type Kafka struct {
	Brokers string
	// TopicPrefix is the deployment's topic prefix (schema.TopicsWithPrefix).
	TopicPrefix string
}

// ConsumerConfig returns the settings of the projector's consumer group,
// <topicPrefix>gateway-projector, over the order and payment topics. The
// caller may tune retries before consumer.New(cfg, codec, p.Handle, log).
func (k Kafka) ConsumerConfig() consumer.Config {
	topics := schema.TopicsWithPrefix(k.TopicPrefix)
	return consumer.Config{
		Brokers:         k.Brokers,
		Group:           k.TopicPrefix + "gateway-projector",
		Topics:          []string{topics.Order, topics.Payment},
		DeadLetterTopic: topics.DeadLetter,
	}
}
