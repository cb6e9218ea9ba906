package loadbench

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/tools/measure"
)

// StepResult is what one offered rate gave. Figures count the orders
// scheduled inside the measured window; those of the warm-up ran but are
// not counted here.
type StepResult struct {
	Kind          string  `json:"kind"` // "ramp", or "half_knee" for the run at half the knee
	Offered       int     `json:"offered_per_second"`
	WindowSeconds float64 `json:"window_seconds"`
	Measured      int     `json:"orders_measured"`
	// Completed is the measured orders whose final status was pushed
	// before the step's drain ended, per second of the window.
	Completed       float64 `json:"completed_per_second"`
	OrdersPaid      int     `json:"orders_paid"`
	OrdersCancelled int     `json:"orders_cancelled"`
	// Late orders had their final status pushed more than LateAfter after
	// their scheduled start, or not before the step's drain ended.
	Late int `json:"orders_late"`
	// Failed orders got an error: from createOrder, the subscription, or
	// the end of the run without a final status.
	Failed int `json:"orders_failed"`
	// Final is from the scheduled start to the push of PAID or CANCELLED;
	// Paid and Cancelled split it; Mutation ends at createOrder's answer.
	Final, Paid, Cancelled, Mutation Distribution
	// MaxSendLagMs is how late the generator itself sent an order after its
	// scheduled start: large values mean the generator was starved of CPU.
	MaxSendLagMs float64            `json:"max_send_lag_ms"`
	CPU          map[string]float64 `json:"cpu_cores"`
	CPUBusy      float64            `json:"cpu_busy_cores"`
	// CPUMsPerOrder is each process group's CPU time per order of the
	// window (ms); CPUMsPerOrderTotal sums the system's processes (the
	// services, Postgres, Kafka, NATS, Redis: not the load generator),
	// CPUMsPerOrderBusy is all of the machine's busy time, kernel and
	// generator included.
	CPUMsPerOrder      map[string]float64 `json:"cpu_ms_per_order"`
	CPUMsPerOrderTotal float64            `json:"cpu_ms_per_order_total"`
	CPUMsPerOrderBusy  float64            `json:"cpu_ms_per_order_busy"`
	// CommitsPerOrder is each service database's committed transactions
	// during the window per order of the window; CommitsPerOrderTotal sums
	// them.
	CommitsPerOrder      map[string]float64 `json:"commits_per_order"`
	CommitsPerOrderTotal float64            `json:"commits_per_order_total"`
	// KafkaRequestsPerOrder is the broker's requests per order of the
	// window, by request type (JMX RequestMetrics); Total sums them.
	KafkaRequestsPerOrder      map[string]float64 `json:"kafka_requests_per_order,omitempty"`
	KafkaRequestsPerOrderTotal float64            `json:"kafka_requests_per_order_total,omitempty"`
	Pass                       bool               `json:"pass"`
	// StoppedEarly says the step stopped offering load once a measured
	// order was late: its verdict was known, and more would only have
	// built a backlog. Its window ends there.
	StoppedEarly bool     `json:"stopped_early,omitempty"`
	Errors       []string `json:"errors,omitempty"` // the first few
}

// stepRun is a step whose orders may still be in flight.
type stepRun struct {
	result   StepResult
	window   measure.Window
	orders   []*outcome
	results  chan *outcome
	received map[*outcome]bool
}

// runStep offers rate orders per second for warmup and then window, on a
// fixed schedule, and waits up to the drain for the orders to end. Orders
// still in flight go on after it returns: settle collects them.
func (r *runner) runStep(ctx, orderCtx context.Context, kind string, rate int, warmup, window time.Duration) (*stepRun, error) {
	start := time.Now().Add(20 * time.Millisecond)
	stop := make(chan struct{}) // closed if the step stops early
	w := measure.Window{Start: start.Add(warmup), End: start.Add(warmup + window), Stop: stop}
	s := &stepRun{
		result:   StepResult{Kind: kind, Offered: rate, WindowSeconds: window.Seconds()},
		window:   w,
		results:  make(chan *outcome, int((warmup+window).Seconds()*float64(rate))+2),
		received: map[*outcome]bool{},
	}
	cpu := measure.WatchCPU(ctx, w, classify)
	commits := r.watchCommits(ctx, w)
	requests := watchKafkaRequests(ctx, w, float64(rate), r.log)
	oldest := 0 // the first order that may still be in flight
	for i := 0; ; i++ {
		at := Arrival(start, rate, i)
		if !at.Before(w.End) {
			break
		}
		if !measure.SleepUntil(ctx, at) {
			return nil, ctx.Err()
		}
		// A measured order already late decides the verdict: more load
		// would only build a backlog that delays the next step.
		for oldest < len(s.orders) && s.orders[oldest].done.Load() {
			oldest++
		}
		if oldest < len(s.orders) && w.Contains(s.orders[oldest].intended) && time.Since(s.orders[oldest].intended) > r.cfg.LateAfter {
			s.window.End, s.result.StoppedEarly = at, true
			s.result.WindowSeconds = s.window.Seconds()
			close(stop) // CPU, commits and requests are measured up to here
			break
		}
		token := Token(r.orders, r.cfg.DeclineShare)
		r.orders++
		o := &outcome{intended: at, declined: token == TokenDeclined}
		s.orders = append(s.orders, o)
		customer := r.customers[r.orders%len(r.customers)]
		input := map[string]any{
			"customerId":     customer.id,
			"currency":       "EUR",
			"paymentMethod":  token,
			"idempotencyKey": uuid.NewString(),
			"items":          []map[string]any{{"sku": "bench-book", "quantity": 1 + r.orders%3, "unitPrice": 1250}},
		}
		go func() {
			r.gw.placeOrder(orderCtx, o, customer.token, input)
			o.done.Store(true)
			s.results <- o
		}()
	}
	s.collect(ctx, time.Now().Add(r.cfg.Drain))
	use := cpu()
	s.result.CPU, s.result.CPUBusy = use.Groups, use.Busy
	s.perOrder(commits())
	s.result.KafkaRequestsPerOrder = requests()
	for _, n := range s.result.KafkaRequestsPerOrder {
		s.result.KafkaRequestsPerOrderTotal += n
	}
	s.summarise(r.cfg)
	if !s.result.Pass {
		// Let the system work off the backlog, so that the next step
		// starts from an idle system.
		s.collect(ctx, time.Now().Add(r.cfg.Settle))
		measure.SleepUntil(ctx, time.Now().Add(time.Second))
	}
	return s, ctx.Err()
}

// perOrder divides the window's CPU and commits by the orders it offered
// (at a passing step, the orders it handled).
func (s *stepRun) perOrder(commits map[string]int64) {
	orders := float64(s.result.Offered) * s.window.Seconds()
	if orders <= 0 {
		return
	}
	r := &s.result
	r.CPUMsPerOrder = map[string]float64{}
	for g, cores := range r.CPU {
		ms := cores * s.window.Seconds() * 1000 / orders
		r.CPUMsPerOrder[g] = ms
		if g != "loadbench" {
			r.CPUMsPerOrderTotal += ms
		}
	}
	r.CPUMsPerOrderBusy = r.CPUBusy * s.window.Seconds() * 1000 / orders
	if commits == nil {
		return
	}
	r.CommitsPerOrder = map[string]float64{}
	for db, n := range commits {
		r.CommitsPerOrder[db] = float64(n) / orders
		r.CommitsPerOrderTotal += float64(n) / orders
	}
}

// watchCommits counts the service databases' commits during w; wait
// returns them (nil if they could not be read). It has a connection of its
// own: the runner's is not safe for concurrent use.
func (r *runner) watchCommits(ctx context.Context, w measure.Window) (wait func() map[string]int64) {
	done := make(chan map[string]int64, 1)
	go func() {
		var out map[string]int64
		defer func() { done <- out }()
		conn, err := pgx.Connect(ctx, r.cfg.AdminDSN)
		if err != nil {
			r.log.Warn("commits per step: connect", "err", err)
			return
		}
		defer conn.Close(context.WithoutCancel(ctx))
		if !measure.SleepUntil(ctx, w.Start) {
			return
		}
		before, err := commitCounts(ctx, conn, ServiceDatabases)
		if err != nil {
			r.log.Warn("commits per step", "err", err)
			return
		}
		// Backends report their statistics about once a second, which
		// blurs both ends of the window alike.
		if _, ok := w.SleepToEnd(ctx); !ok {
			return
		}
		after, err := commitCounts(ctx, conn, ServiceDatabases)
		if err != nil {
			r.log.Warn("commits per step", "err", err)
			return
		}
		out = map[string]int64{}
		for db, n := range after {
			out[strings.TrimPrefix(db, "orderflow_")] = n - before[db]
		}
	}()
	return func() map[string]int64 { return <-done }
}

// collect receives finished orders until all are in or deadline passes.
func (s *stepRun) collect(ctx context.Context, deadline time.Time) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for len(s.received) < len(s.orders) {
		select {
		case o := <-s.results:
			s.received[o] = true
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

const maxErrors = 5

// summarise computes the step's figures from the orders received so far.
func (s *stepRun) summarise(cfg Config) {
	final, paid, cancelled, mutation := newHistogram(), newHistogram(), newHistogram(), newHistogram()
	res := &s.result
	res.Measured, res.Late, res.Failed, res.OrdersPaid, res.OrdersCancelled, res.Errors = 0, 0, 0, 0, 0, nil
	var maxLag time.Duration
	completed := 0
	for _, o := range s.orders {
		if !s.window.Contains(o.intended) {
			continue
		}
		res.Measured++
		if !s.received[o] {
			res.Late++
			continue
		}
		maxLag = max(maxLag, o.sendLag)
		if o.created > 0 {
			record(mutation, o.created)
		}
		if o.err != nil || o.status == "" {
			res.Failed++
			if len(res.Errors) < maxErrors && o.err != nil {
				res.Errors = append(res.Errors, o.err.Error())
			}
			continue
		}
		completed++
		record(final, o.final)
		if o.status == "PAID" {
			res.OrdersPaid++
			record(paid, o.final)
		} else {
			res.OrdersCancelled++
			record(cancelled, o.final)
		}
		if o.final > cfg.LateAfter {
			res.Late++
		}
	}
	res.Completed = float64(completed) / s.window.Seconds()
	res.MaxSendLagMs = ms(maxLag.Microseconds())
	res.Final, res.Paid, res.Cancelled = distribution(final, 40), distribution(paid, 40), distribution(cancelled, 0)
	res.Mutation = distribution(mutation, 0)
	res.Pass = passes(*res, cfg.P99Bound)
}

// passes is the knee's criterion: orders were measured, none was late or
// failed, and the p99 of all of them stayed within the bound.
func passes(r StepResult, bound time.Duration) bool {
	return r.Measured > 0 && r.Late == 0 && r.Failed == 0 && r.Final.Count == int64(r.Measured) &&
		r.Final.P99 <= float64(bound)/float64(time.Millisecond)
}
