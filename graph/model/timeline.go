package model

import "time"

// TimelineEntry is one event of an order's saga timeline: an event of the
// order's, its payment's or its compensation's stream, placed after the
// event that caused it.
type TimelineEntry struct {
	EventID string `json:"eventId"`
	// Service is the aggregate type of the event's stream: order, payment
	// or compensation.
	Service    string    `json:"service"`
	Type       string    `json:"type"`
	Version    int       `json:"version"`
	OccurredAt time.Time `json:"occurredAt"`
	// CausationID is the id of the event or request that caused this one.
	CausationID *string `json:"causationId"`
	// TraceID is the trace-id part of the event's W3C trace context.
	TraceID *string `json:"traceId"`
	// SincePreviousMs is OccurredAt minus the previous entry's, in
	// milliseconds; nil for the first entry.
	SincePreviousMs *float64 `json:"sincePreviousMs"`
}
