package loadbench

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ServiceDatabases are the databases of the services of `make run`.
var ServiceDatabases = []string{"orderflow_order", "orderflow_payment", "orderflow_paymentgateway", "orderflow_compensation"}

// commitCounts reads how many transactions each database has committed
// (pg_stat_database.xact_commit: every transaction, including read-only
// ones, since that is what the commit ceiling counts too).
func commitCounts(ctx context.Context, admin *pgx.Conn, dbs []string) (map[string]int64, error) {
	rows, err := admin.Query(ctx, "SELECT datname, xact_commit FROM pg_stat_database WHERE datname = ANY($1)", dbs)
	if err != nil {
		return nil, fmt.Errorf("commit counts: %w", err)
	}
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return nil, fmt.Errorf("commit counts: %w", err)
		}
		out[name] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("commit counts: %w", err)
	}
	if len(out) != len(dbs) {
		return nil, fmt.Errorf("commit counts: found %d of the databases %v: is the system running (make run)?", len(out), dbs)
	}
	return out, nil
}
