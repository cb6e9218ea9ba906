package measure

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ScratchDB is a database created for one benchmark run and dropped at its
// end, so a benchmark never touches a system's real data.
type ScratchDB struct {
	Name     string
	adminDSN string
	Admin    *pgx.Conn // on the admin DSN's database: creates, drops, observes
	Pool     *pgxpool.Pool
}

// CreateScratchDB creates a database named prefix and a random suffix and
// connects a pool of maxConns connections to it, all opened up front so
// that none is opened during a measured window.
func CreateScratchDB(ctx context.Context, adminDSN, prefix string, maxConns int) (db *ScratchDB, err error) {
	admin, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return nil, fmt.Errorf("connect admin: %w", err)
	}
	db = &ScratchDB{Name: UniqueName(prefix), adminDSN: adminDSN, Admin: admin}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+db.Name); err != nil {
		_ = admin.Close(ctx)
		return nil, fmt.Errorf("create database: %w", err)
	}
	defer func() {
		if err != nil {
			db.Drop(slog.New(slog.DiscardHandler))
		}
	}()
	poolCfg, err := pgxpool.ParseConfig(adminDSN)
	if err != nil {
		return nil, fmt.Errorf("parse dsn: %w", err)
	}
	poolCfg.ConnConfig.Database = db.Name
	poolCfg.MaxConns = int32(maxConns)
	poolCfg.MinConns = int32(maxConns)
	if db.Pool, err = pgxpool.NewWithConfig(ctx, poolCfg); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return db, nil
}

// Drop closes the pool and drops the database, on a fresh connection since
// an interrupted query closes the admin one. A failure is logged: the
// database is then left for a person to drop.
func (db *ScratchDB) Drop(log *slog.Logger) {
	if db.Pool != nil {
		db.Pool.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = db.Admin.Close(ctx)
	admin, err := pgx.Connect(ctx, db.adminDSN)
	if err == nil {
		_, err = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db.Name+" WITH (FORCE)")
		_ = admin.Close(ctx)
	}
	if err != nil {
		log.Error("drop the benchmark database by hand", "database", db.Name, "err", err)
	}
}

// UniqueName returns prefix and a random suffix: a database or topic name no
// other run shares.
func UniqueName(prefix string) string {
	return prefix + "_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
}
