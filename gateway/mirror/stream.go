// Package mirror copies every orderflow event from Kafka into one NATS
// JetStream stream, on a subject that names the order
// (orderflow.events.<orderId>.<aggregateType>), so that any number of
// gateway replicas can follow an order with a subject filter.
//
// Delivery: the mirror is a platform/consumer group member; it publishes
// each batch the consumer hands it at once (asynchronous publishes) and
// returns once JetStream acknowledged every message (PubAck), so a batch's
// Kafka offsets are stored only after that. A crash or a NATS outage
// therefore means publishing again, and JetStream drops the repeat: every
// message carries the event id as Nats-Msg-Id and the stream deduplicates on
// it within its Duplicates window (10 minutes). Replaying Kafka from the
// beginning after that window (a new group) re-adds events; readers fold by
// version, so a repeat changes nothing for them, but a clean JetStream
// rebuild should purge the stream first.
//
// A gateway that also projects (Config.Then) runs one group for both, named
// <prefix>gateway: each batch is mirrored, then projected, then its offsets
// stored. The topics are fetched and decoded once instead of twice; the
// price is that the read models wait for JetStream — while NATS is down,
// Redis is not updated either, and both catch up together when it is back.
// A gateway that only projects uses its own group (readmodel.Kafka).
package mirror

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orderflow/orderflow/schema"
)

// Stream names the JetStream stream and its subjects.
type Stream struct {
	// Name defaults to schema.NATSStream.
	Name string
	// SubjectPrefix goes in front of every subject (e.g. "test_1a2b."), so
	// that several deployments or tests share a NATS server; "" gives the
	// contract's subjects.
	SubjectPrefix string
	// Duplicates is the deduplication window; default 10 minutes.
	Duplicates time.Duration
	// Replicas defaults to 1 (a single server).
	Replicas int
}

// DefaultDuplicates is the stream's deduplication window.
const DefaultDuplicates = 10 * time.Minute

func (s *Stream) setDefaults() {
	if s.Name == "" {
		s.Name = schema.NATSStream
	}
	if s.Duplicates == 0 {
		s.Duplicates = DefaultDuplicates
	}
	if s.Replicas == 0 {
		s.Replicas = 1
	}
}

// Subject is the subject of one event of an order.
func (s Stream) Subject(orderID, aggregateType string) string {
	return s.SubjectPrefix + schema.NATSSubject(orderID, aggregateType)
}

// OrderSubject matches every event of one order.
func (s Stream) OrderSubject(orderID string) string {
	return s.SubjectPrefix + schema.NATSOrderSubject(orderID)
}

// AllSubjects matches every mirrored event.
func (s Stream) AllSubjects() string { return s.SubjectPrefix + schema.NATSSubjectAll }

// EnsureStream creates the stream, or updates it to this configuration:
// file storage (it survives a NATS restart), the deduplication window, and
// no age or size limit (it holds every event, like the Kafka topics).
func EnsureStream(ctx context.Context, js jetstream.JetStream, s Stream) (jetstream.Stream, error) {
	s.setDefaults()
	st, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        s.Name,
		Description: "orderflow events, mirrored from Kafka",
		Subjects:    []string{s.AllSubjects()},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Duplicates:  s.Duplicates,
		Replicas:    s.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("ensure stream %s: %w", s.Name, err)
	}
	return st, nil
}

// validToken reports whether s can be one token of a subject.
func validToken(s string) bool {
	return s != "" && !strings.ContainsAny(s, ".*> \t\r\n")
}
