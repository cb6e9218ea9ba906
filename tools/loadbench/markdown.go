package loadbench

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/orderflow/orderflow/tools/measure"
)

// Markdown renders the results as the benchmark's section of
// docs/performance.md, markers included: what was measured, on what, the
// figures, and whether the targets were met. Reading them is left to the
// hand-written text after the section.
func (r Results) Markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	start, end := measure.Markers(SectionName)
	m, c, set := r.Machine, r.Ceilings, r.Settings
	half, _ := r.HalfKneeStep()

	p("%s\n<!-- Written by tools/cmd/loadbench (make bench): rerunning it replaces everything up to the end marker. -->\n", start)
	p("## End to end: orders per second and latency (issue 5)\n\n")
	p("Command, from the repository root: `make bench` (profile %s; `make bench PROFILE=long` for the long one), which runs\n\n    %s\n\n", set.Profile, r.Command)
	p("Measured %s at %s on %d CPUs (%s), %s of memory, Linux %s, %s; Postgres %s (%s), a single Kafka broker "+
		"(client librdkafka %s), Redis and NATS, every service and the load generator on the same machine, over 127.0.0.1. "+
		"Result files: `bench/results/latest.json`, `latest.html`, `latest.png`.\n\n",
		r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Revision, m.CPUs, m.CPUModel, m.Memory, m.Kernel, m.Go,
		m.Postgres, m.PostgresSettings, m.Librdkafka)

	p("| | measured | target |\n|---|---|---|\n")
	p("| Knee: highest offered rate with p99 ≤ %s ms, no order late (> %s ms) or lost | **%s orders/s** | ≥ %d: **%s** |\n",
		fmtMs(set.P99BoundMs), fmtMs(set.LateAfterMs), measure.Thousands(float64(r.Knee)), TargetKneePerSec, measure.Met(r.Targets.Knee))
	p("| At half the knee (%s orders/s, %gs): mutation → PAID push p50 | **%s ms** | ≤ %d ms: **%s** |\n",
		measure.Thousands(float64(r.HalfKneeRate)), set.HalfKneeSeconds, fmtMs(r.P50), TargetP50.Milliseconds(), measure.Met(r.Targets.P50))
	p("| … p99 / p99.9 / max | **%s** / %s / %s ms | p99 ≤ %d ms: **%s** |\n",
		fmtMs(r.P99), fmtMs(r.P999), fmtMs(half.Paid.Max), TargetP99.Milliseconds(), measure.Met(r.Targets.P99))
	p("| … mutation answered p50 / p99; declined card → CANCELLED push p50 / p99 | %s / %s ms; %s / %s ms | |\n",
		fmtMs(half.Mutation.P50), fmtMs(half.Mutation.P99), fmtMs(half.Cancelled.P50), fmtMs(half.Cancelled.P99))
	p("| Postgres ceiling: single-row `INSERT` commits/s, %d writers, fsync on | %s (p50 %s ms) | |\n",
		c.Writers, measure.Thousands(c.PGCommitsPerSec), fmtMs(c.PGCommit.P50))
	p("| Commits per order (`xact_commit` of the 4 service databases ÷ orders ended) | %.1f (%s) | |\n",
		r.CommitsPerOrder, commitsByDB(r.CommitsByDatabase))
	p("| CPU per order at %s orders/s, summed over the system's processes (not the load generator); the whole machine's busy time | **%.1f ms** (%s); %.1f ms | ≤ %g ms: **%s** |\n",
		measure.Thousands(float64(r.KneeStep)), r.CPUMsPerOrder, perProcess(r.CPUMsPerOrderByProcess, "%.1f"), r.CPUMsPerOrderBusy,
		TargetCPUMsPerOrder, measure.Met(r.Targets.CPU))
	p("| Commits per order at %s orders/s, by service | **%.1f** (%s) | ≤ %g: **%s** |\n",
		measure.Thousands(float64(r.KneeStep)), r.KneeCommitsPerOrder, perProcess(r.KneeCommitsPerOrderByService, "%.1f"),
		TargetCommitsPerOrder, measure.Met(r.Targets.Commits))
	p("| Kafka requests per order at %s orders/s (broker's JMX request metrics), by type | %.1f (%s) | |\n",
		measure.Thousands(float64(r.KneeStep)), r.KafkaRequestsPerOrder, perProcess(r.KafkaRequestsPerOrderByType, "%.1f"))
	p("| Postgres-bound ceiling (commits/s ÷ commits per order); knee as a share of it | %s orders/s; **%s** | ≥ %s: **%s** |\n",
		measure.Thousands(r.PGBound), measure.Percent(r.KneeShare), measure.Percent(TargetCeilingShare), measure.Met(r.Targets.CeilingShare))
	p("| Kafka produce → consume round trip, %d writers: p50 / p99; round trips/s | %s / %s ms; %s/s | |\n",
		c.Writers, fmtMs(c.Kafka.P50), fmtMs(c.Kafka.P99), measure.Thousands(c.KafkaPerSec))
	p("| Orders: total / PAID / CANCELLED / **lost** | %s / %s / %s / **%d** | 0 lost: **%s** |\n",
		measure.Thousands(float64(r.OrdersTotal)), measure.Thousands(float64(r.OrdersPaid)), measure.Thousands(float64(r.OrdersCancelled)),
		r.OrdersLost, measure.Met(r.Targets.NoLoss))
	p("| Invariant checker after the run: orders checked, violations (double charges included) | %s, **%d** | 0: **%s** |\n\n",
		measure.Thousands(float64(r.Invariants.Orders)), r.Invariants.ViolationCount, measure.Met(r.Targets.NoViolation))

	p("The ramp, in the order run (latency from each order's scheduled start to the push of PAID or CANCELLED, all orders of the window):\n\n")
	p("| offered/s | window | measured | completed/s | p50 | p99 | max | late | failed | CPU busy | verdict |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range r.Steps {
		verdict := "pass"
		if !s.Pass {
			verdict = "**fail**"
		}
		if s.StoppedEarly {
			verdict += " (stopped early: an order was late)"
		}
		if s.Kind == "half_knee" {
			verdict = "half the knee: " + verdict
		}
		p("| %s | %gs | %s | %s | %s ms | %s ms | %s ms | %d | %d | %.2f | %s |\n", measure.Thousands(float64(s.Offered)),
			round1(s.WindowSeconds), measure.Thousands(float64(s.Measured)), measure.Thousands(s.Completed), fmtMs(s.Final.P50),
			fmtMs(s.Final.P99), fmtMs(s.Final.Max), s.Late, s.Failed, s.CPUBusy, verdict)
	}

	if len(r.Hops) > 0 {
		p("\nWhere a PAID order's time goes at half the knee (%d orders; each stage from the stores' `recorded_at`, the Kafka "+
			"messages' timestamps and the load's clock, all one machine's clock; a transaction's `recorded_at` is its start)",
			r.Hops[0].Count)
		if len(r.FailingHops) == len(r.Hops) {
			at := measure.Thousands(float64(r.FailingRate))
			p(", and at the first failing step (%s orders/s, %d orders), which shows the stage that gave out first:\n\n"+
				"| stage | p50 ms | p99 ms | at %s/s: p50 ms | p99 ms |\n|---|---|---|---|---|\n", at, r.FailingHops[0].Count, at)
			for i, h := range r.Hops {
				f := r.FailingHops[i]
				p("| %s | %s | %s | %s | %s |\n", h.Name, fmtMs(h.P50), fmtMs(h.P99), fmtMs(f.P50), fmtMs(f.P99))
			}
		} else {
			p(":\n\n| stage | p50 ms | p99 ms |\n|---|---|---|\n")
			for _, h := range r.Hops {
				p("| %s | %s | %s |\n", h.Name, fmtMs(h.P50), fmtMs(h.P99))
			}
		}
	}

	p("\nCPU in cores of the machine's %d (from /proc) at the highest passing step and at the first failing one; "+
		"`postgres:x` are the backends of service x's database:\n\n", m.CPUs)
	cols := r.cpuColumns()
	p("| |")
	for _, s := range cols {
		p(" %s/s |", measure.Thousands(float64(s.Offered)))
	}
	p("\n|---|%s\n", strings.Repeat("---|", len(cols)))
	uses := make([]map[string]float64, len(cols))
	for i, s := range cols {
		uses[i] = s.CPU
	}
	for _, g := range cpuGroups(uses...) {
		p("| %s |", g)
		for _, s := range cols {
			p(" %.2f |", s.CPU[g])
		}
		p("\n")
	}
	p("| everything else (other work on the machine, the kernel) |")
	for _, s := range cols {
		p(" %.2f |", s.CPUBusy-sum(s.CPU))
	}
	p("\n| **busy** |")
	for _, s := range cols {
		p(" %.2f |", s.CPUBusy)
	}
	p("\n| **ms of CPU per order**, system processes (whole machine) |")
	for _, s := range cols {
		p(" %.1f (%.1f) |", s.CPUMsPerOrderTotal, s.CPUMsPerOrderBusy)
	}
	p("\n\nOpen loop: orders start on a fixed schedule whatever the system does, and latency counts from the scheduled "+
		"start (no coordinated omission). Each order is a `createOrder` over HTTP POST (%s of them with `%s`, the rest "+
		"`%s`, a new idempotency key each) and an `orderStatusChanged` subscription over one of %d shared "+
		"graphql-transport-ws websockets, opened as soon as the mutation returns the order's id (the API assigns the id, "+
		"and refuses to subscribe to an unknown one; the subscription starts with the order as it is, so it misses "+
		"nothing). Before the ramp, %gs at half its first rate, not measured, warm the system up. Steps: %gs warm-up (discarded) and %gs measured; the ramp grows by ×%g while steps pass, then bisects "+
		"to %d orders/s. Percentiles from HDR histograms (3 significant digits). Ceilings, with the services idle: "+
		"%d writers each committing `%s` in a database created for the run; %d writers each producing a message "+
		"with the platform's producer settings (idempotent, acks=all) to a topic created for the run and waiting "+
		"for the platform's consumer settings (read_committed) to receive it.\n",
		measure.Percent(set.DeclineShare), TokenDeclined, TokenCaptured, set.Connections, set.PrimeSeconds, set.WarmupSeconds, set.StepSeconds,
		r.rampGrowth(), r.rampResolution(), c.Writers, measure.CeilingStatement, c.Writers)
	p("%s\n", end)
	return b.String()
}

// cpuColumns are the steps whose CPU the section shows: the highest that
// passed and the first that failed.
func (r Results) cpuColumns() []StepResult {
	var pass, fail *StepResult
	for i, s := range r.Steps {
		if s.Kind != "ramp" {
			continue
		}
		if s.Pass && s.Offered == r.Knee {
			pass = &r.Steps[i]
		}
		if !s.Pass && (fail == nil || s.Offered < fail.Offered) && s.Offered > r.Knee {
			fail = &r.Steps[i]
		}
	}
	var out []StepResult
	for _, s := range []*StepResult{pass, fail} {
		if s != nil {
			out = append(out, *s)
		}
	}
	return out
}

func (r Results) rampGrowth() float64 { return r.Settings.RampGrowth }
func (r Results) rampResolution() int { return r.Settings.RampResolution }
func round1(x float64) float64        { return float64(int(x*10+0.5)) / 10 }
func fmtMs(x float64) string          { return measure.Millis(time.Duration(x * float64(time.Millisecond))) }
func sum(m map[string]float64) (s float64) {
	for _, v := range m {
		s += v
	}
	return s
}

func commitsByDB(m map[string]float64) string {
	var parts []string
	for _, db := range ServiceDatabases {
		parts = append(parts, fmt.Sprintf("%s %.1f", strings.TrimPrefix(db, "orderflow_"), m[db]))
	}
	return strings.Join(parts, ", ")
}

// Summary is the few lines printed at the end of a run.
func (r Results) Summary() string {
	return fmt.Sprintf("knee %d orders/s (target ≥ %d: %s); at %d/s PAID p50 %s ms (≤ %d: %s), p99 %s ms (≤ %d: %s); "+
		"%.0f%% of the Postgres-bound %s orders/s (≥ 40%%: %s); orders %d, lost %d; invariants: %d violations\n",
		r.Knee, TargetKneePerSec, measure.Met(r.Targets.Knee), r.HalfKneeRate, fmtMs(r.P50), TargetP50.Milliseconds(), measure.Met(r.Targets.P50),
		fmtMs(r.P99), TargetP99.Milliseconds(), measure.Met(r.Targets.P99), 100*r.KneeShare, measure.Thousands(r.PGBound),
		measure.Met(r.Targets.CeilingShare), r.OrdersTotal, r.OrdersLost, r.Invariants.ViolationCount)
}

// perProcess lists figures by name, largest first: "kafka 12.0, gateway 8.1".
func perProcess(figures map[string]float64, format string) string {
	names := make([]string, 0, len(figures))
	for n := range figures {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if figures[names[i]] != figures[names[j]] {
			return figures[names[i]] > figures[names[j]]
		}
		return names[i] < names[j]
	})
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + " " + fmt.Sprintf(format, figures[n])
	}
	return strings.Join(parts, ", ")
}
