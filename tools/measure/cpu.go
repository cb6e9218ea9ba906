package measure

import (
	"context"
	"os"
	"strconv"
	"strings"
	"time"
)

// Process is what a classifier sees of a running process.
type Process struct {
	PID  int
	Comm string // the executable's name as the kernel keeps it (15 bytes at most)
	Self bool   // the benchmark's own process
}

// Cmdline returns the process's command line, NUL-separated.
func (p Process) Cmdline() string { return readFile("/proc/" + strconv.Itoa(p.PID) + "/cmdline") }

// Classifier names the group a process's CPU counts for, or "" for
// "everything else".
type Classifier func(Process) string

// IsPostgres and IsKafka recognise the infrastructure's servers, which every
// benchmark reports on.
func IsPostgres(p Process) bool { return strings.HasPrefix(p.Comm, "postgres") }

// IsKafka recognises the Kafka broker's JVM.
func IsKafka(p Process) bool { return p.Comm == "java" && strings.Contains(p.Cmdline(), "kafka") }

// CPUTimes are the machine's and every process's CPU times, in clock ticks
// (USER_HZ, 100 per second).
type CPUTimes struct {
	busy  uint64
	procs map[int]procTicks
}

type procTicks struct {
	group string
	ticks uint64
}

// ReadCPU reads the machine's and every process's CPU time from /proc
// (nothing on a system without it), each process in the group classify
// names.
func ReadCPU(classify Classifier) CPUTimes {
	t := CPUTimes{procs: map[int]procTicks{}}
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
		group := classify(Process{PID: pid, Comm: stat[open+1 : closing], Self: pid == os.Getpid()})
		t.procs[pid] = procTicks{group: group, ticks: utime + stime}
	}
	return t
}

// CPUUse is where the machine's CPU went over an interval, in cores used on
// average.
type CPUUse struct {
	Groups map[string]float64 // by the classifier's group
	// Other is everything else: other work on the machine and the kernel.
	Other float64
	Busy  float64 // the sum
}

// Of returns a group's cores, 0 if it used none.
func (u CPUUse) Of(group string) float64 { return u.Groups[group] }

// Since returns the cores used between then and t, elapsed apart.
//
// A process's own CPU time is exact, but only processes seen both times
// count; the machine's is sampled at each clock tick, which misses short
// bursts of work. Other is whichever of the two ways of counting it gives
// more.
func (t CPUTimes) Since(then CPUTimes, elapsed time.Duration) CPUUse {
	cores := func(ticks uint64) float64 { return float64(ticks) / 100 / elapsed.Seconds() }
	u := CPUUse{Groups: map[string]float64{}}
	known := 0.0
	for pid, now := range t.procs {
		before, ok := then.procs[pid]
		if !ok || now.ticks < before.ticks {
			continue
		}
		used := cores(now.ticks - before.ticks)
		if now.group == "" {
			u.Other += used
			continue
		}
		u.Groups[now.group] += used
		known += used
	}
	if t.busy >= then.busy {
		u.Other = max(u.Other, cores(t.busy-then.busy)-known)
	}
	u.Busy = known + u.Other
	return u
}

// WatchCPU measures the CPU used during w: it waits for w's start, reads
// /proc, waits for w's end (SleepToEnd) and reads again. wait returns what it saw (an
// empty CPUUse if ctx ended first).
func WatchCPU(ctx context.Context, w Window, classify Classifier) (wait func() CPUUse) {
	done := make(chan CPUUse, 1)
	go func() {
		var use CPUUse
		defer func() { done <- use }()
		if !SleepUntil(ctx, w.Start) {
			return
		}
		cpu0, t0 := ReadCPU(classify), time.Now()
		if _, ok := w.SleepToEnd(ctx); !ok {
			return
		}
		use = ReadCPU(classify).Since(cpu0, time.Since(t0))
	}()
	return func() CPUUse { return <-done }
}
