package loadbench

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/platform/auth"
	"github.com/orderflow/orderflow/tools/invariants"
	"github.com/orderflow/orderflow/tools/measure"
)

// runner offers the load.
type runner struct {
	cfg       Config
	gw        *gateway
	customers []customer
	orders    int // started so far, over every step
	log       *slog.Logger
}

// Run measures the ceilings, runs the ramp and the step at half the knee
// against the running system, waits for every order to end, and checks the
// invariants. An error means the benchmark could not run; lost orders and
// violations are in the Results (see OK).
func Run(ctx context.Context, cfg Config, log *slog.Logger) (Results, error) {
	res := Results{Started: time.Now().UTC(), Settings: settingsOf(cfg)}
	if err := cfg.Validate(); err != nil {
		return res, err
	}
	if err := ready(ctx, cfg.GatewayURL); err != nil {
		return res, err
	}
	admin, err := pgx.Connect(ctx, cfg.AdminDSN)
	if err != nil {
		return res, fmt.Errorf("connect admin: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if res.Machine, err = measure.DescribeMachine(ctx, admin); err != nil {
		return res, err
	}

	// The ceilings first, while the services are idle.
	if res.Ceilings, err = measureCeilings(ctx, cfg, log); err != nil {
		return res, err
	}

	customers, adminToken, err := newCustomers(cfg.AuthDir, 1000)
	if err != nil {
		return res, err
	}
	gw, err := openGateway(ctx, cfg.GatewayURL, cfg.Connections, adminToken)
	if err != nil {
		return res, err
	}
	defer gw.close()
	r := &runner{cfg: cfg, gw: gw, customers: customers, log: log}
	if err := r.prime(ctx); err != nil {
		return res, err
	}
	commits0, err := commitCounts(ctx, admin, ServiceDatabases)
	if err != nil {
		return res, err
	}

	// Orders live until every one has ended or the settle time is over,
	// across steps: a late order of one step is still waited for.
	orderCtx, endOrders := context.WithCancel(ctx)
	defer endOrders()
	var runs []*stepRun
	var verdicts []Verdict
	for rate, ok := cfg.Ramp.Start, true; ok; rate, ok = cfg.Ramp.Next(verdicts) {
		s, err := r.runStep(ctx, orderCtx, "ramp", rate, cfg.Warmup, cfg.Step)
		if err != nil {
			return res, err
		}
		runs = append(runs, s)
		verdicts = append(verdicts, Verdict{Rate: rate, Pass: s.result.Pass})
		r.logStep(s.result)
	}
	res.Knee = Knee(verdicts)
	half := max(res.Knee/2, 1)
	if res.Knee == 0 {
		half = max(cfg.Ramp.Resolution/2, 1)
	}
	s, err := r.runStep(ctx, orderCtx, "half_knee", half, cfg.Warmup, cfg.HalfKnee)
	if err != nil {
		return res, err
	}
	runs = append(runs, s)
	r.logStep(s.result)

	settle(ctx, runs, time.Now().Add(cfg.Settle))
	endOrders()
	settle(ctx, runs, time.Now().Add(10*time.Second)) // each order now ends at once, with an error if it had not
	time.Sleep(2 * time.Second)                       // backends report their statistics about once a second
	commits1, err := commitCounts(ctx, admin, ServiceDatabases)
	if err != nil {
		return res, err
	}

	res.tally(runs)
	res.commits(commits0, commits1)
	log.Info("orders", "total", res.OrdersTotal, "paid", res.OrdersPaid, "cancelled", res.OrdersCancelled, "lost", res.OrdersLost,
		"commits_per_order", fmt.Sprintf("%.1f", res.CommitsPerOrder))

	if res.Hops, err = measureHops(ctx, cfg, runs[len(runs)-1], log); err != nil {
		return res, err
	}
	if f := firstFailing(runs[:len(runs)-1]); f != nil {
		res.FailingRate = f.result.Offered
		if res.FailingHops, err = measureHops(ctx, cfg, f, log); err != nil {
			return res, err
		}
	}
	report, err := invariants.Check(ctx, cfg.Sources)
	if err != nil {
		return res, fmt.Errorf("invariants: %w", err)
	}
	var out strings.Builder
	report.Print(&out)
	log.Info("invariants\n" + out.String())
	res.Invariants = InvariantsResult{OK: report.OK(), Orders: report.Orders, Charges: report.Charges,
		ViolationCount: len(report.Violations), Violations: report.Violations[:min(len(report.Violations), 20)]}
	res.Finish()
	return res, nil
}

// firstFailing returns the failing ramp step of the lowest rate, or nil.
func firstFailing(ramp []*stepRun) *stepRun {
	var low *stepRun
	for _, s := range ramp {
		if !s.result.Pass && (low == nil || s.result.Offered < low.result.Offered) {
			low = s
		}
	}
	return low
}

// prime runs the unmeasured warm-up before the ramp (Config.Prime) and
// waits for its orders to end.
func (r *runner) prime(ctx context.Context) error {
	if r.cfg.Prime == 0 {
		return nil
	}
	rate := max(r.cfg.Ramp.Start/2, 1)
	r.log.Info("warming the system up", "orders_per_sec", rate, "seconds", r.cfg.Prime.Seconds())
	orderCtx, endOrders := context.WithCancel(ctx)
	defer endOrders()
	s, err := r.runStep(ctx, orderCtx, "prime", rate, 0, r.cfg.Prime)
	if err != nil {
		return err
	}
	settle(ctx, []*stepRun{s}, time.Now().Add(r.cfg.Settle))
	return ctx.Err()
}

// settle receives the orders of every step until all have ended or the
// deadline passes.
func settle(ctx context.Context, runs []*stepRun, deadline time.Time) {
	for _, s := range runs {
		s.collect(ctx, deadline)
	}
}

func (r *runner) logStep(s StepResult) {
	r.log.Info("step", "kind", s.Kind, "offered", s.Offered, "measured", s.Measured,
		"completed_per_sec", fmt.Sprintf("%.0f", s.Completed), "p50_ms", s.Final.P50, "p99_ms", s.Final.P99,
		"max_ms", s.Final.Max, "late", s.Late, "failed", s.Failed, "pass", s.Pass, "cpu_busy", fmt.Sprintf("%.2f", s.CPUBusy),
		"max_send_lag_ms", s.MaxSendLagMs, "errors", s.Errors)
}

// ready checks that the gateway answers /readyz.
// customer is one of the load's customers, with its token.
type customer struct{ id, token string }

// tokenTTL outlasts the longest profile.
const tokenTTL = 6 * time.Hour

// newCustomers makes n customers and an admin, with tokens of the
// development issuer in authDir, which the gateway of make run trusts (the
// token tool's issuer).
func newCustomers(authDir string, n int) ([]customer, string, error) {
	dev, err := auth.OpenDev(authDir)
	if err != nil {
		return nil, "", err
	}
	out := make([]customer, n)
	for i := range out {
		c := customer{id: uuid.NewString()}
		if c.token, err = dev.Issuer.Token(auth.TokenRequest{Customer: c.id, TTL: tokenTTL}); err != nil {
			return nil, "", err
		}
		out[i] = c
	}
	admin, err := dev.Issuer.Token(auth.TokenRequest{Customer: uuid.NewString(), Admin: true, TTL: tokenTTL})
	return out, admin, err
}

func ready(ctx context.Context, baseURL string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(baseURL, "/")+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("answered %d", resp.StatusCode)
		}
	}
	if err != nil {
		return fmt.Errorf("the gateway at %s is not ready (start the system with make run): %w", baseURL, err)
	}
	return nil
}
