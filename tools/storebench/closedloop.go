package storebench

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"
)

// window is the measured part of a phase.
type window struct{ start, end time.Time }

func newWindow(warmup, duration time.Duration) window {
	start := time.Now().Add(warmup)
	return window{start: start, end: start.Add(duration)}
}

func (w window) contains(t time.Time) bool { return !t.Before(w.start) && t.Before(w.end) }

// closedLoop runs writers that each repeat their operation, made by newOp,
// until the window ends, and returns how many completed inside the window
// and their latencies.
func closedLoop(ctx context.Context, writers int, w window, newOp func() func(context.Context) error) (Throughput, error) {
	samples := make([][]time.Duration, writers)
	g, ctx := errgroup.WithContext(ctx)
	for i := range writers {
		op := newOp()
		g.Go(func() error {
			for start := time.Now(); start.Before(w.end); start = time.Now() {
				if err := op(ctx); err != nil {
					return err
				}
				if done := time.Now(); w.contains(done) {
					samples[i] = append(samples[i], done.Sub(start))
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return Throughput{}, err
	}
	var all []time.Duration
	for _, s := range samples {
		all = append(all, s...)
	}
	lat := Summarise(all)
	return Throughput{Ops: lat.Count, PerSec: float64(lat.Count) / w.end.Sub(w.start).Seconds(), Latency: lat}, nil
}

// measureCeiling runs writers that each insert one row per transaction (an
// autocommit INSERT: one round trip, one commit, one WAL flush unless a
// concurrent commit's flush covered it), closed loop: the most durable
// single-row transactions per second this Postgres can do.
func measureCeiling(ctx context.Context, db *database, cfg Config) (Throughput, error) {
	payload := strings.Repeat("x", 200) // about the size of an event's JSON data
	w := newWindow(cfg.Warmup, cfg.Duration)
	profile := startProfile(ctx, db, w)
	res, err := closedLoop(ctx, cfg.Writers, w, func() func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := db.pool.Exec(ctx, "INSERT INTO ceiling (row_id, payload) VALUES ($1, $2)", uuid.New(), payload)
			return err
		}
	})
	res.Profile = profile()
	return res, err
}
