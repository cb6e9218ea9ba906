package measure

import (
	"slices"
	"time"
)

// Latencies summarises a set of measured durations. At the sample sizes of
// the closed-loop phases (tens of thousands) a sorted slice gives exact
// percentiles, which is all an HDR histogram would approximate.
type Latencies struct {
	Count         int
	P50, P99, Max time.Duration
}

// Summarise returns the count, median, 99th percentile and maximum of d
// (nearest-rank percentiles). It sorts d in place.
func Summarise(d []time.Duration) Latencies {
	if len(d) == 0 {
		return Latencies{}
	}
	slices.Sort(d)
	return Latencies{Count: len(d), P50: percentile(d, 50), P99: percentile(d, 99), Max: d[len(d)-1]}
}

// percentile is the nearest-rank percentile of sorted d: the smallest value
// with at least p% of the samples at or below it.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}

func (l Latencies) String() string {
	return "p50=" + Millis(l.P50) + " p99=" + Millis(l.P99) + " max=" + Millis(l.Max)
}
