// Package readmodel keeps the gateway's query side in Redis: one hash per
// order, and per-customer sorted sets (all orders, and orders of each status)
// scored by creation time, so that a customer's orders page newest first
// without scanning.
//
// An order's events come from two streams, the order's and its payment's,
// on different partitions and so at the same time. The hash keeps each
// stream's part of the order apart — a field per stream, written only by that
// stream's events — so the two never contend; queries assemble the order
// from both with the fold of orderview. The Projector folds a batch of events
// in Go and writes each changed part with one script call (a compare-and-set
// on the part's version, with the list changes), all in one pipeline;
// redelivered and old events change nothing. Store answers queries from
// Redis alone; Rebuild wipes the keys and replays the event topics. Every key
// starts with a configurable prefix, so deployments and tests share a Redis
// without seeing each other.
//
// Layout, with the default prefix "orderflow:":
//
//	orderflow:order.v2:<id>                                HASH
//	    order, order_version                               JSON of model.Order without payment, its version
//	    payment, payment_version                           JSON of model.Payment, its version
//	orderflow:customer:<customerId>:orders                 ZSET id → createdAt (ms)
//	orderflow:customer:<customerId>:status:<STATUS>:orders ZSET id → createdAt (ms)
//
// The lists follow the order part only. One script call touches the order's
// key and its customer's lists, which hash to different Redis Cluster slots:
// use a single Redis (with replicas or Sentinel), not Cluster. Read models
// of the layout before this one (a JSON string per order under "order:")
// are left alone; a new consumer group replays the topics into the new keys.
package readmodel

import "github.com/orderflow/orderflow/graph/model"

// DefaultPrefix is the key prefix of a deployment that sets none.
const DefaultPrefix = "orderflow:"

// keys names the Redis keys under one prefix.
type keys struct{ prefix string }

func (k keys) order(id string) string { return k.prefix + orderKey + id }

// orderKey names the order hashes. It changed with their layout (".v2": a
// hash of parts, where the first layout was a JSON string under "order:"),
// so that a gateway of this version meeting read models of the old one
// neither fails on them nor mistakes them for its own: they are left as
// they are, and rebuild-readmodels or a replay fills the new keys.
const orderKey = "order.v2:"

func (k keys) customer(customerID string) string {
	return k.prefix + "customer:" + customerID + ":orders"
}

func (k keys) customerStatus(customerID string, status model.OrderStatus) string {
	return k.prefix + "customer:" + customerID + ":status:" + string(status) + ":orders"
}

// list returns the sorted set a query reads.
func (k keys) list(customerID string, status *model.OrderStatus) string {
	if status == nil {
		return k.customer(customerID)
	}
	return k.customerStatus(customerID, *status)
}
