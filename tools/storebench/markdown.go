package storebench

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/orderflow/orderflow/tools/measure"
)

// Markdown renders the results as the benchmark's section of
// docs/performance.md, markers included: what was measured, on what, the
// figures, and whether the targets were met. Reading the figures is left to
// the hand-written text around the section. command reproduces them.
func (r Results) Markdown(command string) string {
	var b strings.Builder
	c, m := r.Config, r.Machine
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	a, ceil, relays := r.Appends, r.Ceiling, r.Relays

	p("%s\n<!-- Written by tools/cmd/storebench: rerunning it replaces everything up to the end marker. -->\n", SectionStart)
	p("## Event store and outbox relay (issue: foundation)\n\nCommand, from the repository root:\n\n    %s\n\n", command)
	p("Measured %s on %d CPUs (%s), %s of memory, Linux %s, %s; Postgres %s (%s) and a single Kafka broker "+
		"(client librdkafka %s), both on 127.0.0.1 on the same machine. Runs per phase: %d, alternating with the "+
		"other phases, in a database and a topic created for the run and removed after it; the best run of each "+
		"phase is shown, and every run listed.\n\n",
		r.Started.UTC().Format("2006-01-02 15:04 MST"), m.CPUs, m.CPUModel, m.Memory, m.Kernel, m.Go,
		m.Postgres, m.PostgresSettings, m.Librdkafka, c.Runs)

	p("| | measured | target |\n|---|---|---|\n")
	p("| Event store appends/s, %d writers, one event per `Store.Append`, fsync on | **%s** (runs: %s) | ≥ %s: **%s** |\n",
		c.Writers, measure.Thousands(a.PerSec), join(r.AppendRuns, measure.Thousands), measure.Thousands(TargetAppendsPerSec), measure.Met(r.AppendTargetMet()))
	p("| Append latency p50 / p99 | %s / %s ms | |\n", measure.Millis(a.Latency.P50), measure.Millis(a.Latency.P99))
	p("| Raw ceiling: single-row `INSERT` transactions/s, %d writers | %s (runs: %s) | |\n",
		c.Writers, measure.Thousands(ceil.PerSec), join(r.CeilingRuns, measure.Thousands))
	p("| Appends / raw ceiling | %s | |\n", measure.Percent(r.Ratio()))
	for i, l := range relays {
		target := ""
		if i == 0 {
			target = fmt.Sprintf("p99 ≤ %d ms: **%s**", TargetRelayP99.Milliseconds(), measure.Met(r.RelayTargetMet()))
		}
		p("| Relay at %s ev/s offered: achieved append rate | %s/s | |\n", measure.Thousands(float64(l.Offered)), measure.Thousands(l.Achieved))
		p("| … commit → consumer receipt p50 / p99 / max | %s / %s / %s ms (p99 runs: %s) | %s |\n",
			measure.Millis(l.CommitToReceipt.P50), measure.Millis(l.CommitToReceipt.P99), measure.Millis(l.CommitToReceipt.Max), join(r.RelayRuns[i], msUnit), target)
		p("| … events measured / never received / received twice | %s / %d / %d | |\n",
			measure.Thousands(float64(l.Events)), l.Missing, l.Duplicates)
	}

	p("\nAppends: each writer appends one `order.paid.v1` event per `Append` (a new order stream, then %d more "+
		"versions of it), back to back, with the store's `RunNotifier` running as in a service and no relay. Raw "+
		"ceiling: each writer runs `INSERT INTO ceiling (row_id, payload) VALUES ($1, $2)` (a uuid, 200 bytes, a "+
		"primary key and a unique index) as its own transaction, on the same pool of %d connections. Relay: appends "+
		"offered at a fixed rate to %d writers (open loop: latency is counted from each event's scheduled time, so "+
		"a stall cannot hide), with an `outbox.Relay` (default settings) and `RunNotifier` running side by side as "+
		"in `platform/service`, publishing to a new %d-partition topic; commit → receipt is from `Append`'s return "+
		"to a consumer's receipt, on one clock. Each phase measures %s after a %s warm-up; percentiles are exact.\n\n",
		eventsPerStream-1, c.Writers+4, c.Writers, partitions, c.Duration, c.Warmup)

	profs := []Profile{a.Profile, ceil.Profile}
	p("CPU of each phase's best run, in cores of the machine's %d (from /proc), and commits per WAL flush "+
		"(`pg_stat_wal`; cluster-wide, so it errs low when other databases commit too; above 1 is group commit):\n\n"+
		"| | appends | raw inserts |", m.CPUs)
	for _, l := range relays {
		profs = append(profs, l.Profile)
		p(" relay @ %s/s |", measure.Thousands(float64(l.Offered)))
	}
	p("\n|---|%s\n", strings.Repeat("---|", len(profs)))
	for i, name := range []string{"Postgres", "storebench (Go client, relay, consumer)", "Kafka broker",
		"everything else (other work on the machine, the kernel)", "**busy, all processes**"} {
		p("| %s |", name)
		for _, prof := range profs {
			p(" %.2f |", []float64{prof.Postgres, prof.Storebench, prof.Kafka, prof.Other, prof.Busy}[i])
		}
		p("\n")
	}
	p("| commits per WAL flush | %s | %s |%s\n\n", flushes(a), flushes(ceil), strings.Repeat(" – |", len(relays)))

	p("Targets: appends ≥ %s/s **%s**; relay commit → receipt p99 ≤ %d ms at %s ev/s **%s**.",
		measure.Thousands(TargetAppendsPerSec), measure.Met(r.AppendTargetMet()), TargetRelayP99.Milliseconds(), measure.Thousands(float64(c.Rate)),
		measure.Met(r.RelayTargetMet()))
	p("\n%s\n", SectionEnd)
	return b.String()
}

// flushes formats a phase's commits per WAL flush.
func flushes(t Throughput) string {
	if c := t.CommitsPerWALFlush(); c > 0 {
		return strconv.FormatFloat(c, 'f', 1, 64)
	}
	return "unknown"
}

func msUnit(d time.Duration) string { return measure.Millis(d) + " ms" }

// join formats every run of a phase.
func join[T any](runs []T, format func(T) string) string {
	s := make([]string, len(runs))
	for i, r := range runs {
		s[i] = format(r)
	}
	return strings.Join(s, "; ")
}
