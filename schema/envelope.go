package schema

import (
	"time"

	"github.com/google/uuid"
)

// Aggregate types: the kinds of event stream in the system.
const (
	AggregateOrder        = "order"
	AggregatePayment      = "payment"
	AggregateCompensation = "compensation"
)

// Event is the payload of an envelope. Each event type has a stable,
// namespaced, versioned name; a change of meaning is a new name.
type Event interface {
	// EventType returns the event's wire name, e.g. "order.created.v1".
	EventType() string
	// Validate reports the first required field that is missing or invalid.
	Validate() error
}

// Envelope carries one event with the facts every consumer needs to route,
// order, deduplicate and trace it.
type Envelope struct {
	// ID is unique per event; consumers deduplicate on it.
	ID string `json:"id"`
	// Type is the payload's wire name.
	Type string `json:"type"`
	// AggregateType and AggregateID name the stream the event belongs to.
	AggregateType string `json:"aggregateType"`
	AggregateID   string `json:"aggregateId"`
	// Version is the event's position in its stream, from 1, without gaps.
	Version    int       `json:"version"`
	OccurredAt time.Time `json:"occurredAt"`
	// CorrelationID is the order id: every event of one saga shares it, and
	// it is the Kafka message key.
	CorrelationID string `json:"correlationId"`
	// CausationID is the id of the event or request that caused this one.
	CausationID string `json:"causationId"`
	// TraceParent is the W3C trace context of the work that produced it.
	TraceParent string `json:"traceparent,omitempty"`
	// Payload is the event itself.
	Payload Event `json:"-"`
}

// Cause describes what made an event happen: the saga it belongs to and the
// message or request that caused it.
type Cause struct {
	CorrelationID string
	CausationID   string
	TraceParent   string
}

// CausedBy returns the Cause for events produced in reaction to e.
func (e Envelope) CausedBy() Cause {
	return Cause{CorrelationID: e.CorrelationID, CausationID: e.ID, TraceParent: e.TraceParent}
}

// New wraps payload in an envelope for the stream aggregateType/aggregateID.
// The version is left zero: the event store assigns it on append.
func New(aggregateType, aggregateID string, payload Event, cause Cause, now time.Time) Envelope {
	return Envelope{
		ID:            uuid.NewString(),
		Type:          payload.EventType(),
		AggregateType: aggregateType,
		AggregateID:   aggregateID,
		OccurredAt:    now.UTC(),
		CorrelationID: cause.CorrelationID,
		CausationID:   cause.CausationID,
		TraceParent:   cause.TraceParent,
		Payload:       payload,
	}
}
