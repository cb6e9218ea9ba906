package measure

import (
	"context"
	"time"

	"golang.org/x/sync/errgroup"
)

// Window is the measured part of a phase: what happens before Start is
// warm-up and is discarded. A phase that gives up before End closes Stop
// (nil: it never does), so that what is measured over the window ends then.
type Window struct {
	Start, End time.Time
	Stop       <-chan struct{}
}

// NewWindow returns the window that starts warmup from now and lasts duration.
func NewWindow(warmup, duration time.Duration) Window {
	start := time.Now().Add(warmup)
	return Window{Start: start, End: start.Add(duration)}
}

// Contains reports whether t is inside the window.
func (w Window) Contains(t time.Time) bool { return !t.Before(w.Start) && t.Before(w.End) }

// Seconds is the window's length.
func (w Window) Seconds() float64 { return w.End.Sub(w.Start).Seconds() }

// Throughput is the outcome of a closed-loop phase: every writer starts its
// next operation as soon as the previous one returned.
type Throughput struct {
	Ops     int     // operations completed in the measured window
	PerSec  float64 // Ops per second of the window
	Latency Latencies
}

// ClosedLoop runs writers that each repeat their operation, made by newOp,
// until the window ends, and returns how many completed inside the window
// and their latencies.
func ClosedLoop(ctx context.Context, writers int, w Window, newOp func() func(context.Context) error) (Throughput, error) {
	samples := make([][]time.Duration, writers)
	g, ctx := errgroup.WithContext(ctx)
	for i := range writers {
		op := newOp()
		g.Go(func() error {
			for start := time.Now(); start.Before(w.End); start = time.Now() {
				if err := op(ctx); err != nil {
					return err
				}
				if done := time.Now(); w.Contains(done) {
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
	return Throughput{Ops: lat.Count, PerSec: float64(lat.Count) / w.Seconds(), Latency: lat}, nil
}

// SleepToEnd waits until w ends (at End, or when Stop is closed) and returns
// when that was, or false if ctx ended first.
func (w Window) SleepToEnd(ctx context.Context) (time.Time, bool) {
	timer := time.NewTimer(time.Until(w.End))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return time.Time{}, false
	case <-timer.C:
	case <-w.Stop:
	}
	return time.Now(), true
}

// SleepUntil waits until t and reports true, or false if ctx ended first.
func SleepUntil(ctx context.Context, t time.Time) bool {
	_, ok := Window{End: t}.SleepToEnd(ctx)
	return ok
}
