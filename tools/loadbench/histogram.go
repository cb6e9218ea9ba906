package loadbench

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// newHistogram records latencies in microseconds, from 1 µs to 5 minutes,
// to 3 significant figures.
func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(5*time.Minute/time.Microsecond), 3)
}

func record(h *hdrhistogram.Histogram, d time.Duration) {
	_ = h.RecordValue(max(1, min(d.Microseconds(), h.HighestTrackableValue()))) // clamped, so never out of range
}

// Summary is a latency distribution's headline figures, in milliseconds.
type Summary struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

// Point is a value of a latency distribution: Percent of the samples took
// Ms or less.
type Point struct {
	Percent float64 `json:"percent"`
	Ms      float64 `json:"ms"`
}

// Bin counts the samples from FromMs (included) to ToMs (excluded).
type Bin struct {
	FromMs float64 `json:"from_ms"`
	ToMs   float64 `json:"to_ms"`
	Count  int64   `json:"count"`
}

// Distribution is a latency distribution as the report shows it.
type Distribution struct {
	Summary
	// Spectrum is the value at each percentile of spectrumPercents, for
	// the percentile chart.
	Spectrum []Point `json:"spectrum,omitempty"`
	// Bins split the samples up to the p99.9 into equal widths, the last
	// bin holding everything slower, for the histogram chart.
	Bins []Bin `json:"bins,omitempty"`
}

var spectrumPercents = []float64{0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100}

func ms(us int64) float64 { return float64(us) / 1000 }

// distribution summarises h; bins is how many equal bins its histogram gets
// (0: none).
func distribution(h *hdrhistogram.Histogram, bins int) Distribution {
	d := Distribution{Summary: Summary{Count: h.TotalCount()}}
	if d.Count == 0 {
		return d
	}
	d.P50, d.P90, d.P99 = ms(h.ValueAtPercentile(50)), ms(h.ValueAtPercentile(90)), ms(h.ValueAtPercentile(99))
	d.P999, d.Max = ms(h.ValueAtPercentile(99.9)), ms(h.Max())
	for _, p := range spectrumPercents {
		v := h.ValueAtPercentile(p)
		if p == 0 {
			v = h.Min()
		}
		d.Spectrum = append(d.Spectrum, Point{Percent: p, Ms: ms(v)})
	}
	if bins > 0 {
		d.Bins = binned(h, bins)
	}
	return d
}

// binned splits h into n bins of a round width that covers up to its
// p99.9; the last bin also holds everything slower.
func binned(h *hdrhistogram.Histogram, n int) []Bin {
	width := roundUp(ms(h.ValueAtPercentile(99.9)) / float64(n))
	out := make([]Bin, n)
	for i := range out {
		out[i] = Bin{FromMs: float64(i) * width, ToMs: float64(i+1) * width}
	}
	for _, bar := range h.Distribution() {
		if bar.Count == 0 {
			continue
		}
		i := min(int(ms(bar.From)/width), n-1)
		out[i].Count += bar.Count
	}
	out[n-1].ToMs = max(out[n-1].FromMs+width, ms(h.Max())) // JSON has no infinity: the last bin ends at the slowest sample
	return out
}

// roundUp returns the smallest of 1, 2 or 5 times a power of ten that is at
// least x (and at least 0.01).
func roundUp(x float64) float64 {
	for p := 0.01; ; p *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if m*p >= x {
				return m * p
			}
		}
	}
}
