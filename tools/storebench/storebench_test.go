package storebench_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/tools/storebench"
)

func TestSummarise(t *testing.T) {
	msec := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	oneToHundred := make([]time.Duration, 100)
	for i := range oneToHundred {
		oneToHundred[len(oneToHundred)-1-i] = msec(i + 1) // unsorted on purpose
	}
	tests := []struct {
		name    string
		samples []time.Duration
		want    storebench.Latencies
	}{
		{"none", nil, storebench.Latencies{}},
		{"1 to 100 ms", oneToHundred, storebench.Latencies{Count: 100, P50: msec(50), P99: msec(99), Max: msec(100)}},
		// Nearest rank: the p99 of 200 samples is the 198th smallest.
		{"two slow in two hundred", append(repeat(msec(1), 198), msec(500), msec(900)),
			storebench.Latencies{Count: 200, P50: msec(1), P99: msec(1), Max: msec(900)}},
		{"three slow in two hundred", append(repeat(msec(1), 197), msec(500), msec(600), msec(900)),
			storebench.Latencies{Count: 200, P50: msec(1), P99: msec(500), Max: msec(900)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, storebench.Summarise(tt.samples))
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func TestUpdateSection(t *testing.T) {
	section := func(body string) string {
		return storebench.SectionStart + "\n## Event store\n\n" + body + "\n" + storebench.SectionEnd
	}
	others := "# Performance\n\nIntro.\n\n## Gateway\n\nSomeone else's figures.\n"
	unbalanced := "# Performance\n\n" + storebench.SectionStart + "\nsomeone deleted the end marker\n\n## Gateway\n"
	tests := []struct {
		name, existing, want string // existing "": no file yet
		wantErr              bool
	}{
		{"creates the document", "", "# Performance\n\n" + section("new") + "\n", false},
		{"appends to a document without the section", others, others + "\n" + section("new") + "\n", false},
		{"replaces the section and keeps what surrounds it", "# Performance\n\n" + section("old") + "\n\n## Gateway\n\nKept.\n",
			"# Performance\n\n" + section("new") + "\n\n## Gateway\n\nKept.\n", false},
		{"refuses unbalanced markers and leaves the document as it was", unbalanced, unbalanced, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "performance.md")
			if tt.existing != "" {
				require.NoError(t, os.WriteFile(path, []byte(tt.existing), 0o644))
			}
			for range 2 { // a rerun replaces its own section and changes nothing else
				err := storebench.UpdateSection(path, section("new"))
				require.Equal(t, tt.wantErr, err != nil, "error: %v", err)
				doc, err := os.ReadFile(path)
				require.NoError(t, err)
				require.Equal(t, tt.want, string(doc))
			}
		})
	}
}

func TestMarkdownStatesTheFiguresAndTheVerdicts(t *testing.T) {
	relay := func(offered int, achieved float64, p99 time.Duration) storebench.RelayLatency {
		return storebench.RelayLatency{Offered: offered, Achieved: achieved, Events: 10 * offered,
			CommitToReceipt: storebench.Latencies{Count: 10 * offered, P50: 5 * time.Millisecond, P99: p99, Max: 2 * p99}}
	}
	tests := []struct {
		name string
		res  storebench.Results
		want []string
	}{
		{"both targets missed", storebench.Results{
			Appends: storebench.Throughput{PerSec: 750}, AppendRuns: []float64{600, 750},
			Ceiling: storebench.Throughput{PerSec: 3750},
			// 15 ms meets the p99 target, but the store did not keep up.
			Relays: []storebench.RelayLatency{relay(1000, 460, 15*time.Millisecond)}, RelayRuns: [][]time.Duration{{15 * time.Millisecond}},
		}, []string{
			"| **750** (runs: 600; 750) | ≥ 2,000: **NOT met** |",
			"| Appends / raw ceiling | 20% | |",
			"| 5.00 / 15.0 / 30.0 ms (p99 runs: 15.0 ms) | p99 ≤ 20 ms: **NOT met** |",
		}},
		{"both targets met", storebench.Results{
			Appends: storebench.Throughput{PerSec: 2400}, Ceiling: storebench.Throughput{PerSec: 3000},
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
			tt.res.Machine = storebench.Machine{CPUs: 2}
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
