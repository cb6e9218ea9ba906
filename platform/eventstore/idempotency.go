package eventstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// CommandKey identifies one command for idempotency: the same Scope and Key
// with the same Fingerprint (a hash of the command's input) is the same
// command, however often it is sent.
type CommandKey struct {
	Scope       string
	Key         string
	Fingerprint string
}

// FirstResult is what the first command with a key produced.
type FirstResult struct {
	Stream  StreamID
	Version int
}

// ClaimKeyTx records key for stream inside tx. If the key is new it returns
// (nil, nil) and the caller goes on to append in the same transaction. If a
// command with the key already committed it returns that command's result, or
// ErrIdempotencyConflict when its fingerprint differs. A concurrent command
// with the same key waits here until the first commits or rolls back.
func ClaimKeyTx(ctx context.Context, tx pgx.Tx, key CommandKey, stream StreamID, version int) (*FirstResult, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO command_keys (scope, key, fingerprint, stream_type, stream_id, version)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		key.Scope, key.Key, key.Fingerprint, stream.Type, stream.ID, version)
	if err != nil {
		return nil, fmt.Errorf("claim key: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return nil, nil
	}
	var (
		first       FirstResult
		fingerprint string
	)
	err = tx.QueryRow(ctx, `SELECT fingerprint, stream_type, stream_id, version FROM command_keys
		WHERE scope = $1 AND key = $2`, key.Scope, key.Key).
		Scan(&fingerprint, &first.Stream.Type, &first.Stream.ID, &first.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		// The holder rolled back between our insert and select: the caller retries.
		return nil, fmt.Errorf("claim key: %w", ErrConcurrency)
	}
	if err != nil {
		return nil, fmt.Errorf("claim key: %w", err)
	}
	if fingerprint != key.Fingerprint {
		return nil, ErrIdempotencyConflict
	}
	return &first, nil
}
