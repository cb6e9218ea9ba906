package storebench

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/pgmigrate"
)

// database is the benchmark's own database: created for the run with the
// event store's tables and the raw-insert table, dropped at its end.
type database struct {
	name     string
	adminDSN string
	admin    *pgx.Conn // on the admin DSN's database: creates, drops, observes
	pool     *pgxpool.Pool
}

// ceilingTable receives the raw inserts. Its row is about the size of an
// event row, with a primary key and a unique index like the events table.
const ceilingTable = `CREATE TABLE ceiling (
	id bigserial PRIMARY KEY, row_id uuid NOT NULL UNIQUE, payload text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now())`

func openDatabase(ctx context.Context, adminDSN string, maxConns int) (db *database, err error) {
	admin, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return nil, fmt.Errorf("connect admin: %w", err)
	}
	db = &database{name: uniqueName("storebench"), adminDSN: adminDSN, admin: admin}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+db.name); err != nil {
		_ = admin.Close(ctx)
		return nil, fmt.Errorf("create database: %w", err)
	}
	defer func() {
		if err != nil {
			db.close(slog.New(slog.DiscardHandler))
		}
	}()
	poolCfg, err := pgxpool.ParseConfig(adminDSN)
	if err != nil {
		return nil, fmt.Errorf("parse dsn: %w", err)
	}
	poolCfg.ConnConfig.Database = db.name
	poolCfg.MaxConns = int32(maxConns)
	poolCfg.MinConns = int32(maxConns) // connect up front, not during a measured window
	if db.pool, err = pgxpool.NewWithConfig(ctx, poolCfg); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if err := pgmigrate.Run(ctx, db.pool, eventstore.Migrations()); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if _, err := db.pool.Exec(ctx, ceilingTable); err != nil {
		return nil, fmt.Errorf("create ceiling table: %w", err)
	}
	return db, nil
}

// reset empties the tables, so that each phase starts from the same state
// and the relay phase does not first drain the appends phase's outbox.
func (db *database) reset(ctx context.Context) error {
	if _, err := db.pool.Exec(ctx, "TRUNCATE streams, events, outbox, command_keys, ceiling"); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	if _, err := db.pool.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	return nil
}

// close drops the database, on a fresh connection since an interrupted
// query closes the admin one.
func (db *database) close(log *slog.Logger) {
	if db.pool != nil {
		db.pool.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = db.admin.Close(ctx)
	admin, err := pgx.Connect(ctx, db.adminDSN)
	if err == nil {
		_, err = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db.name+" WITH (FORCE)")
		_ = admin.Close(ctx)
	}
	if err != nil {
		log.Error("drop the benchmark database by hand", "database", db.name, "err", err)
	}
}

// uniqueName returns prefix and a random suffix: a database or topic name no
// other run shares.
func uniqueName(prefix string) string {
	return prefix + "_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
}
