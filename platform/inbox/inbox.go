// Package inbox makes a Kafka consumer effectively-once: it records each
// handled event id in the same Postgres transaction as the handler's effect,
// and skips an event whose id is already recorded. Kafka delivers at least
// once; together with the inbox, each event changes state exactly once.
package inbox

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/pgmigrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the inbox table as a migration set.
func Migrations() pgmigrate.Set {
	return pgmigrate.Set{Name: "inbox", FS: migrations, Dir: "migrations"}
}

// TxHandler handles one message inside the transaction that also records it
// in the inbox. Its effects commit with the inbox row or not at all.
type TxHandler func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error

// BatchTxHandler handles a batch of messages inside the one transaction that
// also records all of them in the inbox. It is given only the messages not
// handled before, in their order.
type BatchTxHandler func(ctx context.Context, tx pgx.Tx, msgs []consumer.Message) error

// Transactor runs a function in a transaction: *eventstore.Store, which
// also wakes the outbox relay after the commit.
type Transactor interface {
	Tx(ctx context.Context, fn func(tx pgx.Tx) error) error
}

// Handler wraps h so that each event id is handled at most once by the
// consumer called name, a whole batch in one transaction: the inbox rows
// and every message's effects commit together, with one commit. Errors from
// h roll the transaction back and are returned as they are, so the consumer
// retries the batch message by message and consumer.Permanent still sends
// the message at fault to dead letters.
func Handler(db Transactor, name string, h TxHandler) consumer.Handler {
	return Batch(db, name, func(ctx context.Context, tx pgx.Tx, msgs []consumer.Message) error {
		for _, msg := range msgs {
			if err := h(ctx, tx, msg); err != nil {
				return err
			}
		}
		return nil
	})
}

// Batch is Handler for a handler that takes the batch's new messages at once.
//
// A transaction that lost a race for a stream (eventstore.ErrConcurrency:
// another writer appended to one of its streams first, as when an order's
// events and its payment's arrive on two partitions at once) is run again
// at once, a few times, before the error goes back to the consumer: its
// backoff is for failures that need time, not for a reload.
func Batch(db Transactor, name string, h BatchTxHandler) consumer.Handler {
	return func(ctx context.Context, msgs []consumer.Message) error {
		var err error
		for range maxRaces {
			err = db.Tx(ctx, func(tx pgx.Tx) error {
				fresh, err := ClaimMessages(ctx, tx, name, msgs)
				if err != nil || len(fresh) == 0 {
					return err
				}
				return h(ctx, tx, fresh)
			})
			if !errors.Is(err, eventstore.ErrConcurrency) {
				return err
			}
		}
		return err
	}
}

// maxRaces bounds how often Batch runs a transaction that lost a race.
const maxRaces = 5

// ClaimMessages records the event ids of msgs for consumer inside tx, in one
// statement, and returns the messages whose ids were not recorded before (a
// message repeated within msgs counts once, at its first occurrence), in
// their order. Ids are compared as UUIDs, whatever their spelling; they are
// inserted in sorted order, so that claims overlapping in another
// transaction wait for each other instead of deadlocking.
func ClaimMessages(ctx context.Context, tx pgx.Tx, consumer string, msgs []consumer.Message) ([]consumer.Message, error) {
	ids := make([]string, len(msgs))
	for i, msg := range msgs {
		id, err := uuid.Parse(msg.Envelope.ID)
		if err != nil {
			return nil, fmt.Errorf("inbox claim: event id %q: %w", msg.Envelope.ID, err)
		}
		ids[i] = id.String()
	}
	if len(msgs) == 1 {
		first, err := Claim(ctx, tx, consumer, ids[0])
		if err != nil || !first {
			return nil, err
		}
		return msgs, nil
	}
	rows, err := tx.Query(ctx, `INSERT INTO inbox (consumer, event_id)
		SELECT DISTINCT $1::text, id FROM unnest($2::uuid[]) AS id ORDER BY id
		ON CONFLICT DO NOTHING RETURNING event_id::text`, consumer, ids)
	if err != nil {
		return nil, fmt.Errorf("inbox claim: %w", err)
	}
	claimed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("inbox claim: %w", err)
	}
	fresh := make(map[string]bool, len(claimed))
	for _, id := range claimed {
		fresh[id] = true
	}
	out := msgs[:0:0]
	for i, msg := range msgs {
		if fresh[ids[i]] {
			out = append(out, msg)
			delete(fresh, ids[i]) // a repeat within the batch is not new
		}
	}
	return out, nil
}

// Claim records eventID for consumer inside tx and reports whether this is
// the first time. Use it directly when a handler needs its own transaction.
func Claim(ctx context.Context, tx pgx.Tx, consumer, eventID string) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		consumer, eventID)
	if err != nil {
		return false, fmt.Errorf("inbox claim: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}
