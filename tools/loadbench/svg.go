package loadbench

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// plot draws an SVG chart: axes with ticks, then whatever the caller adds
// in data coordinates. Axes may be logarithmic.
type plot struct {
	b                      *strings.Builder
	width, height          float64
	left, right, top, bot  float64 // margins
	xmin, xmax, ymin, ymax float64
	xlog, ylog             bool
	xfmt, yfmt             func(float64) string
}

func newPlot(b *strings.Builder, width, height float64) *plot {
	return &plot{b: b, width: width, height: height, left: 64, right: 150, top: 16, bot: 44,
		xfmt: func(v float64) string { return fmt.Sprintf("%g", v) }, yfmt: func(v float64) string { return fmt.Sprintf("%g", v) }}
}

func scale(v, lo, hi float64, logScale bool) float64 {
	if logScale {
		v, lo, hi = math.Log10(math.Max(v, lo)), math.Log10(lo), math.Log10(hi)
	}
	if hi == lo {
		return 0
	}
	return (v - lo) / (hi - lo)
}

func (p *plot) x(v float64) float64 {
	return p.left + scale(v, p.xmin, p.xmax, p.xlog)*(p.width-p.left-p.right)
}

func (p *plot) y(v float64) float64 {
	return p.height - p.bot - scale(v, p.ymin, p.ymax, p.ylog)*(p.height-p.top-p.bot)
}

// ticks returns round values across [lo, hi]: 1, 2, 5 times powers of ten
// on a log axis, about six evenly spaced on a linear one.
func ticks(lo, hi float64, logScale bool) []float64 {
	var out []float64
	if logScale {
		for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
			for _, m := range []float64{1, 2, 5} {
				if v := m * math.Pow(10, e); v >= lo*0.999 && v <= hi*1.001 {
					out = append(out, v)
				}
			}
		}
		return out
	}
	step := roundUp((hi - lo) / 6)
	for v := math.Ceil(lo/step) * step; v <= hi+step/1000; v += step {
		out = append(out, v)
	}
	return out
}

// open starts the SVG with its axes and labels.
func (p *plot) open(title, xlabel, ylabel string) {
	fmt.Fprintf(p.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`,
		p.width, p.height, p.width, p.height, html.EscapeString(title))
	fmt.Fprintf(p.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#fff" stroke="#999"/>`,
		p.left, p.top, p.width-p.left-p.right, p.height-p.top-p.bot)
	for _, v := range ticks(p.xmin, p.xmax, p.xlog) {
		x := p.x(v)
		fmt.Fprintf(p.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/><text x="%.1f" y="%.1f" class="tick" text-anchor="middle">%s</text>`,
			x, p.top, x, p.height-p.bot, x, p.height-p.bot+14, html.EscapeString(p.xfmt(v)))
	}
	for _, v := range ticks(p.ymin, p.ymax, p.ylog) {
		y := p.y(v)
		fmt.Fprintf(p.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/><text x="%.1f" y="%.1f" class="tick" text-anchor="end">%s</text>`,
			p.left, y, p.width-p.right, y, p.left-4, y+4, html.EscapeString(p.yfmt(v)))
	}
	fmt.Fprintf(p.b, `<text x="%.1f" y="%.1f" class="label" text-anchor="middle">%s</text>`,
		p.left+(p.width-p.left-p.right)/2, p.height-6, html.EscapeString(xlabel))
	fmt.Fprintf(p.b, `<text x="14" y="%.1f" class="label" text-anchor="middle" transform="rotate(-90 14 %.1f)">%s</text>`,
		p.top+(p.height-p.top-p.bot)/2, p.top+(p.height-p.top-p.bot)/2, html.EscapeString(ylabel))
}

// line draws a polyline through the points, with a marker at each, and
// its legend entry at row.
func (p *plot) line(xs, ys []float64, color, dash, name string, row int) {
	var pts []string
	for i := range xs {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", p.x(xs[i]), p.y(ys[i])))
	}
	fmt.Fprintf(p.b, `<polyline fill="none" stroke="%s" stroke-width="2" stroke-dasharray="%s" points="%s"/>`, color, dash, strings.Join(pts, " "))
	for _, pt := range pts {
		x, y, _ := strings.Cut(pt, ",")
		fmt.Fprintf(p.b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`, x, y, color)
	}
	p.legend(color, dash, name, row)
}

func (p *plot) legend(color, dash, name string, row int) {
	x, y := p.width-p.right+10, p.top+10+float64(row)*18
	fmt.Fprintf(p.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2" stroke-dasharray="%s"/><text x="%.1f" y="%.1f" class="tick">%s</text>`,
		x, y, x+18, y, color, dash, x+22, y+4, html.EscapeString(name))
}

// hline and vline mark a value across the chart.
func (p *plot) hline(v float64, color, name string, row int) {
	fmt.Fprintf(p.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5" stroke-dasharray="6 4"/>`,
		p.left, p.y(v), p.width-p.right, p.y(v), color)
	p.legend(color, "6 4", name, row)
}

func (p *plot) vline(v float64, color, name string, row int) {
	fmt.Fprintf(p.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5" stroke-dasharray="2 3"/>`,
		p.x(v), p.top, p.x(v), p.height-p.bot, color)
	p.legend(color, "2 3", name, row)
}

func (p *plot) close() { p.b.WriteString("</svg>") }

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}
