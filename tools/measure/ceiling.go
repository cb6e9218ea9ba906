package measure

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// CeilingTable receives the raw inserts. Its row is about the size of an
// event row, with a primary key and a unique index like the events table.
const CeilingTable = `CREATE TABLE ceiling (
	id bigserial PRIMARY KEY, row_id uuid NOT NULL UNIQUE, payload text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now())`

// CeilingStatement is what each raw insert runs, for reports to quote.
const CeilingStatement = "INSERT INTO ceiling (row_id, payload) VALUES ($1, $2)"

// CreateCeilingTable creates the table InsertCeiling writes to.
func CreateCeilingTable(ctx context.Context, pool *pgxpool.Pool) error {
	if _, err := pool.Exec(ctx, CeilingTable); err != nil {
		return fmt.Errorf("create ceiling table: %w", err)
	}
	return nil
}

// InsertCeiling runs writers that each insert one row per transaction (an
// autocommit INSERT: one round trip, one commit, one WAL flush unless a
// concurrent commit's flush covered it), closed loop, on pool, whose
// database has the CeilingTable: the most durable single-row transactions
// per second this Postgres can do at that concurrency.
func InsertCeiling(ctx context.Context, pool *pgxpool.Pool, writers int, w Window) (Throughput, error) {
	payload := strings.Repeat("x", 200) // about the size of an event's JSON data
	return ClosedLoop(ctx, writers, w, func() func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := pool.Exec(ctx, CeilingStatement, uuid.New(), payload)
			return err
		}
	})
}
