package storebench_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/tools/measure"
	"github.com/orderflow/orderflow/tools/storebench"
)

func TestSectionMarkersAreMeasures(t *testing.T) {
	start, end := measure.Markers(storebench.SectionName)
	require.Equal(t, start, storebench.SectionStart)
	require.Equal(t, end, storebench.SectionEnd)
}

func TestMarkdownStatesTheFiguresAndTheVerdicts(t *testing.T) {
	relay := func(offered int, achieved float64, p99 time.Duration) storebench.RelayLatency {
		return storebench.RelayLatency{Offered: offered, Achieved: achieved, Events: 10 * offered,
			CommitToReceipt: measure.Latencies{Count: 10 * offered, P50: 5 * time.Millisecond, P99: p99, Max: 2 * p99}}
	}
	tests := []struct {
		name string
		res  storebench.Results
		want []string
	}{
		{"both targets missed", storebench.Results{
			Appends: storebench.Throughput{Throughput: measure.Throughput{PerSec: 750}}, AppendRuns: []float64{600, 750},
			Ceiling: storebench.Throughput{Throughput: measure.Throughput{PerSec: 3750}},
			// 15 ms meets the p99 target, but the store did not keep up.
			Relays: []storebench.RelayLatency{relay(1000, 460, 15*time.Millisecond)}, RelayRuns: [][]time.Duration{{15 * time.Millisecond}},
		}, []string{
			"| **750** (runs: 600; 750) | ≥ 2,000: **NOT met** |",
			"| Appends / raw ceiling | 20% | |",
			"| 5.00 / 15.0 / 30.0 ms (p99 runs: 15.0 ms) | p99 ≤ 20 ms: **NOT met** |",
		}},
		{"both targets met", storebench.Results{
			Appends: storebench.Throughput{Throughput: measure.Throughput{PerSec: 2400}}, Ceiling: storebench.Throughput{Throughput: measure.Throughput{PerSec: 3000}},
			Relays: []storebench.RelayLatency{relay(1000, 1000, 15*time.Millisecond), relay(250, 250, 8*time.Millisecond)},
		}, []string{
			"≥ 2,000: **met**",
			"| Appends / raw ceiling | 80% | |",
			"p99 ≤ 20 ms: **met**",
			"| Relay at 250 ev/s offered: achieved append rate | 250/s | |",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.res.Config = storebench.Config{Writers: 16, Duration: 10 * time.Second, Warmup: 2 * time.Second, Rate: 1000, Runs: 2}
			tt.res.Machine = measure.Machine{CPUs: 2}
			if tt.res.RelayRuns == nil {
				tt.res.RelayRuns = make([][]time.Duration, len(tt.res.Relays))
			}
			md := tt.res.Markdown("go run ./tools/cmd/storebench")

			require.True(t, strings.HasPrefix(md, storebench.SectionStart))
			require.True(t, strings.HasSuffix(strings.TrimSpace(md), storebench.SectionEnd))
			require.Contains(t, md, "    go run ./tools/cmd/storebench\n")
			for _, w := range tt.want {
				require.Contains(t, md, w)
			}
		})
	}
}
