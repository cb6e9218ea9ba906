package storebench

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/pgmigrate"
	"github.com/orderflow/orderflow/tools/measure"
)

// database is the benchmark's own database: created for the run with the
// event store's tables and the raw-insert table, dropped at its end.
type database struct {
	*measure.ScratchDB
}

func openDatabase(ctx context.Context, adminDSN string, maxConns int) (*database, error) {
	scratch, err := measure.CreateScratchDB(ctx, adminDSN, "storebench", maxConns)
	if err != nil {
		return nil, err
	}
	db := &database{scratch}
	if err := pgmigrate.Run(ctx, db.Pool, eventstore.Migrations()); err != nil {
		db.close(slog.New(slog.DiscardHandler))
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if err := measure.CreateCeilingTable(ctx, db.Pool); err != nil {
		db.close(slog.New(slog.DiscardHandler))
		return nil, err
	}
	return db, nil
}

// reset empties the tables, so that each phase starts from the same state
// and the relay phase does not first drain the appends phase's outbox.
func (db *database) reset(ctx context.Context) error {
	if _, err := db.Pool.Exec(ctx, "TRUNCATE streams, events, outbox, command_keys, ceiling"); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	if _, err := db.Pool.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	return nil
}

// close drops the database.
func (db *database) close(log *slog.Logger) { db.Drop(log) }

// measureCeiling runs the raw single-row INSERT ceiling on the benchmark's
// database with the phase's writers.
func measureCeiling(ctx context.Context, db *database, cfg Config) (Throughput, error) {
	w := measure.NewWindow(cfg.Warmup, cfg.Duration)
	profile := startProfile(ctx, db, w)
	t, err := measure.InsertCeiling(ctx, db.Pool, cfg.Writers, w)
	return Throughput{Throughput: t, Profile: profile()}, err
}
