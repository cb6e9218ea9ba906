package loadbench

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strings"

	"github.com/orderflow/orderflow/tools/measure"
)

// WriteHTML writes the report page to path.
func (r Results) WriteHTML(path string) error { return writeFile(path, []byte(r.HTML())) }

// HTML is the report page: self-contained (inline SVG and CSS, no script,
// nothing fetched), so it opens anywhere and renders to a PNG offline.
func (r Results) HTML() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	e := html.EscapeString
	half, _ := r.HalfKneeStep()

	p(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>orderflow load benchmark</title><style>
body{font:14px/1.4 system-ui,sans-serif;margin:20px;color:#222;max-width:1240px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:16px;margin:18px 0 6px}
.meta{color:#666;font-size:12px} .grid{display:grid;grid-template-columns:1fr 1fr;gap:8px 24px}
table{border-collapse:collapse;font-size:12.5px} td,th{border:1px solid #ddd;padding:3px 7px;text-align:right} th{background:#f5f5f5}
td:first-child,th:first-child{text-align:left} .met{color:#176a1d;font-weight:600} .miss{color:#b00020;font-weight:600}
.tick{font-size:11px;fill:#444} .label{font-size:12px;fill:#222}
.big{font-size:26px;font-weight:700} .card{border:1px solid #ddd;border-radius:6px;padding:8px 12px}
.cards{display:grid;grid-template-columns:repeat(5,1fr);gap:10px;margin:12px 0}
</style></head><body>`)
	p(`<h1>orderflow: end-to-end load benchmark</h1><div class="meta">%s · %s · profile %s · %d CPUs (%s), %s · Postgres %s (%s) · librdkafka %s · %s</div>`,
		e(r.Started.UTC().Format("2006-01-02 15:04 MST")), e(r.Revision), e(r.Settings.Profile), r.Machine.CPUs, e(r.Machine.CPUModel),
		e(r.Machine.Memory), e(r.Machine.Postgres), e(r.Machine.PostgresSettings), e(r.Machine.Librdkafka), e(r.Machine.Go))

	verdict := func(ok bool) string {
		if ok {
			return `<span class="met">met</span>`
		}
		return `<span class="miss">NOT met</span>`
	}
	card := func(title, value, note string) {
		p(`<div class="card"><div>%s</div><div class="big">%s</div><div>%s</div></div>`, title, value, note)
	}
	p(`<div class="cards">`)
	card("knee", measure.Thousands(float64(r.Knee))+" orders/s", "target ≥ 500: "+verdict(r.Targets.Knee))
	card(fmt.Sprintf("PAID p50 at %d/s", r.HalfKneeRate), fmtMs(r.P50)+" ms", "target ≤ 25 ms: "+verdict(r.Targets.P50))
	card(fmt.Sprintf("PAID p99 at %d/s", r.HalfKneeRate), fmtMs(r.P99)+" ms", "target ≤ 100 ms: "+verdict(r.Targets.P99))
	card("share of Postgres-bound", measure.Percent(r.KneeShare), fmt.Sprintf("of %s orders/s: %s", measure.Thousands(r.PGBound), verdict(r.Targets.CeilingShare)))
	card("lost / violations", fmt.Sprintf("%d / %d", r.OrdersLost, r.Invariants.ViolationCount),
		fmt.Sprintf("of %s orders: %s", measure.Thousands(float64(r.OrdersTotal)), verdict(r.OK)))
	p(`</div>`)

	p(`<div class="grid"><div><h2>Latency against offered rate (scheduled start → PAID or CANCELLED pushed)</h2>`)
	r.rateChart(&b)
	p(`</div><div><h2>Latency by percentile, each step</h2>`)
	r.spectrumChart(&b)
	p(`</div><div><h2>Histogram at half the knee (%d orders/s): scheduled start → PAID pushed</h2>`, r.HalfKneeRate)
	histogramChart(&b, half.Paid.Bins)
	p(`</div><div><h2>Ceilings of this machine (services idle, %d writers)</h2><table>`, r.Ceilings.Writers)
	c := r.Ceilings
	p(`<tr><th></th><th>per second</th><th>p50</th><th>p99</th></tr>`)
	p(`<tr><td>Postgres single-row commit (fsync on)</td><td>%s</td><td>%s ms</td><td>%s ms</td></tr>`, measure.Thousands(c.PGCommitsPerSec), fmtMs(c.PGCommit.P50), fmtMs(c.PGCommit.P99))
	p(`<tr><td>Kafka produce → consume round trip</td><td>%s</td><td>%s ms</td><td>%s ms</td></tr>`, measure.Thousands(c.KafkaPerSec), fmtMs(c.Kafka.P50), fmtMs(c.Kafka.P99))
	p(`<tr><td>Commits per order</td><td colspan="3">%.1f (%s)</td></tr>`, r.CommitsPerOrder, e(commitsByDB(r.CommitsByDatabase)))
	p(`<tr><td>CPU per order at %d/s (system processes; whole machine)</td><td colspan="3">%.1f ms (%s); %.1f ms</td></tr>`,
		r.KneeStep, r.CPUMsPerOrder, e(perProcess(r.CPUMsPerOrderByProcess, "%.1f")), r.CPUMsPerOrderBusy)
	p(`<tr><td>Kafka requests per order at %d/s</td><td colspan="3">%.1f (%s)</td></tr>`,
		r.KneeStep, r.KafkaRequestsPerOrder, e(perProcess(r.KafkaRequestsPerOrderByType, "%.1f")))
	p(`<tr><td>Commits per order at %d/s</td><td colspan="3">%.1f (%s)</td></tr>`,
		r.KneeStep, r.KneeCommitsPerOrder, e(perProcess(r.KneeCommitsPerOrderByService, "%.1f")))
	p(`<tr><td>Postgres-bound orders/s</td><td colspan="3">%s; knee = %s of it</td></tr>`, measure.Thousands(r.PGBound), measure.Percent(r.KneeShare))
	p(`<tr><td>At half the knee: mutation answered</td><td colspan="3">p50 %s ms, p99 %s ms</td></tr>`, fmtMs(half.Mutation.P50), fmtMs(half.Mutation.P99))
	p(`<tr><td>At half the knee: declined → CANCELLED pushed</td><td colspan="3">p50 %s ms, p99 %s ms</td></tr>`, fmtMs(half.Cancelled.P50), fmtMs(half.Cancelled.P99))
	p(`<tr><td>Orders total / PAID / CANCELLED / lost</td><td colspan="3">%d / %d / %d / %d</td></tr>`, r.OrdersTotal, r.OrdersPaid, r.OrdersCancelled, r.OrdersLost)
	p(`<tr><td>Invariants (orders, charges checked)</td><td colspan="3">%d violations (%d, %d)</td></tr></table></div></div>`,
		r.Invariants.ViolationCount, r.Invariants.Orders, r.Invariants.Charges)

	if len(r.Hops) > 0 {
		p(`<h2>Where a PAID order's time goes at half the knee (%d orders)</h2><table><tr><th>stage</th><th>p50</th><th>p99</th></tr>`, r.Hops[0].Count)
		for _, h := range r.Hops {
			p(`<tr><td>%s</td><td>%s ms</td><td>%s ms</td></tr>`, e(h.Name), fmtMs(h.P50), fmtMs(h.P99))
		}
		p(`</table>`)
	}
	p(`<h2>Steps</h2><table><tr><th>step</th><th>offered/s</th><th>window</th><th>measured</th><th>completed/s</th><th>p50</th><th>p90</th><th>p99</th><th>max</th><th>late</th><th>failed</th><th>generator lag max</th><th>verdict</th></tr>`)
	for _, s := range r.Steps {
		v := verdict(s.Pass)
		if s.Pass {
			v = `<span class="met">pass</span>`
		} else {
			v = `<span class="miss">fail</span>`
		}
		if s.StoppedEarly {
			v += " (stopped early)"
		}
		p(`<tr><td>%s</td><td>%d</td><td>%gs</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%d</td><td>%s ms</td><td>%s</td></tr>`,
			e(s.Kind), s.Offered, round1(s.WindowSeconds), s.Measured, measure.Thousands(s.Completed), fmtMs(s.Final.P50), fmtMs(s.Final.P90),
			fmtMs(s.Final.P99), fmtMs(s.Final.Max), s.Late, s.Failed, fmtMs(s.MaxSendLagMs), v)
	}
	p(`</table>`)

	p(`<h2>CPU by process, cores of %d (from /proc; postgres:x = backends of service x's database)</h2><table><tr><th>process</th>`, r.Machine.CPUs)
	uses := make([]map[string]float64, len(r.Steps))
	for i, s := range r.Steps {
		uses[i] = s.CPU
		p(`<th>%d/s%s</th>`, s.Offered, map[bool]string{true: " (½ knee)"}[s.Kind == "half_knee"])
	}
	p(`</tr>`)
	for _, g := range cpuGroups(uses...) {
		p(`<tr><td>%s</td>`, e(g))
		for _, s := range r.Steps {
			p(`<td>%.2f</td>`, s.CPU[g])
		}
		p(`</tr>`)
	}
	p(`<tr><td>everything else</td>`)
	for _, s := range r.Steps {
		p(`<td>%.2f</td>`, s.CPUBusy-sum(s.CPU))
	}
	p(`</tr><tr><th>busy</th>`)
	for _, s := range r.Steps {
		p(`<th>%.2f</th>`, s.CPUBusy)
	}
	p(`</tr><tr><th>ms per order (system)</th>`)
	for _, s := range r.Steps {
		p(`<th>%.1f</th>`, s.CPUMsPerOrderTotal)
	}
	p(`</tr></table><p class="meta">%s</p></body></html>`, e(r.Command))
	return b.String()
}

// rampSteps returns the ramp's steps by offered rate.
func (r Results) rampSteps() []StepResult {
	var out []StepResult
	for _, s := range r.Steps {
		if s.Kind == "ramp" && s.Final.Count > 0 {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b StepResult) int { return a.Offered - b.Offered })
	return out
}

func (r Results) rateChart(b *strings.Builder) {
	steps := r.rampSteps()
	pl := newPlot(b, 600, 320)
	pl.ylog, pl.xmin, pl.ymin, pl.ymax = true, 0, math.Inf(1), 0
	for _, s := range steps {
		pl.xmax = math.Max(pl.xmax, float64(s.Offered))
		pl.ymin, pl.ymax = math.Min(pl.ymin, s.Final.P50), math.Max(pl.ymax, s.Final.Max)
	}
	if len(steps) == 0 {
		pl.xmax, pl.ymin, pl.ymax = 1, 1, 10
	}
	pl.xmax *= 1.05
	pl.ymin = math.Max(0.5, math.Min(pl.ymin, r.Settings.P99BoundMs)/1.5) // the bound stays in sight
	pl.ymax = math.Max(pl.ymax*1.5, r.Settings.P99BoundMs*2)
	pl.yfmt = fmtTick
	pl.open("latency against offered rate", "offered orders/s", "ms (log)")
	var xs, p50, p99, mx []float64
	for _, s := range steps {
		xs, p50, p99, mx = append(xs, float64(s.Offered)), append(p50, s.Final.P50), append(p99, s.Final.P99), append(mx, s.Final.Max)
	}
	pl.line(xs, p50, palette[0], "", "p50", 0)
	pl.line(xs, p99, palette[1], "", "p99", 1)
	pl.line(xs, mx, palette[3], "", "max", 2)
	pl.hline(r.Settings.P99BoundMs, "#b00020", fmt.Sprintf("p99 bound %g ms", r.Settings.P99BoundMs), 3)
	if r.Knee > 0 {
		pl.vline(float64(r.Knee), "#176a1d", fmt.Sprintf("knee %d/s", r.Knee), 4)
	}
	for _, s := range steps {
		if !s.Pass {
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" class="tick" text-anchor="middle" fill="#b00020">✗</text>`, pl.x(float64(s.Offered)), pl.top+12)
		}
	}
	pl.close()
}

// nines maps a percentile to how many nines it has: 90% → 1, 99% → 2.
func nines(percent float64) float64 { return -math.Log10(1 - math.Min(percent, 99.99)/100) }

func (r Results) spectrumChart(b *strings.Builder) {
	pl := newPlot(b, 600, 320)
	pl.ylog, pl.xmin, pl.xmax, pl.ymin, pl.ymax = true, 0, 4, math.Inf(1), 0
	var steps []StepResult
	for _, s := range r.Steps {
		if s.Final.Count > 0 {
			steps = append(steps, s)
		}
	}
	for _, s := range steps {
		for _, pt := range s.Final.Spectrum {
			pl.ymin, pl.ymax = math.Min(pl.ymin, pt.Ms), math.Max(pl.ymax, pt.Ms)
		}
	}
	if len(steps) == 0 {
		pl.ymin, pl.ymax = 1, 10
	}
	pl.ymin, pl.ymax = math.Max(0.5, pl.ymin/1.5), pl.ymax*1.5
	pl.xfmt = func(v float64) string {
		return map[float64]string{0: "0%", 1: "90%", 2: "99%", 3: "99.9%", 4: "99.99%"}[v]
	}
	pl.yfmt = fmtTick
	pl.open("latency by percentile", "percentile", "ms (log)")
	for i, s := range steps {
		var xs, ys []float64
		for _, pt := range s.Final.Spectrum {
			if pt.Percent < 100 {
				xs, ys = append(xs, nines(pt.Percent)), append(ys, pt.Ms)
			}
		}
		name := fmt.Sprintf("%d/s", s.Offered)
		if s.Kind == "half_knee" {
			name += " (½ knee)"
		}
		if !s.Pass {
			name += " ✗"
		}
		pl.line(xs, ys, palette[i%len(palette)], map[bool]string{true: "5 3"}[s.Kind == "half_knee"], name, i)
	}
	pl.close()
}

func histogramChart(b *strings.Builder, bins []Bin) {
	pl := newPlot(b, 600, 300)
	pl.right = 20
	pl.xmin, pl.ymin = 0, 0
	for _, bin := range bins {
		pl.xmax, pl.ymax = math.Max(pl.xmax, bin.ToMs), math.Max(pl.ymax, float64(bin.Count))
	}
	if len(bins) == 0 {
		pl.xmax, pl.ymax = 1, 1
	}
	pl.ymax *= 1.1
	pl.xfmt, pl.yfmt = fmtTick, fmtTick // fmtTick keeps fractional ticks of small counts apart
	pl.open("histogram", "ms (last bar: everything slower than the p99.9)", "orders")
	for _, bin := range bins {
		x0, x1 := pl.x(bin.FromMs), pl.x(bin.ToMs)
		y := pl.y(float64(bin.Count))
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s–%s ms: %d</title></rect>`,
			x0+0.5, y, math.Max(x1-x0-1, 0.5), pl.y(0)-y, palette[0], fmtTick(bin.FromMs), fmtTick(bin.ToMs), bin.Count)
	}
	pl.close()
}

func fmtTick(v float64) string {
	if v >= 1000 {
		return measure.Thousands(v)
	}
	return fmt.Sprintf("%g", math.Round(v*100)/100)
}
