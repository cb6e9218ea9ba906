package storebench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
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

// startProfile observes the machine and the WAL during w, on the admin
// connection, which nothing else uses while a phase runs; wait returns what
// it saw.
func startProfile(ctx context.Context, db *database, w window) (wait func() Profile) {
	done := make(chan Profile, 1)
	go func() {
		var prof Profile
		defer func() { done <- prof }()
		if !sleepUntil(ctx, w.start) {
			return
		}
		flushes0, err0 := walFlushes(ctx, db)
		cpu0, t0 := readCPU(), time.Now()
		if !sleepUntil(ctx, w.end) {
			return
		}
		prof = readCPU().since(cpu0, time.Since(t0))
		if flushes1, err := walFlushes(ctx, db); err == nil && err0 == nil {
			prof.WALFlushes = flushes1 - flushes0
		}
	}()
	return func() Profile { return <-done }
}

func walFlushes(ctx context.Context, db *database) (int64, error) {
	var n int64
	err := db.admin.QueryRow(ctx, "SELECT wal_sync FROM pg_stat_wal").Scan(&n)
	return n, err
}

// cpuTimes are CPU times in clock ticks (USER_HZ, 100 per second).
type cpuTimes struct {
	busy  uint64
	procs map[int]procTicks
}

type procTicks struct {
	kind  string // "postgres", "storebench", "kafka" or ""
	ticks uint64
}

// readCPU reads the machine's and every process's CPU time from /proc
// (nothing on a system without it).
func readCPU() cpuTimes {
	t := cpuTimes{procs: map[int]procTicks{}}
	line, _, _ := strings.Cut(readFile("/proc/stat"), "\n")
	if fields := strings.Fields(line); len(fields) >= 8 && fields[0] == "cpu" {
		for i, f := range fields[1:8] { // user nice system idle iowait irq softirq
			if v, _ := strconv.ParseUint(f, 10, 64); i != 3 && i != 4 {
				t.busy += v
			}
		}
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat := readFile("/proc/" + e.Name() + "/stat")
		open, closing := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
		if open < 0 || closing < open {
			continue
		}
		fields := strings.Fields(stat[closing+1:]) // from field 3, state
		if len(fields) < 13 {
			continue
		}
		utime, _ := strconv.ParseUint(fields[11], 10, 64)
		stime, _ := strconv.ParseUint(fields[12], 10, 64)
		kind, comm := "", stat[open+1:closing]
		switch {
		case pid == os.Getpid():
			kind = "storebench"
		case strings.HasPrefix(comm, "postgres"):
			kind = "postgres"
		case comm == "java" && strings.Contains(readFile("/proc/"+e.Name()+"/cmdline"), "kafka"):
			kind = "kafka"
		}
		t.procs[pid] = procTicks{kind: kind, ticks: utime + stime}
	}
	return t
}

// since returns the cores used between then and t, elapsed apart.
//
// A process's own CPU time is exact, but only processes seen both times
// count; the machine's is sampled at each clock tick, which misses short
// bursts of work. Other is whichever of the two ways of counting it gives
// more.
func (t cpuTimes) since(then cpuTimes, elapsed time.Duration) Profile {
	cores := func(ticks uint64) float64 { return float64(ticks) / 100 / elapsed.Seconds() }
	var p Profile
	for pid, now := range t.procs {
		before, ok := then.procs[pid]
		if !ok || now.ticks < before.ticks {
			continue
		}
		switch used := cores(now.ticks - before.ticks); now.kind {
		case "postgres":
			p.Postgres += used
		case "storebench":
			p.Storebench += used
		case "kafka":
			p.Kafka += used
		default:
			p.Other += used
		}
	}
	known := p.Postgres + p.Storebench + p.Kafka
	p.Other = max(p.Other, cores(t.busy-then.busy)-known)
	p.Busy = known + p.Other
	return p
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
