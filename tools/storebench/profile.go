package storebench

import (
	"context"
	"fmt"

	"github.com/orderflow/orderflow/tools/measure"
)

// Profile says where a phase's machine time went, in cores used on average
// (from /proc), and how often Postgres flushed its WAL.
type Profile struct {
	Postgres, Storebench, Kafka float64
	// Other is everything else: other work on the machine and the kernel.
	Other float64
	Busy  float64 // the sum
	// WALFlushes is cluster-wide, from pg_stat_wal, which backends update
	// about once a second: over a 10 s window it is exact to about 10%.
	WALFlushes int64
}

func (p Profile) String() string {
	return fmt.Sprintf("postgres=%.2f storebench=%.2f kafka=%.2f other=%.2f", p.Postgres, p.Storebench, p.Kafka, p.Other)
}

// classify counts this process, Postgres and Kafka apart.
func classify(p measure.Process) string {
	switch {
	case p.Self:
		return "storebench"
	case measure.IsPostgres(p):
		return "postgres"
	case measure.IsKafka(p):
		return "kafka"
	}
	return ""
}

// startProfile observes the machine and the WAL during w, on the admin
// connection, which nothing else uses while a phase runs; wait returns what
// it saw.
func startProfile(ctx context.Context, db *database, w measure.Window) (wait func() Profile) {
	done := make(chan Profile, 1)
	go func() {
		var flushes0 int64
		var err0 error
		cpu := measure.WatchCPU(ctx, w, classify)
		if measure.SleepUntil(ctx, w.Start) {
			flushes0, err0 = walFlushes(ctx, db)
		}
		use := cpu()
		prof := Profile{Postgres: use.Of("postgres"), Storebench: use.Of("storebench"), Kafka: use.Of("kafka"),
			Other: use.Other, Busy: use.Busy}
		if flushes1, err := walFlushes(ctx, db); err == nil && err0 == nil && use.Groups != nil {
			prof.WALFlushes = flushes1 - flushes0
		}
		done <- prof
	}()
	return func() Profile { return <-done }
}

func walFlushes(ctx context.Context, db *database) (int64, error) {
	var n int64
	err := db.Admin.QueryRow(ctx, "SELECT wal_sync FROM pg_stat_wal").Scan(&n)
	return n, err
}
