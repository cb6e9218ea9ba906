package schema

import (
	"fmt"
	"strconv"
)

// Kafka topics. Each aggregate type publishes on its own topic; messages are
// keyed by order id so that one order's events stay in order.
const (
	TopicOrder        = "orderflow.order.events"
	TopicPayment      = "orderflow.payment.events"
	TopicCompensation = "orderflow.compensation.events"
	// TopicDeadLetter receives messages that can never be handled, with the
	// reason and their origin in headers.
	TopicDeadLetter = "orderflow.deadletter"
)

// Topics names the topics of one deployment. A prefix lets several
// deployments (or test runs) share a Kafka cluster without seeing each
// other's events.
type Topics struct {
	Order, Payment, Compensation, DeadLetter string
}

// TopicsWithPrefix returns the topic names with prefix in front ("" gives
// the defaults).
func TopicsWithPrefix(prefix string) Topics {
	return Topics{
		Order:        prefix + TopicOrder,
		Payment:      prefix + TopicPayment,
		Compensation: prefix + TopicCompensation,
		DeadLetter:   prefix + TopicDeadLetter,
	}
}

// Events lists the topics that carry events, in a stable order.
func (t Topics) Events() []string { return []string{t.Order, t.Payment, t.Compensation} }

// For returns the topic that carries events of an aggregate type.
func (t Topics) For(aggregateType string) (string, error) {
	switch aggregateType {
	case AggregateOrder:
		return t.Order, nil
	case AggregatePayment:
		return t.Payment, nil
	case AggregateCompensation:
		return t.Compensation, nil
	}
	return "", fmt.Errorf("no topic for aggregate type %q", aggregateType)
}

// TopicFor returns the default topic of an aggregate type.
func TopicFor(aggregateType string) (string, error) { return TopicsWithPrefix("").For(aggregateType) }

// Kafka header names. The event id and type travel in headers so that a
// consumer can deduplicate or route without decoding the value.
const (
	HeaderEventID       = "event-id"
	HeaderEventType     = "event-type"
	HeaderAggregateType = "aggregate-type"
	HeaderAggregateID   = "aggregate-id"
	HeaderVersion       = "event-version"
	HeaderCorrelationID = "correlation-id"
	HeaderCausationID   = "causation-id"
	HeaderTraceParent   = "traceparent"
)

// NATS JetStream names. Every event is mirrored into one stream; the subject
// names the order, so a client can follow one order with a subject filter.
const (
	NATSStream = "ORDERFLOW_EVENTS"
	// NATSSubjectAll matches every mirrored event.
	NATSSubjectAll = "orderflow.events.>"
)

// NATSSubject is the subject one event is mirrored on:
// orderflow.events.<order id>.<aggregate type>.
func NATSSubject(orderID, aggregateType string) string {
	return "orderflow.events." + orderID + "." + aggregateType
}

// NATSOrderSubject matches every event of one order.
func NATSOrderSubject(orderID string) string {
	return "orderflow.events." + orderID + ".>"
}

// MessageHeader is one header of an event's Kafka message (and of its
// JetStream copy).
type MessageHeader struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

// MessageHeaders returns the headers an event travels with, in a stable
// order; empty values are left out. The event id and type are among them, so
// a consumer can deduplicate or route without decoding the value.
func MessageHeaders(env Envelope) []MessageHeader {
	all := []MessageHeader{
		{HeaderEventID, env.ID},
		{HeaderEventType, env.Type},
		{HeaderAggregateType, env.AggregateType},
		{HeaderAggregateID, env.AggregateID},
		{HeaderVersion, strconv.Itoa(env.Version)},
		{HeaderCorrelationID, env.CorrelationID},
		{HeaderCausationID, env.CausationID},
		{HeaderTraceParent, env.TraceParent},
	}
	out := all[:0]
	for _, h := range all {
		if h.Value != "" {
			out = append(out, h)
		}
	}
	return out
}
