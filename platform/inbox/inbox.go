// Package inbox makes a Kafka consumer effectively-once: it records each
// handled event id in the same Postgres transaction as the handler's effect,
// and skips an event whose id is already recorded. Kafka delivers at least
// once; together with the inbox, each event changes state exactly once.
package inbox

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/platform/consumer"
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

// Transactor runs a function in a transaction: *eventstore.Store, which
// also wakes the outbox relay after the commit.
type Transactor interface {
	Tx(ctx context.Context, fn func(tx pgx.Tx) error) error
}

// Handler wraps h so that each event id is handled at most once by the
// consumer called name. Errors from h roll the transaction back and are
// returned as they are, so consumer.Permanent still sends to dead letters.
func Handler(db Transactor, name string, h TxHandler) consumer.Handler {
	return func(ctx context.Context, msg consumer.Message) error {
		return db.Tx(ctx, func(tx pgx.Tx) error {
			first, err := Claim(ctx, tx, name, msg.Envelope.ID)
			if err != nil {
				return err
			}
			if !first {
				return nil
			}
			return h(ctx, tx, msg)
		})
	}
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
