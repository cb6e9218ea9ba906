package loadbench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/orderflow/orderflow/tools/measure"
)

// Results are a run's figures: the fields the issue names first, then the
// detail behind them. bench/results/latest.json is this, as JSON.
type Results struct {
	// Knee is the highest offered rate at which the p99 stayed within the
	// bound and no order was late or lost.
	Knee int `json:"knee_orders_per_second"`
	// P50 and P99 are from createOrder's scheduled start to the push of
	// PAID, in the run at half the knee.
	P50         float64 `json:"p50_ms"`
	P99         float64 `json:"p99_ms"`
	OrdersTotal int     `json:"orders_total"`
	// OrdersLost are orders whose final status never reached the client
	// (createOrder failed, the subscription broke, or nothing came before
	// the end of the run).
	OrdersLost      int     `json:"orders_lost"`
	PGCommitCeiling float64 `json:"pg_commit_ceiling_tps"`
	// CommitsPerOrder is the service databases' committed transactions
	// (pg_stat_database.xact_commit) over the run, per order that ended.
	CommitsPerOrder float64 `json:"commits_per_order"`
	KafkaP50        float64 `json:"kafka_roundtrip_p50_ms"`

	HalfKneeRate    int      `json:"half_knee_orders_per_second"`
	P999            float64  `json:"p999_ms"`
	KafkaP99        float64  `json:"kafka_roundtrip_p99_ms"`
	KafkaPerSec     float64  `json:"kafka_roundtrips_per_second"`
	OrdersPaid      int      `json:"orders_paid"`
	OrdersCancelled int      `json:"orders_cancelled"`
	LostErrors      []string `json:"lost_errors,omitempty"` // the first few
	// PGBound is the orders/s the commit ceiling would allow at this many
	// commits per order; KneeShare is the knee as a share of it.
	PGBound           float64            `json:"pg_bound_orders_per_second"`
	KneeShare         float64            `json:"knee_share_of_pg_bound"`
	CommitsByDatabase map[string]float64 `json:"commits_per_order_by_database"`
	// KneeStep is the offered rate whose CPU and commits the next fields
	// give: the knee's step (the highest that passed), or the run at half
	// the knee if no step passed.
	KneeStep int `json:"cpu_and_commits_at_orders_per_second"`
	// CPUMsPerOrder sums the system's processes' CPU per order at KneeStep
	// (not the load generator); CPUMsPerOrderBusy is the whole machine's.
	CPUMsPerOrder          float64            `json:"cpu_ms_per_order"`
	CPUMsPerOrderBusy      float64            `json:"cpu_ms_per_order_busy"`
	CPUMsPerOrderByProcess map[string]float64 `json:"cpu_ms_per_order_by_process"`
	// KneeCommitsPerOrder is the service databases' commits per order at
	// KneeStep, in total and by service.
	KneeCommitsPerOrder          float64            `json:"commits_per_order_at_knee"`
	KneeCommitsPerOrderByService map[string]float64 `json:"commits_per_order_at_knee_by_service"`
	// KafkaRequestsPerOrder is the broker's requests per order at
	// KneeStep, in total and by request type.
	KafkaRequestsPerOrder       float64            `json:"kafka_requests_per_order"`
	KafkaRequestsPerOrderByType map[string]float64 `json:"kafka_requests_per_order_by_type,omitempty"`

	Targets    Targets          `json:"targets"`
	Invariants InvariantsResult `json:"invariants"`
	// OK is false when an order was lost or an invariant violated: a
	// failed run, whatever the figures.
	OK bool `json:"ok"`

	Started  time.Time       `json:"started"`
	Command  string          `json:"command,omitempty"`
	Revision string          `json:"revision,omitempty"`
	Settings Settings        `json:"settings"`
	Machine  measure.Machine `json:"machine"`
	Ceilings Ceilings        `json:"ceilings"`
	Steps    []StepResult    `json:"steps"` // the ramp's, in the order run, then the one at half the knee
	// Hops split the way of the PAID orders at half the knee into stages.
	Hops []Hop `json:"hops_at_half_knee"`
	// FailingHops split the way of the PAID orders of the lowest failing
	// ramp step the same way: which stage gave out first.
	FailingHops []Hop `json:"hops_at_first_failing_step,omitempty"`
	// FailingRate is that step's offered rate (0: every step passed).
	FailingRate int `json:"first_failing_rate,omitempty"`
}

// Settings are the parts of the Config the figures depend on.
type Settings struct {
	Profile         string  `json:"profile"`
	PrimeSeconds    float64 `json:"prime_seconds"`
	WarmupSeconds   float64 `json:"warmup_seconds"`
	StepSeconds     float64 `json:"step_seconds"`
	HalfKneeSeconds float64 `json:"half_knee_seconds"`
	P99BoundMs      float64 `json:"p99_bound_ms"`
	LateAfterMs     float64 `json:"late_after_ms"`
	DeclineShare    float64 `json:"decline_share"`
	Connections     int     `json:"websocket_connections"`
	Writers         int     `json:"ceiling_writers"`
	RampGrowth      float64 `json:"ramp_growth"`
	RampResolution  int     `json:"ramp_resolution"`
}

func settingsOf(c Config) Settings {
	return Settings{Profile: c.Profile, PrimeSeconds: c.Prime.Seconds(), WarmupSeconds: c.Warmup.Seconds(), StepSeconds: c.Step.Seconds(),
		HalfKneeSeconds: c.HalfKnee.Seconds(), P99BoundMs: msOf(c.P99Bound), LateAfterMs: msOf(c.LateAfter),
		DeclineShare: c.DeclineShare, Connections: c.Connections, Writers: c.Writers,
		RampGrowth: c.Ramp.Growth, RampResolution: c.Ramp.Resolution}
}

// Targets says which of the targets the run met.
type Targets struct {
	Knee         bool `json:"knee_at_least_500"`
	P50          bool `json:"p50_at_most_25ms"`
	P99          bool `json:"p99_at_most_100ms"`
	CeilingShare bool `json:"at_least_40_percent_of_pg_bound"`
	CPU          bool `json:"cpu_at_most_4ms_per_order"`
	Commits      bool `json:"commits_at_most_6_per_order"`
	NoLoss       bool `json:"no_order_lost"`
	NoViolation  bool `json:"no_invariant_violated"`
}

// All reports whether every target was met.
func (t Targets) All() bool {
	return t.Knee && t.P50 && t.P99 && t.CeilingShare && t.CPU && t.Commits && t.NoLoss && t.NoViolation
}

// InvariantsResult is what the invariant checker found after the run.
type InvariantsResult struct {
	OK             bool     `json:"ok"`
	Orders         int      `json:"orders_checked"`
	Charges        int      `json:"charges_checked"`
	ViolationCount int      `json:"violation_count"`
	Violations     []string `json:"violations,omitempty"` // the first few
}

// kneeStep returns the highest ramp step that passed, or else the run at
// half the knee.
func (r Results) kneeStep() (StepResult, bool) {
	var best *StepResult
	for i, s := range r.Steps {
		if s.Kind == "ramp" && s.Pass && (best == nil || s.Offered > best.Offered) {
			best = &r.Steps[i]
		}
	}
	if best != nil {
		return *best, true
	}
	return r.HalfKneeStep()
}

// HalfKneeStep returns the run at half the knee, if there was one.
func (r Results) HalfKneeStep() (StepResult, bool) {
	for _, s := range r.Steps {
		if s.Kind == "half_knee" {
			return s, true
		}
	}
	return StepResult{}, false
}

// tally counts every order of every step, warm-ups included, once they
// have all ended.
func (r *Results) tally(runs []*stepRun) {
	for _, s := range runs {
		r.Steps = append(r.Steps, s.result)
		for _, o := range s.orders {
			r.OrdersTotal++
			switch {
			case !s.received[o] || o.err != nil || o.status == "":
				r.OrdersLost++
				if len(r.LostErrors) < maxErrors && o.err != nil && s.received[o] {
					r.LostErrors = append(r.LostErrors, o.err.Error())
				}
			case o.status == "PAID":
				r.OrdersPaid++
			default:
				r.OrdersCancelled++
			}
		}
	}
}

// commits turns the transaction counts before and after the load into
// commits per order that ended.
func (r *Results) commits(before, after map[string]int64) {
	ended := float64(r.OrdersPaid + r.OrdersCancelled)
	if ended == 0 {
		return
	}
	r.CommitsByDatabase = map[string]float64{}
	var total int64
	for db, n := range after {
		total += n - before[db]
		r.CommitsByDatabase[db] = float64(n-before[db]) / ended
	}
	r.CommitsPerOrder = float64(total) / ended
}

// Finish derives the headline figures and the verdicts from the rest.
func (r *Results) Finish() {
	c := r.Ceilings
	r.PGCommitCeiling, r.KafkaP50, r.KafkaP99, r.KafkaPerSec = c.PGCommitsPerSec, c.Kafka.P50, c.Kafka.P99, c.KafkaPerSec
	if r.CommitsPerOrder > 0 {
		r.PGBound = r.PGCommitCeiling / r.CommitsPerOrder
		r.KneeShare = float64(r.Knee) / r.PGBound
	}
	if s, ok := r.HalfKneeStep(); ok {
		r.HalfKneeRate, r.P50, r.P99, r.P999 = s.Offered, s.Paid.P50, s.Paid.P99, s.Paid.P999
	}
	if s, ok := r.kneeStep(); ok {
		r.KneeStep = s.Offered
		r.CPUMsPerOrder, r.CPUMsPerOrderBusy, r.CPUMsPerOrderByProcess = s.CPUMsPerOrderTotal, s.CPUMsPerOrderBusy, s.CPUMsPerOrder
		r.KneeCommitsPerOrder, r.KneeCommitsPerOrderByService = s.CommitsPerOrderTotal, s.CommitsPerOrder
		r.KafkaRequestsPerOrder, r.KafkaRequestsPerOrderByType = s.KafkaRequestsPerOrderTotal, s.KafkaRequestsPerOrder
	}
	r.Targets = Targets{
		Knee:         r.Knee >= TargetKneePerSec,
		P50:          r.HalfKneeRate > 0 && r.P50 <= msOf(TargetP50),
		P99:          r.HalfKneeRate > 0 && r.P99 <= msOf(TargetP99),
		CeilingShare: r.KneeShare >= TargetCeilingShare,
		CPU:          r.KneeStep > 0 && r.CPUMsPerOrder <= TargetCPUMsPerOrder,
		Commits:      r.KneeStep > 0 && r.KneeCommitsPerOrder > 0 && r.KneeCommitsPerOrder <= TargetCommitsPerOrder,
		NoLoss:       r.OrdersLost == 0,
		NoViolation:  r.Invariants.OK,
	}
	r.OK = r.Targets.NoLoss && r.Targets.NoViolation
}

// WriteJSON writes the results to path, creating its folder.
func (r Results) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(path, append(b, '\n'))
}

func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// cpuGroups returns the groups of CPU use in the order the report lists
// them: the generator, the services, Postgres, the rest.
func cpuGroups(uses ...map[string]float64) []string {
	seen := map[string]bool{}
	for _, u := range uses {
		for g := range u {
			seen[g] = true
		}
	}
	rank := func(g string) int {
		switch {
		case g == "loadbench":
			return 0
		case slices.Contains(services, g):
			return 1
		case strings.HasPrefix(g, "postgres"):
			return 2
		}
		return 3
	}
	out := make([]string, 0, len(seen))
	for g := range seen {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool {
		if ri, rj := rank(out[i]), rank(out[j]); ri != rj {
			return ri < rj
		}
		return out[i] < out[j]
	})
	return out
}
