// Package parking keeps the messages a service's consumers set aside, in the
// service's own Postgres next to its inbox, and serves them for triage.
//
// Two kinds of message are set aside. A message that keeps failing
// transiently past the consumer's retry budget is parked: its partition
// moves on, but every later message with the same key (the same order) is
// parked behind it, so that an order's events are never handled out of
// order while other orders proceed. A message that can never be handled is a
// dead letter: it goes to the dead-letter topic as before, and is recorded
// here too so that it can be listed, replayed once the cause is fixed, or
// discarded.
//
// A replay is asked for here (state replaying) and carried out by the
// consumer that owns the message's partition, between its batches, through
// the same handler and so through the inbox: a replay of an event that was
// applied already changes nothing. A parked message is replayed with the
// messages of its key parked behind it, in their order; its key is held
// until none of them waits any more. Every change of state is written to an
// audit trail with who asked for it.
//
// The table is the durable record of which keys are held, written before
// the parked message's offset is stored, so a crash or a rebalance cannot
// let an order's later event overtake its parked one.
package parking

import (
	"embed"
	"encoding/json"
	"time"

	"github.com/orderflow/orderflow/platform/pgmigrate"
	"github.com/orderflow/orderflow/schema"

	"github.com/orderflow/orderflow/platform/apiclient"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the parking tables as a migration set.
func Migrations() pgmigrate.Set {
	return pgmigrate.Set{Name: "parking", FS: migrations, Dir: "migrations"}
}

// Kinds of message set aside.
const (
	KindParked     = "parked"      // failed transiently past the retry budget, or waits behind such a message
	KindDeadLetter = "dead_letter" // can never be handled as it is
)

// States of a message set aside.
const (
	StateWaiting   = "waiting"   // set aside; a parked one holds its key
	StateReplaying = "replaying" // a replay was asked for; its consumer carries it out
	StateReplayed  = "replayed"  // handled by a replay
	StateDiscarded = "discarded" // given up on by an operator
)

// Audit actions.
const (
	ActionParked       = "parked"
	ActionDeadLettered = "dead_lettered"
	ActionReplayAsked  = "replay_requested"
	ActionReplayed     = "replayed"
	ActionReplayFailed = "replay_failed"
	ActionDiscarded    = "discarded"
)

// Letter is one message set aside, as the triage API shows it.
type Letter struct {
	ID            int64  `json:"id"`
	Kind          string `json:"kind"`
	State         string `json:"state"`
	Reason        string `json:"reason"`
	Attempts      int    `json:"attempts"`
	Replays       int    `json:"replays"`
	ConsumerGroup string `json:"consumerGroup"`
	Topic         string `json:"topic"`
	Partition     int32  `json:"partition"`
	Offset        int64  `json:"offset"`
	Key           string `json:"key"`
	EventID       string `json:"eventId,omitempty"`
	EventType     string `json:"eventType,omitempty"`
	// Event is the message's value when it is JSON (every event is: its
	// envelope with the payload); Value holds it as text otherwise.
	Event     json.RawMessage        `json:"event,omitempty"`
	Value     string                 `json:"value,omitempty"`
	Headers   []schema.MessageHeader `json:"headers"`
	ParkedAt  time.Time              `json:"parkedAt"`
	UpdatedAt time.Time              `json:"updatedAt"`
	// Audit is every change of the letter's state, oldest first; lists
	// leave it out, a single letter has it.
	Audit []AuditEntry `json:"audit,omitempty"`
}

// AuditEntry is one change of a letter's state.
type AuditEntry struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"`
	Actor  string    `json:"actor"`
	Note   string    `json:"note,omitempty"`
}

// Filter selects letters; empty fields select all.
type Filter struct {
	Topic string `json:"topic,omitempty"`
	// Reason matches letters whose reason contains it, ignoring case.
	Reason string `json:"reason,omitempty"`
	Kind   string `json:"kind,omitempty"`
	State  string `json:"state,omitempty"`
}

// Page is one page of letters, oldest first.
type Page struct {
	Letters []Letter `json:"letters"`
	HasNext bool     `json:"hasNext"`
	// EndCursor is the id of the last letter: pass it as after for the
	// next page.
	EndCursor int64 `json:"endCursor,omitempty"`
}

// ReplayRequest and DiscardRequest are the bodies of the replay and discard
// calls: Actor is who asked (the gateway passes the admin token's subject).
type ReplayRequest struct {
	Actor string `json:"actor"`
	// Filter selects the letters of a bulk replay (POST /v1/deadletters/replay).
	Filter Filter `json:"filter"`
}

// DiscardRequest is the body of a discard call; Note says why.
type DiscardRequest struct {
	Actor string `json:"actor"`
	Note  string `json:"note"`
}

// ReplayResult is the answer of a bulk replay: how many letters it asked to
// replay.
type ReplayResult struct {
	Count int `json:"count"`
}

// Error codes of an error answer.
const (
	CodeInvalid     = "invalid"
	CodeNotFound    = "not_found"
	CodeConflict    = "conflict"
	CodeUnavailable = apiclient.CodeUnavailable
	CodeInternal    = apiclient.CodeInternal
)

// ErrorBody is the body of an error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong, for a person to act on.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// MaxPage is the most letters one page holds.
const MaxPage = 200
