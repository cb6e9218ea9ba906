// Package readmodel keeps the gateway's query side in Redis: one JSON
// document per order, and per-customer sorted sets (all orders, and orders of
// each status) scored by creation time, so that a customer's orders page
// newest first without scanning.
//
// The Projector folds order and payment events into these keys, each event in
// one optimistic transaction (WATCH/MULTI), idempotently; Store answers
// queries from Redis alone; Rebuild wipes the keys and replays the event
// topics. Every key starts with a configurable prefix, so deployments and
// tests share a Redis without seeing each other.
//
// Layout, with the default prefix "orderflow:":
//
//	orderflow:order:<id>                                   JSON of model.Order
//	orderflow:customer:<customerId>:orders                 ZSET id → createdAt (ms)
//	orderflow:customer:<customerId>:status:<STATUS>:orders ZSET id → createdAt (ms)
//
// One event's transaction touches the order's key and its customer's lists,
// which hash to different Redis Cluster slots: use a single Redis (with
// replicas or Sentinel), not Cluster.
package readmodel

import "github.com/orderflow/orderflow/graph/model"

// DefaultPrefix is the key prefix of a deployment that sets none.
const DefaultPrefix = "orderflow:"

// keys names the Redis keys under one prefix.
type keys struct{ prefix string }

func (k keys) order(id string) string { return k.prefix + "order:" + id }

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
