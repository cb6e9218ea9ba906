// Package pgmigrate applies versioned SQL migrations to a Postgres database.
//
// A migration set is a directory of files named NNN_description.sql. Each file
// runs once, in its own transaction, in version order. Several sets may share
// one database (the event store's tables and a service's own tables); each set
// is tracked under its name. Concurrent starters are serialised by an advisory
// lock, so two replicas starting at once never apply a file twice.
package pgmigrate

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Set is a named group of migration files.
type Set struct {
	// Name identifies the set in the schema_migrations table, e.g. "eventstore".
	Name string
	// FS holds the files; Dir is the directory inside FS ("." for the root).
	FS  fs.FS
	Dir string
}

// lockKey is an arbitrary constant shared by every orderflow process.
const lockKey = 7_042_001

type migration struct {
	version int
	name    string
	sql     string
}

// Run applies every pending migration of each set, in order.
func Run(ctx context.Context, pool *pgxpool.Pool, sets ...Set) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire: %w", err)
	}
	defer conn.Release()

	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockKey) //nolint:errcheck // the session ends with the connection anyway

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		set_name   text        NOT NULL,
		version    int         NOT NULL,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now(),
		PRIMARY KEY (set_name, version))`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}

	for _, set := range sets {
		if err := runSet(ctx, conn.Conn(), set); err != nil {
			return fmt.Errorf("migrate %s: %w", set.Name, err)
		}
	}
	return nil
}

func runSet(ctx context.Context, conn *pgx.Conn, set Set) error {
	migrations, err := read(set)
	if err != nil {
		return err
	}
	rows, err := conn.Query(ctx, "SELECT version FROM schema_migrations WHERE set_name = $1", set.Name)
	if err != nil {
		return fmt.Errorf("read applied: %w", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return fmt.Errorf("read applied: %w", err)
	}
	done := make(map[int]bool, len(applied))
	for _, v := range applied {
		done[v] = true
	}

	for _, m := range migrations {
		if done[m.version] {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (set_name, version, name) VALUES ($1, $2, $3)",
				set.Name, m.version, m.name)
			return err
		})
		if err != nil {
			return fmt.Errorf("apply %s: %w", m.name, err)
		}
	}
	return nil
}

func read(set Set) ([]migration, error) {
	dir := set.Dir
	if dir == "" {
		dir = "."
	}
	entries, err := fs.ReadDir(set.FS, dir)
	if err != nil {
		return nil, fmt.Errorf("read dir: %w", err)
	}
	var out []migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		prefix, _, ok := strings.Cut(e.Name(), "_")
		version, err := strconv.Atoi(prefix)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("file %q: name must look like 001_description.sql", e.Name())
		}
		if other, dup := seen[version]; dup {
			return nil, fmt.Errorf("files %q and %q share version %d", other, e.Name(), version)
		}
		seen[version] = e.Name()
		body, err := fs.ReadFile(set.FS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: version, name: e.Name(), sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}
