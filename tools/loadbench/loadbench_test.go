package loadbench_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/tools/invariants"
	"github.com/orderflow/orderflow/tools/loadbench"
	"github.com/orderflow/orderflow/tools/measure"
)

func TestArrivalIsAFixedScheduleThatDoesNotDrift(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		rate, i int
		want    time.Duration
	}{
		{rate: 100, i: 0, want: 0},
		{rate: 100, i: 1, want: 10 * time.Millisecond},
		{rate: 3, i: 1, want: 333333333},
		// Computed from i, not by adding a rounded interval 3,000 times.
		{rate: 3, i: 3000, want: 1000 * time.Second},
		{rate: 700, i: 7000, want: 10 * time.Second},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, loadbench.Arrival(start, tt.rate, tt.i).Sub(start), "rate %d, order %d", tt.rate, tt.i)
	}
}

func TestTokenSpreadsDeclinesEvenly(t *testing.T) {
	tests := []struct {
		share float64
		n     int
		want  int // declined in every n consecutive orders
	}{
		{0.1, 10, 1},
		{0.25, 4, 1},
		{0, 100, 0},
		{1, 7, 7},
	}
	for _, tt := range tests {
		for from := 0; from < 50; from += 7 { // any window, not only from the start
			declined := 0
			for i := from; i < from+tt.n; i++ {
				if loadbench.Token(i, tt.share) == loadbench.TokenDeclined {
					declined++
				}
			}
			require.Equal(t, tt.want, declined, "share %g, orders %d..%d", tt.share, from, from+tt.n-1)
		}
	}
}

func TestRampFindsTheKnee(t *testing.T) {
	ramp := loadbench.Ramp{Start: 50, Growth: 2, Resolution: 25, Max: 3200, MaxSteps: 10}
	tests := []struct {
		name      string
		capacity  int // steps at or below it pass
		wantRates []int
		wantKnee  int
	}{
		{"doubles, then bisects to the resolution", 500, []int{50, 100, 200, 400, 800, 600, 500, 550, 525}, 500},
		{"a system that fails the first step is bisected downwards", 30, []int{50, 25}, 25},
		{"a slow system gets a knee below the resolution", 15, []int{50, 25, 12}, 12},
		{"nothing passes", 0, []int{50, 25, 12, 6, 3, 1}, 0},
		{"stops at the maximum", 10000, []int{50, 100, 200, 400, 800, 1600, 3200}, 3200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var done []loadbench.Verdict
			for rate, ok := ramp.Next(nil); ok; rate, ok = ramp.Next(done) {
				done = append(done, loadbench.Verdict{Rate: rate, Pass: rate <= tt.capacity})
			}
			var rates []int
			for _, v := range done {
				rates = append(rates, v.Rate)
			}
			require.Equal(t, tt.wantRates, rates)
			require.Equal(t, tt.wantKnee, loadbench.Knee(done))
		})
	}
}

func TestRampStopsAfterMaxSteps(t *testing.T) {
	ramp := loadbench.Ramp{Start: 10, Growth: 1.5, Resolution: 5, Max: 1000, MaxSteps: 3}
	var done []loadbench.Verdict
	for rate, ok := ramp.Next(nil); ok; rate, ok = ramp.Next(done) {
		done = append(done, loadbench.Verdict{Rate: rate, Pass: true})
	}
	require.Equal(t, []loadbench.Verdict{{10, true}, {15, true}, {25, true}}, done, "15 × 1.5 on the grid of 5")
}

func TestKneeIgnoresAPassAboveAFailure(t *testing.T) {
	// Noise can make a higher rate pass after a lower one failed; the knee
	// is what the system sustains, so the lower failure bounds it.
	require.Equal(t, 200, loadbench.Knee([]loadbench.Verdict{{200, true}, {400, false}, {300, false}, {500, true}}))
}

func TestProfilesAreValidAndShortFitsTheBudget(t *testing.T) {
	for _, name := range []string{"short", "long"} {
		cfg, err := loadbench.ProfileNamed(name)
		require.NoError(t, err)
		cfg.GatewayURL, cfg.AdminDSN, cfg.Brokers, cfg.AuthDir = "http://127.0.0.1:8080", "postgres://x", "127.0.0.1:9092", ".data/auth"
		require.Error(t, cfg.Validate(), "without the stores to check")
		cfg.Sources = invariants.SourcesFromEnv()
		require.NoError(t, cfg.Validate(), name)
	}
	// make bench must take under 3 minutes with a build and a start of the
	// services (about 30 s): every step at its longest, bar the settling
	// after failed steps, which the ramp keeps to the few that fail.
	s := loadbench.Short()
	worst := time.Duration(s.Ramp.MaxSteps)*(s.Warmup+s.Step+s.Drain) + s.Warmup + s.HalfKnee + s.Drain + 2*(s.CeilingTime+3*time.Second)
	require.Less(t, worst, 2*time.Minute, "the short profile's steps alone")
	_, err := loadbench.ProfileNamed("medium")
	require.Error(t, err)
}

// results are a run with a knee of 400/s that failed at 800 and 600.
func results() loadbench.Results {
	dist := func(p50, p99 float64) loadbench.Distribution {
		return loadbench.Distribution{
			Summary:  loadbench.Summary{Count: 1000, P50: p50, P90: p99 / 2, P99: p99, P999: p99 * 1.5, Max: p99 * 2},
			Spectrum: []loadbench.Point{{Percent: 0, Ms: p50 / 2}, {Percent: 50, Ms: p50}, {Percent: 99, Ms: p99}, {Percent: 100, Ms: p99 * 2}},
			Bins:     []loadbench.Bin{{FromMs: 0, ToMs: 10, Count: 600}, {FromMs: 10, ToMs: 20, Count: 390}, {FromMs: 20, ToMs: 90, Count: 10}},
		}
	}
	step := func(kind string, rate int, pass bool, p99 float64) loadbench.StepResult {
		s := loadbench.StepResult{Kind: kind, Offered: rate, WindowSeconds: 5, Measured: 5 * rate, Completed: float64(rate),
			Final: dist(10, p99), Paid: dist(9, p99), Cancelled: dist(20, p99), Mutation: dist(3, 8), Pass: pass,
			CPU: map[string]float64{"loadbench": 0.1, "gateway": 0.3, "postgres:order": 0.2, "kafka": 0.2}, CPUBusy: 0.9,
			CPUMsPerOrder:      map[string]float64{"gateway": 300 / float64(rate), "postgres:order": 200 / float64(rate), "kafka": 200 / float64(rate)},
			CPUMsPerOrderTotal: 700 / float64(rate), CPUMsPerOrderBusy: 900 / float64(rate),
			CommitsPerOrder: map[string]float64{"order": 2, "payment": 2, "compensation": 1}, CommitsPerOrderTotal: 5}
		if !pass {
			s.Late = 3
		}
		return s
	}
	return loadbench.Results{
		Knee: 400, OrdersTotal: 9000, OrdersPaid: 8100, OrdersCancelled: 900, CommitsPerOrder: 10,
		CommitsByDatabase: map[string]float64{"orderflow_order": 4, "orderflow_payment": 3, "orderflow_paymentgateway": 1, "orderflow_compensation": 2},
		Ceilings:          loadbench.Ceilings{Writers: 16, PGCommitsPerSec: 6000, KafkaPerSec: 3000, Kafka: loadbench.Summary{P50: 4, P99: 15}},
		Invariants:        loadbench.InvariantsResult{OK: true, Orders: 9000, Charges: 9000},
		Settings:          loadbench.Settings{Profile: "short", StepSeconds: 5, HalfKneeSeconds: 10, P99BoundMs: 100, LateAfterMs: 1000, DeclineShare: 0.1, Connections: 4, Writers: 16, RampGrowth: 2, RampResolution: 25},
		Machine:           measure.Machine{CPUs: 2},
		Hops:              []loadbench.Hop{{Name: "OrderCreated transaction → on Kafka (commit, order relay)", Count: 1800, P50: 4.5, P99: 31}},
		Steps: []loadbench.StepResult{step("ramp", 100, true, 30), step("ramp", 200, true, 40), step("ramp", 400, true, 90),
			step("ramp", 800, false, 3000), step("ramp", 600, false, 400), step("half_knee", 200, true, 22)},
	}
}

func TestFinishDerivesTheHeadlineAndTheVerdicts(t *testing.T) {
	r := results()
	r.Finish()
	require.Equal(t, 200, r.HalfKneeRate)
	require.Equal(t, 9.0, r.P50, "PAID at half the knee")
	require.Equal(t, 22.0, r.P99)
	require.Equal(t, 600.0, r.PGBound, "6,000 commits/s ÷ 10 per order")
	require.InDelta(t, 0.667, r.KneeShare, 0.001)
	require.Equal(t, 400, r.KneeStep, "CPU and commits are the knee's")
	require.Equal(t, 1.75, r.CPUMsPerOrder, "0.7 cores of the system's processes at 400 orders/s")
	require.Equal(t, 2.25, r.CPUMsPerOrderBusy)
	require.Equal(t, 5.0, r.KneeCommitsPerOrder)
	require.Equal(t, loadbench.Targets{Knee: false, P50: true, P99: true, CeilingShare: true, CPU: true, Commits: true,
		NoLoss: true, NoViolation: true}, r.Targets)
	require.True(t, r.OK, "missing a target is not a failed run")

	r.Steps[2].CPUMsPerOrderTotal, r.Steps[2].CommitsPerOrderTotal = 4.5, 6.5
	r.Finish()
	require.False(t, r.Targets.CPU, "4.5 ms per order misses ≤ 4")
	require.False(t, r.Targets.Commits, "6.5 commits per order miss ≤ 6")

	r.OrdersLost = 1
	r.Finish()
	require.False(t, r.OK, "a lost order is")
	r.OrdersLost, r.Invariants.OK = 0, false
	r.Finish()
	require.False(t, r.OK, "so is a violated invariant")
}

func TestJSONHasTheFieldsTheIssueNames(t *testing.T) {
	r := results()
	r.Finish()
	path := filepath.Join(t.TempDir(), "results", "latest.json")
	require.NoError(t, r.WriteJSON(path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	for key, want := range map[string]any{
		"knee_orders_per_second": 400.0, "p50_ms": 9.0, "p99_ms": 22.0, "orders_total": 9000.0, "orders_lost": 0.0,
		"pg_commit_ceiling_tps": 6000.0, "commits_per_order": 10.0, "kafka_roundtrip_p50_ms": 4.0,
		"cpu_ms_per_order": 1.75, "commits_per_order_at_knee": 5.0,
	} {
		require.Equal(t, want, got[key], key)
	}
	require.Len(t, got["steps"], 6)
}

func TestMarkdownIsTheSectionWithTheFiguresAndVerdicts(t *testing.T) {
	r := results()
	r.Command = "go run ./tools/cmd/loadbench -profile short"
	r.Finish()
	md := r.Markdown()
	start, end := measure.Markers(loadbench.SectionName)
	require.True(t, strings.HasPrefix(md, start))
	require.True(t, strings.HasSuffix(strings.TrimSpace(md), end))
	for _, want := range []string{
		"    go run ./tools/cmd/loadbench -profile short\n",
		"| **400 orders/s** | ≥ 500: **NOT met** |",
		"| **9.00 ms** | ≤ 25 ms: **met** |",
		"| 600 orders/s; **67%** | ≥ 40%: **met** |",
		"| 800 | 5s | 4,000 | 800 | 10.0 ms | 3,000 ms | 6,000 ms | 3 | 0 | 0.90 | **fail** |",
		"| half_knee", // not a raw kind name…
	} {
		if want == "| half_knee" {
			require.NotContains(t, md, want)
			continue
		}
		require.Contains(t, md, want)
	}
	require.Contains(t, md, "| OrderCreated transaction → on Kafka (commit, order relay) | 4.50 | 31.0 |")
	// CPU at the knee (400/s) and at the first failure above it (600/s).
	require.Contains(t, md, "| | 400/s | 600/s |")
	require.Contains(t, md, "| gateway | 0.30 | 0.30 |")
	require.NotContains(t, md, "at the first failing step", "no failing-step stages were measured")

	r.FailingRate = 600
	r.FailingHops = []loadbench.Hop{{Name: r.Hops[0].Name, Count: 900, P50: 240, P99: 1900}}
	md = r.Markdown()
	require.Contains(t, md, "at the first failing step (600 orders/s, 900 orders)")
	require.Contains(t, md, "| OrderCreated transaction → on Kafka (commit, order relay) | 4.50 | 31.0 | 240 | 1,900 |")
}

func TestHTMLIsSelfContainedWithTheCharts(t *testing.T) {
	r := results()
	r.Finish()
	page := r.HTML()
	require.True(t, strings.HasPrefix(page, "<!DOCTYPE html>"))
	require.Equal(t, 3, strings.Count(page, "<svg"), "latency against rate, by percentile, histogram")
	require.Equal(t, strings.Count(page, "<svg"), strings.Count(page, "</svg>"))
	require.NotContains(t, page, "<script")
	require.NotContains(t, page, "http://cdn")
	require.NotContains(t, page, "https://")
	require.Contains(t, page, "knee 400/s")
	require.Contains(t, page, "OrderCreated transaction → on Kafka (commit, order relay)")
	require.NotContains(t, page, "NaN")
}
