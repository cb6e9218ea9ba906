package schema

import "fmt"

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

// EventTopics lists the topics that carry events, in a stable order.
var EventTopics = []string{TopicOrder, TopicPayment, TopicCompensation}

// TopicFor returns the topic that carries events of an aggregate type.
func TopicFor(aggregateType string) (string, error) {
	switch aggregateType {
	case AggregateOrder:
		return TopicOrder, nil
	case AggregatePayment:
		return TopicPayment, nil
	case AggregateCompensation:
		return TopicCompensation, nil
	}
	return "", fmt.Errorf("no topic for aggregate type %q", aggregateType)
}

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
