package chaos

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strings"
)

// HTML is the report page: self-contained (inline SVG and CSS, no script,
// nothing fetched).
func (r Report) HTML() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	e := html.EscapeString
	p(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>orderflow chaos run</title><style>
body{font:14px/1.4 system-ui,sans-serif;margin:20px;color:#222;max-width:1240px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:16px;margin:18px 0 6px} .meta{color:#666;font-size:12px}
table{border-collapse:collapse;font-size:12.5px} td,th{border:1px solid #ddd;padding:3px 7px;text-align:right} th{background:#f5f5f5}
td:first-child,th:first-child{text-align:left} .ok{color:#176a1d;font-weight:600} .bad{color:#b00020;font-weight:600}
.cards{display:grid;grid-template-columns:repeat(7,1fr);gap:10px;margin:12px 0} .card{border:1px solid #ddd;border-radius:6px;padding:8px 12px}
.big{font-size:24px;font-weight:700} svg text{font-size:11px;fill:#444}
</style></head><body>`)
	verdict := `<span class="ok">PASS</span>`
	if !r.OK {
		verdict = `<span class="bad">FAIL</span>`
	}
	p(`<h1>orderflow chaos run: %s</h1><div class="meta">%s · %s · profile %s · seed %d · %d orders/s offered · %.0f s wall · resume cursor: %v</div>`,
		verdict, e(r.Started.UTC().Format("2006-01-02 15:04 MST")), e(r.Revision), e(r.Profile), r.Seed, r.Rate, r.WallSeconds, r.Resume)
	card := func(title string, v int, mustBeZero bool, note string) {
		cls := ""
		if mustBeZero {
			cls = map[bool]string{true: "ok", false: "bad"}[v == 0]
		}
		p(`<div class="card"><div>%s</div><div class="big %s">%d</div><div class="meta">%s</div></div>`, e(title), cls, v, e(note))
	}
	p(`<div class="cards">`)
	card("offered", r.Offered, false, fmt.Sprintf("%d acknowledged, %d never", r.Acknowledged, r.Unacknowledged))
	card("lost", r.Lost, true, "acknowledged, not in the store")
	card("double charges", r.DoubleCharges, true, "checker and PSP ledger")
	card("not final", r.NotTerminal, true, fmt.Sprintf("%.0f s after healing", r.SettleSeconds))
	card("subscriptions wrong", r.Subscriptions.Missed+r.Subscriptions.Repeated+r.Subscriptions.Wrong, true,
		fmt.Sprintf("missed %d, repeated %d, wrong %d", r.Subscriptions.Missed, r.Subscriptions.Repeated, r.Subscriptions.Wrong))
	card("read model ≠ stores", r.ReadModelDiffs, true, fmt.Sprintf("mirror: %d missing, %d twice",
		r.Mirror.MissingInJetStream, r.Mirror.DuplicatesInJetStream))
	card("invariant violations", len(r.Invariants.Violations), true, fmt.Sprintf("of %d orders, %d charges", r.Invariants.Orders, r.Invariants.Charges))
	p(`</div>`)

	p(`<h2>Throughput against the faults (per second of the run)</h2>`)
	r.throughputChart(&b)
	p(`<h2>Latency of the orders scheduled in each second (scheduled start → PAID or CANCELLED pushed)</h2>`)
	r.latencyChart(&b)

	p(`<h2>Faults</h2><table><tr><th>fault</th><th>process</th><th>start s</th><th>healed s</th><th>all ready s</th><th>error</th></tr>`)
	for _, f := range r.Faults {
		p(`<tr><td>%s</td><td>%s</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%s</td></tr>`, e(f.Fault), e(f.Replica), f.Start, f.Healed, f.Recovered, e(f.Error))
	}
	p(`</table>`)

	p(`<h2>Checks</h2><table><tr><th>check</th><th>result</th></tr>`)
	row := func(name, value string) { p(`<tr><td>%s</td><td>%s</td></tr>`, e(name), e(value)) }
	row("orders in the store, by status", fmt.Sprintf("%d %v", r.Stored, r.ByStatus))
	row("cancelled orders, by reason", sortedCounts(r.CancelReasons))
	row("idempotency keys answered with two ids", fmt.Sprint(r.IdempotencyBroken))
	row("invariant checker", fmt.Sprintf("%d orders, %d charges (%d captured, %d refunded), %d violations",
		r.Invariants.Orders, r.Invariants.Charges, r.Invariants.Captures, r.Invariants.Refunded, len(r.Invariants.Violations)))
	s := r.Subscriptions
	row("subscriptions", fmt.Sprintf("%d orders, %d sessions, %d re-subscribed; snapshot repeats %d, snapshot jumps %d (allowed without a cursor)",
		s.Orders, s.Sessions, s.Resubscribed, s.SnapshotRepeats, s.SnapshotJumps))
	m := r.Mirror
	row("events: stores → Kafka → JetStream", fmt.Sprintf("%d stored, %d in Kafka (%d missing, %d twice), %d in JetStream (%d missing, %d twice)",
		m.Stored, m.InKafka, m.MissingInKafka, m.DuplicatesInKafka, m.InJetStream, m.MissingInJetStream, m.DuplicatesInJetStream))
	row("read models rebuilt after a Redis restart", fmt.Sprint(r.ReadModelsRebuilt))
	row("createOrder answered (ms from schedule)", fmt.Sprintf("p50 %.0f, p99 %.0f, max %.0f (%d attempts for %d orders)", r.Ack.P50, r.Ack.P99, r.Ack.Max, r.CreateAttempts, r.Offered))
	row("PAID or CANCELLED pushed (ms from schedule)", fmt.Sprintf("p50 %.0f, p99 %.0f, max %.0f", r.Final.P50, r.Final.P99, r.Final.Max))
	row("client errors", sortedCounts(r.ClientErrors))
	row("requests per order replica (balancer)", fmt.Sprint(r.BalancerRequests))
	p(`</table>`)
	p(`<h2>Hand-overs in the processes' logs</h2><table><tr><th>process</th>`)
	for _, msg := range handovers {
		p(`<th>%s</th>`, e(msg))
	}
	p(`</tr>`)
	for _, name := range sortedKeys(r.Logged) {
		p(`<tr><td>%s</td>`, e(name))
		for _, msg := range handovers {
			p(`<td>%d</td>`, r.Logged[name][msg])
		}
		p(`</tr>`)
	}
	p(`</table>`)
	if len(r.Violations) > 0 {
		p(`<h2 class="bad">Violations</h2><ul>`)
		for _, v := range r.Violations {
			p(`<li>%s</li>`, e(v))
		}
		p(`</ul>`)
	}
	for _, id := range sortedKeys(r.Details) {
		p(`<h2>Order %s, every event across the stores (s from the start)</h2><pre>%s</pre>`, e(id), e(strings.Join(r.Details[id], "\n")))
	}
	p(`<p class="meta">%s</p></body></html>`, e(r.Command))
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// timeline is a chart whose x axis is seconds of the run, with the faults
// drawn behind the data as bands: darker while the fault holds, lighter
// until every process answered /readyz again.
type timeline struct {
	b                    *strings.Builder
	w, h                 float64
	left, right, top, bo float64
	xmax, ymin, ymax     float64
	logY                 bool
}

func (c *timeline) x(v float64) float64 { return c.left + v/c.xmax*(c.w-c.left-c.right) }

func (c *timeline) y(v float64) float64 {
	f := (v - c.ymin) / (c.ymax - c.ymin)
	if c.logY {
		f = (math.Log10(math.Max(v, c.ymin)) - math.Log10(c.ymin)) / (math.Log10(c.ymax) - math.Log10(c.ymin))
	}
	return c.h - c.bo - f*(c.h-c.top-c.bo)
}

func (c *timeline) open(r Report, ylabel string, yticks []float64) {
	fmt.Fprintf(c.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">`, c.w, c.h, c.w, c.h)
	fmt.Fprintf(c.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#fff" stroke="#999"/>`, c.left, c.top, c.w-c.left-c.right, c.h-c.top-c.bo)
	for _, f := range r.Faults {
		x0, x1, x2 := c.x(f.Start), c.x(f.Healed), c.x(f.Recovered)
		fmt.Fprintf(c.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#d62728" fill-opacity="0.18"><title>%s</title></rect>`,
			x0, c.top, math.Max(x1-x0, 1), c.h-c.top-c.bo, html.EscapeString(f.Fault))
		fmt.Fprintf(c.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#ff7f0e" fill-opacity="0.12"/>`, x1, c.top, math.Max(x2-x1, 0), c.h-c.top-c.bo)
		label := f.Fault
		if f.Replica != "" && f.Replica != f.Fault[len("kill:"):] {
			label += " (" + f.Replica + ")"
		}
		fmt.Fprintf(c.b, `<text x="%.1f" y="%.1f" transform="rotate(-90 %.1f %.1f)">%s</text>`,
			x0+4, c.top-4, x0+4, c.top-4, html.EscapeString(label))
	}
	if r.Healed > 0 {
		fmt.Fprintf(c.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#176a1d" stroke-dasharray="4 3"/><text x="%.1f" y="%.1f">healed</text>`,
			c.x(r.Healed), c.top, c.x(r.Healed), c.h-c.bo, c.x(r.Healed)+3, c.h-c.bo-4)
	}
	for t := 0.0; t <= c.xmax; t += tickStep(c.xmax) {
		fmt.Fprintf(c.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999"/><text x="%.1f" y="%.1f" text-anchor="middle">%.0f</text>`,
			c.x(t), c.h-c.bo, c.x(t), c.h-c.bo+4, c.x(t), c.h-c.bo+16, t)
	}
	for _, v := range yticks {
		fmt.Fprintf(c.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/><text x="%.1f" y="%.1f" text-anchor="end">%g</text>`,
			c.left, c.y(v), c.w-c.right, c.y(v), c.left-4, c.y(v)+4, v)
	}
	fmt.Fprintf(c.b, `<text x="%.1f" y="%.1f" text-anchor="middle">seconds of the run</text>`, c.left+(c.w-c.left-c.right)/2, c.h-4)
	fmt.Fprintf(c.b, `<text x="14" y="%.1f" text-anchor="middle" transform="rotate(-90 14 %.1f)">%s</text>`,
		c.top+(c.h-c.top-c.bo)/2, c.top+(c.h-c.top-c.bo)/2, html.EscapeString(ylabel))
}

func (c *timeline) series(xs, ys []float64, color, name string, row int) {
	var pts []string
	for i := range xs {
		if ys[i] > 0 || !c.logY {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", c.x(xs[i]), c.y(ys[i])))
		}
	}
	fmt.Fprintf(c.b, `<polyline fill="none" stroke="%s" stroke-width="1.6" points="%s"/>`, color, strings.Join(pts, " "))
	lx, ly := c.w-c.right+10, c.top+10+float64(row)*18
	fmt.Fprintf(c.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/><text x="%.1f" y="%.1f">%s</text>`,
		lx, ly, lx+18, ly, color, lx+22, ly+4, html.EscapeString(name))
}

func tickStep(span float64) float64 {
	for _, s := range []float64{10, 20, 30, 60, 120, 300, 600} {
		if span/s <= 12 {
			return s
		}
	}
	return 1200
}

func (r Report) chart(b *strings.Builder, logY bool) *timeline {
	c := &timeline{b: b, w: 1200, h: 300, left: 56, right: 150, top: 110, bo: 36, logY: logY}
	c.xmax = math.Max(1, float64(len(r.Series)))
	return c
}

func (r Report) throughputChart(b *strings.Builder) {
	c := r.chart(b, false)
	var xs, offered, acked, completed, errs []float64
	for _, s := range r.Series {
		xs = append(xs, float64(s.T))
		offered, acked = append(offered, float64(s.Offered)), append(acked, float64(s.Acked))
		completed, errs = append(completed, float64(s.Completed)), append(errs, float64(s.Errors))
		c.ymax = math.Max(c.ymax, math.Max(float64(s.Acked), math.Max(float64(s.Completed), float64(s.Errors))))
	}
	c.ymax = math.Max(c.ymax*1.1, float64(r.Rate)*2)
	step := math.Max(1, math.Ceil(c.ymax/6))
	var ticks []float64
	for v := 0.0; v <= c.ymax; v += step {
		ticks = append(ticks, v)
	}
	c.open(r, "per second", ticks)
	c.series(xs, offered, "#7f7f7f", "offered", 0)
	c.series(xs, acked, "#1f77b4", "acknowledged", 1)
	c.series(xs, completed, "#2ca02c", "PAID/CANCELLED", 2)
	c.series(xs, errs, "#d62728", "client errors", 3)
	b.WriteString("</svg>")
}

func (r Report) latencyChart(b *strings.Builder) {
	c := r.chart(b, true)
	c.ymin, c.ymax = 10, 1000
	var xs, p50, p99 []float64
	for _, s := range r.Series {
		xs, p50, p99 = append(xs, float64(s.T)), append(p50, s.P50), append(p99, s.P99)
		c.ymax = math.Max(c.ymax, s.P99*1.5)
	}
	var ticks []float64
	for v := c.ymin; v <= c.ymax; v *= 10 {
		ticks = append(ticks, v)
	}
	c.open(r, "ms (log)", ticks)
	c.series(xs, p50, "#1f77b4", "p50", 0)
	c.series(xs, p99, "#ff7f0e", "p99", 1)
	b.WriteString("</svg>")
}
