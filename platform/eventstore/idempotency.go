package eventstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

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

// KeyClaim is one command's key with the result the command produces if it
// is the first with that key.
type KeyClaim struct {
	Key     CommandKey
	Stream  StreamID
	Version int
}

// ClaimedKey is the outcome of one KeyClaim: First is nil when the claim
// took the key (the caller goes on to append); otherwise it is the first
// command's result, or Err is ErrIdempotencyConflict when that command's
// fingerprint differs.
type ClaimedKey struct {
	First *FirstResult
	Err   error
}

// ClaimKeysTx is ClaimKeyTx for many commands at once: one statement claims
// every key, and one more reads the keys already taken, if any. A key that
// appears twice in claims is claimed by its first occurrence; a later one is
// that command repeated (First names the first's stream) or a conflict. Keys
// are inserted in a fixed order, so two concurrent multi-key claims wait for
// each other instead of deadlocking.
func ClaimKeysTx(ctx context.Context, tx pgx.Tx, claims []KeyClaim) ([]ClaimedKey, error) {
	type scoped struct{ scope, key string }
	firstOf := make(map[scoped]int, len(claims)) // index of the key's first occurrence
	var unique []int
	for i, c := range claims {
		k := scoped{c.Key.Scope, c.Key.Key}
		if _, ok := firstOf[k]; !ok {
			firstOf[k] = i
			unique = append(unique, i)
		}
	}
	slices.SortFunc(unique, func(a, b int) int {
		return cmp.Or(cmp.Compare(claims[a].Key.Scope, claims[b].Key.Scope), cmp.Compare(claims[a].Key.Key, claims[b].Key.Key))
	})
	var (
		scopes, keys, fingerprints, types, ids = make([]string, len(unique)), make([]string, len(unique)),
			make([]string, len(unique)), make([]string, len(unique)), make([]string, len(unique))
		versions = make([]int32, len(unique))
	)
	for j, i := range unique {
		c := claims[i]
		scopes[j], keys[j], fingerprints[j] = c.Key.Scope, c.Key.Key, c.Key.Fingerprint
		types[j], ids[j], versions[j] = c.Stream.Type, c.Stream.ID, int32(c.Version)
	}
	rows, err := tx.Query(ctx, `INSERT INTO command_keys (scope, key, fingerprint, stream_type, stream_id, version)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[])
		ON CONFLICT DO NOTHING RETURNING scope, key`, scopes, keys, fingerprints, types, ids, versions)
	if err != nil {
		return nil, fmt.Errorf("claim keys: %w", err)
	}
	claimed := map[scoped]bool{}
	var k scoped
	if _, err := pgx.ForEachRow(rows, []any{&k.scope, &k.key}, func() error { claimed[k] = true; return nil }); err != nil {
		return nil, fmt.Errorf("claim keys: %w", err)
	}

	type stored struct {
		fingerprint string
		first       FirstResult
	}
	taken := map[scoped]stored{}
	if len(claimed) < len(unique) {
		var tScopes, tKeys []string
		for _, i := range unique {
			if k := (scoped{claims[i].Key.Scope, claims[i].Key.Key}); !claimed[k] {
				tScopes, tKeys = append(tScopes, k.scope), append(tKeys, k.key)
			}
		}
		rows, err := tx.Query(ctx, `SELECT c.scope, c.key, c.fingerprint, c.stream_type, c.stream_id, c.version
			FROM command_keys c JOIN unnest($1::text[], $2::text[]) AS k(scope, key) ON c.scope = k.scope AND c.key = k.key`,
			tScopes, tKeys)
		if err != nil {
			return nil, fmt.Errorf("claim keys: %w", err)
		}
		var s stored
		if _, err := pgx.ForEachRow(rows, []any{&k.scope, &k.key, &s.fingerprint, &s.first.Stream.Type, &s.first.Stream.ID,
			&s.first.Version}, func() error { taken[k] = s; return nil }); err != nil {
			return nil, fmt.Errorf("claim keys: %w", err)
		}
		if len(taken) != len(tScopes) {
			// A holder rolled back between our insert and select: the caller retries.
			return nil, fmt.Errorf("claim keys: %w", ErrConcurrency)
		}
	}

	out := make([]ClaimedKey, len(claims))
	for i, c := range claims {
		k := scoped{c.Key.Scope, c.Key.Key}
		s, ok := taken[k]
		if first := firstOf[k]; first != i {
			if !ok { // the key's first occurrence in claims took it
				f := claims[first]
				s = stored{fingerprint: f.Key.Fingerprint, first: FirstResult{Stream: f.Stream, Version: f.Version}}
			}
			ok = true
		}
		switch {
		case !ok:
		case s.fingerprint != c.Key.Fingerprint:
			out[i].Err = ErrIdempotencyConflict
		default:
			first := s.first
			out[i].First = &first
		}
	}
	return out, nil
}
