package model

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// DeadLetter is a message a service's Kafka consumer set aside (parked, or
// a dead letter), as triage shows it.
type DeadLetter struct {
	// ID is the global id, Ref().String(): "<service>:<number>".
	ID string `json:"id"`
	// Service is the service whose consumer set the message aside.
	Service string `json:"service"`
	// Number is the letter's id within its service.
	Number        int64           `json:"-"`
	Kind          DeadLetterKind  `json:"kind"`
	State         DeadLetterState `json:"state"`
	Reason        string          `json:"reason"`
	Attempts      int             `json:"attempts"`
	Replays       int             `json:"replays"`
	ConsumerGroup string          `json:"consumerGroup"`
	Topic         string          `json:"topic"`
	Partition     int             `json:"partition"`
	// Offset is the Kafka offset in decimal: GraphQL's Int has 32 bits.
	Offset    string  `json:"offset"`
	Key       string  `json:"key"`
	OrderID   *string `json:"orderId"`
	EventID   *string `json:"eventId"`
	EventType *string `json:"eventType"`
	// Event is the message's value as JSON text, when it is JSON; Value is
	// the value as text otherwise.
	Event     *string   `json:"event"`
	Value     *string   `json:"value"`
	ParkedAt  time.Time `json:"parkedAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Audit is the letter's audit trail, oldest first, when the service's
	// answer had it (a single letter has it, a list does not); nil means
	// not fetched, and the audit resolver fetches it when it is selected.
	Audit []*DeadLetterAuditEntry `json:"-"`
}

// Ref returns the letter's reference.
func (l *DeadLetter) Ref() DeadLetterRef { return DeadLetterRef{Service: l.Service, Number: l.Number} }

// DeadLetterRef names one letter: its service and its id there.
type DeadLetterRef struct {
	Service string
	Number  int64
}

// String is the global id, "<service>:<number>".
func (r DeadLetterRef) String() string { return r.Service + ":" + strconv.FormatInt(r.Number, 10) }

// ParseDeadLetterRef reads a global id; it does not check that the service
// exists.
func ParseDeadLetterRef(id string) (DeadLetterRef, bool) {
	service, num, ok := strings.Cut(id, ":")
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || service == "" || err != nil || n < 1 || num != strconv.FormatInt(n, 10) {
		return DeadLetterRef{}, false
	}
	return DeadLetterRef{Service: service, Number: n}, true
}

// DeadLetterAuditEntry is one change of a letter's state.
type DeadLetterAuditEntry struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"`
	Actor  string    `json:"actor"`
	Note   *string   `json:"note"`
}

// DeadLetterConnection is a page of letters.
type DeadLetterConnection struct {
	Edges    []*DeadLetterEdge `json:"edges"`
	PageInfo *PageInfo         `json:"pageInfo"`
}

// DeadLetterEdge is one letter of a page with its cursor.
type DeadLetterEdge struct {
	Cursor string      `json:"cursor"`
	Node   *DeadLetter `json:"node"`
}

// DeadLetterFilter is the input of replayDeadLetters.
type DeadLetterFilter struct {
	Service *string         `json:"service"`
	Topic   *string         `json:"topic"`
	Reason  *string         `json:"reason"`
	Kind    *DeadLetterKind `json:"kind"`
}

// ReplayDeadLettersResult is the answer of replayDeadLetters.
type ReplayDeadLettersResult struct {
	Count int `json:"count"`
}

// DeadLetterSelection selects letters; a zero field selects all.
type DeadLetterSelection struct {
	// Service is one of the services, or "" for all of them.
	Service string
	Topic   string
	// Reason is contained in the letters' reasons, ignoring case.
	Reason string
	Kind   DeadLetterKind
}

// DeadLetterQuery selects a page of letters.
type DeadLetterQuery struct {
	DeadLetterSelection
	State DeadLetterState
	First int
	// After is the cursor of an earlier page's letter, or "" for the
	// first page.
	After string
}

// DeadLetterKind says why a message was set aside.
type DeadLetterKind string

// Kinds of letter.
const (
	DeadLetterKindParked     DeadLetterKind = "PARKED"
	DeadLetterKindDeadLetter DeadLetterKind = "DEAD_LETTER"
)

// IsValid reports whether k is a known kind.
func (k DeadLetterKind) IsValid() bool {
	return k == DeadLetterKindParked || k == DeadLetterKindDeadLetter
}

// UnmarshalGQL implements graphql.Unmarshaler.
func (k *DeadLetterKind) UnmarshalGQL(v any) error {
	str, ok := v.(string)
	if !ok {
		return fmt.Errorf("DeadLetterKind must be a string")
	}
	*k = DeadLetterKind(str)
	if !k.IsValid() {
		return fmt.Errorf("%s is not a valid DeadLetterKind", str)
	}
	return nil
}

// MarshalGQL implements graphql.Marshaler.
func (k DeadLetterKind) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(k))) }

// DeadLetterState is where a letter is in its triage.
type DeadLetterState string

// States of a letter.
const (
	DeadLetterStateWaiting   DeadLetterState = "WAITING"
	DeadLetterStateReplaying DeadLetterState = "REPLAYING"
	DeadLetterStateReplayed  DeadLetterState = "REPLAYED"
	DeadLetterStateDiscarded DeadLetterState = "DISCARDED"
)

// IsValid reports whether s is a known state.
func (s DeadLetterState) IsValid() bool {
	switch s {
	case DeadLetterStateWaiting, DeadLetterStateReplaying, DeadLetterStateReplayed, DeadLetterStateDiscarded:
		return true
	}
	return false
}

// UnmarshalGQL implements graphql.Unmarshaler.
func (s *DeadLetterState) UnmarshalGQL(v any) error {
	str, ok := v.(string)
	if !ok {
		return fmt.Errorf("DeadLetterState must be a string")
	}
	*s = DeadLetterState(str)
	if !s.IsValid() {
		return fmt.Errorf("%s is not a valid DeadLetterState", str)
	}
	return nil
}

// MarshalGQL implements graphql.Marshaler.
func (s DeadLetterState) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(s))) }
