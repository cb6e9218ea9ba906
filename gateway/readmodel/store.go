package readmodel

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/orderflow/orderflow/gateway/orderview"
	"github.com/orderflow/orderflow/graph/model"
)

// Page sizes of ListOrders.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// Store answers order queries from Redis alone. It implements graph.Orders.
type Store struct {
	rdb  redis.UniversalClient
	keys keys
}

// NewStore returns a store reading the keys under prefix (DefaultPrefix in a
// deployment that configures none).
func NewStore(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, keys: keys{prefix: prefix}}
}

// Order returns the order, or nil if the read model does not know it (yet):
// an order known only from its payment's events is not shown.
func (s *Store) Order(ctx context.Context, id string) (*model.Order, error) {
	parts, err := s.rdb.HMGet(ctx, s.keys.order(id), fieldOrder, fieldPayment).Result()
	if err != nil {
		return nil, fmt.Errorf("get order %s: %w", id, err)
	}
	o, err := assemble(parts)
	if err != nil {
		return nil, fmt.Errorf("order %s: %w", id, err)
	}
	return o, nil
}

// Exists reports whether the read model knows the order.
func (s *Store) Exists(ctx context.Context, id string) (bool, error) {
	o, err := s.Order(ctx, id)
	return o != nil, err
}

// ListOrders returns a page of a customer's orders, newest first, of one
// status if q.Status is set. First 0 means DefaultPageSize.
//
// The list and the documents are read in two steps; an order whose status
// changed in between is left out of a status-filtered page (the page may be
// one short), never shown with a status it was not asked for.
func (s *Store) ListOrders(ctx context.Context, q model.ListQuery) (*model.OrderConnection, error) {
	first := q.First
	if first == 0 {
		first = DefaultPageSize
	}
	if first < 1 || first > MaxPageSize {
		return nil, model.BadInput("first", fmt.Sprintf("first must be between 1 and %d", MaxPageSize))
	}
	if q.Status != nil && !q.Status.IsValid() {
		return nil, model.BadInput("status", fmt.Sprintf("status: %q is not an order status", *q.Status))
	}
	var after *cursor
	if q.After != "" {
		c, ok := parseCursor(q.After)
		if !ok {
			return nil, model.BadInput("after", "after: not a cursor returned by this API")
		}
		after = &c
	}

	entries, err := s.scan(ctx, s.keys.list(q.CustomerID, q.Status), after, first+1)
	if err != nil {
		return nil, err
	}
	conn := &model.OrderConnection{Edges: []*model.OrderEdge{}, PageInfo: &model.PageInfo{}}
	if len(entries) > first {
		conn.PageInfo.HasNextPage = true
		entries = entries[:first]
	}
	if len(entries) == 0 {
		return conn, nil
	}
	docs := make([]*redis.SliceCmd, len(entries))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, e := range entries {
			docs[i] = p.HMGet(ctx, s.keys.order(e.id), fieldOrder, fieldPayment)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("get orders: %w", err)
	}
	for i, doc := range docs {
		o, err := assemble(doc.Val())
		if err != nil {
			return nil, fmt.Errorf("order %s: %w", entries[i].id, err)
		}
		if o == nil || (q.Status != nil && o.Status != *q.Status) {
			continue // not created, or removed or moved meanwhile
		}
		conn.Edges = append(conn.Edges, &model.OrderEdge{Cursor: entries[i].String(), Node: o})
	}
	// The end cursor is the last entry read, even if its order was left out,
	// so the next page starts after it.
	end := entries[len(entries)-1].String()
	conn.PageInfo.EndCursor = &end
	return conn, nil
}

// scan returns up to limit entries of the sorted set key, newest first,
// starting after the cursor if one is given. Entries with the cursor's score
// are ordered by id descending (Redis orders equal scores by member), so the
// ones before the cursor are those with a smaller id.
func (s *Store) scan(ctx context.Context, key string, after *cursor, limit int) ([]cursor, error) {
	if after == nil {
		zs, err := s.rdb.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{
			Key: key, Start: "+inf", Stop: "-inf", ByScore: true, Rev: true, Count: int64(limit),
		}).Result()
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", key, err)
		}
		return toCursors(zs), nil
	}
	score := strconv.FormatInt(after.score, 10)
	var ties, older *redis.ZSliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		ties = p.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: key, Start: score, Stop: score, ByScore: true, Rev: true})
		older = p.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{
			Key: key, Start: "(" + score, Stop: "-inf", ByScore: true, Rev: true, Count: int64(limit),
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", key, err)
	}
	var out []cursor
	for _, c := range toCursors(ties.Val()) {
		if c.id < after.id {
			out = append(out, c)
		}
	}
	out = append(out, toCursors(older.Val())...)
	return out[:min(len(out), limit)], nil
}

func toCursors(zs []redis.Z) []cursor {
	out := make([]cursor, len(zs))
	for i, z := range zs {
		out[i] = cursor{score: int64(z.Score), id: z.Member.(string)}
	}
	return out
}

// assemble makes the order from its parts as HMGET returns them (the order
// part, the payment part), or returns nil if its OrderCreated has not been
// applied.
func assemble(parts []any) (*model.Order, error) {
	doc, ok := parts[0].(string)
	if !ok {
		return nil, nil
	}
	var o model.Order
	if err := json.Unmarshal([]byte(doc), &o); err != nil {
		return nil, fmt.Errorf("decode read model: %w", err)
	}
	if !orderview.Created(&o) {
		return nil, nil
	}
	if doc, ok := parts[1].(string); ok {
		o.Payment = &model.Payment{}
		if err := json.Unmarshal([]byte(doc), o.Payment); err != nil {
			return nil, fmt.Errorf("decode read model payment: %w", err)
		}
	}
	return &o, nil
}
