package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/e2e/harness"
	pspclient "github.com/orderflow/orderflow/paymentgateway/client"
	"github.com/orderflow/orderflow/tools/invariants"
	"github.com/orderflow/orderflow/tools/measure"
)

// Config sets up a run. Short and Long give the defaults.
type Config struct {
	Profile string
	Seed    uint64
	// Faults are the faults of every pass; nil: the profile's.
	Faults []Fault
	// Duration is the least length of the schedule: passes repeat until
	// it is reached (0: one pass).
	Duration  time.Duration
	Rate      int // orders offered per second
	Customers int
	// Hold is how long each fault lasts, Gap the quiet time after each
	// fault's recovery; Warmup is the load before the first fault, Tail
	// after the last.
	Hold, Gap, Warmup, Tail time.Duration
	// Settle is how long, after everything is healed, every order has to
	// reach PAID or CANCELLED.
	Settle time.Duration
}

// Short is the profile of make test: every kind of fault once (each
// network fault on a link the seed picks), short holds, 8 orders/s;
// about four minutes on two cores.
func Short() Config {
	return Config{Profile: "short", Seed: 1, Rate: 8, Customers: 16,
		Hold: 4 * time.Second, Gap: 3 * time.Second, Warmup: 5 * time.Second, Tail: 5 * time.Second, Settle: 60 * time.Second}
}

// Long is the profile of make chaos: every fault on every link, longer
// holds, 10 orders/s; passes repeat until Duration.
func Long() Config {
	c := Short()
	c.Profile, c.Rate = "long", 10
	c.Hold, c.Gap, c.Warmup, c.Tail = 10*time.Second, 5*time.Second, 10*time.Second, 10*time.Second
	c.Faults = All()
	return c
}

// ProfileNamed returns the profile called name.
func ProfileNamed(name string) (Config, error) {
	switch name {
	case "short", "":
		return Short(), nil
	case "long":
		return Long(), nil
	}
	return Config{}, errors.New("unknown chaos profile " + name + ": short or long")
}

// Run loads the system, applies the schedule, heals, waits and judges. It
// fails the test only when it cannot go on (a check that cannot read its
// source); violations are in the report, for the caller to write first.
func Run(t *testing.T, sys *harness.System, cfg Config) Report {
	t.Helper()
	began := time.Now()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xc4a05))
	faults := cfg.Faults
	if faults == nil {
		faults = EveryKindOnce(rng)
	}
	steps := Schedule(cfg.Seed, faults, cfg.Hold, cfg.Gap, cfg.Duration, sys.Replicas)
	var names []string
	for _, st := range steps {
		names = append(names, st.Fault.String())
	}
	t.Logf("chaos: profile %s, seed %d, %d orders/s, %d steps: %s", cfg.Profile, cfg.Seed, cfg.Rate, len(steps), strings.Join(names, " "))

	gw := gateways{http: &http.Client{Timeout: 10 * time.Second}}
	for _, name := range sys.Replicas("gateway") {
		gw.urls = append(gw.urls, sys.URL(name))
	}
	l := &load{gw: gw, rate: cfg.Rate, rng: rng, logf: t.Logf}
	for range cfg.Customers {
		id := uuid.NewString()
		l.customers = append(l.customers, customer{id: id, token: sys.Token(id, false)})
	}
	ctx := context.Background()
	resume, err := supportsResume(ctx, gw.api(0, l.customers[0].token))
	if err != nil {
		t.Fatalf("introspection: %v", err)
	}
	l.resume = resume
	t.Logf("chaos: orderStatusChanged takes afterVersion: %v", resume)

	rep := Report{Started: began, Profile: cfg.Profile, Seed: cfg.Seed, Rate: cfg.Rate, Resume: resume,
		Replicas: map[string][]string{}, SettleSeconds: cfg.Settle.Seconds()}
	for _, svc := range harness.Services {
		rep.Replicas[svc] = sys.Replicas(svc)
	}

	start := time.Now()
	n := &nemesis{sys: sys, start: start, gap: cfg.Gap, logf: t.Logf, restarted: map[string]bool{}}
	loadCtx, stopLoad := context.WithCancel(ctx)
	loadDone := make(chan struct{})
	go func() { l.run(loadCtx, start); close(loadDone) }()
	sleep(ctx, cfg.Warmup)
	n.run(ctx, steps)
	sleep(ctx, cfg.Tail)
	stopLoad()
	<-loadDone
	rep.LoadEnd = time.Since(start).Seconds()

	t.Log("chaos: healing")
	if err := n.heal(ctx); err != nil {
		rep.Violations = append(rep.Violations, "heal: "+err.Error())
	}
	if n.restarted["redis"] {
		// Redis keeps nothing (scripts/infra.sh runs it without
		// persistence): a restart empties every read model, and the
		// gateway does not notice. The documented remedy: stop the
		// gateways, rebuild-readmodels, start them.
		if err := rebuildReadModels(ctx, sys); err != nil {
			rep.Violations = append(rep.Violations, "rebuild read models: "+err.Error())
		}
		rep.ReadModelsRebuilt = true
	}
	healed := time.Now()
	rep.Healed = healed.Sub(start).Seconds()
	l.giveUp.Store(healed.Add(cfg.Settle).UnixNano())

	// Every order final within Settle, and every subscriber at its order's
	// last change.
	var stored map[string]*storedOrder
	for {
		stored, err = readStoredOrders(ctx, sys.DSN("order"))
		if err != nil {
			t.Fatalf("read the order store: %v", err)
		}
		if (allFinal(stored) && allFollowed(l.snapshot())) || time.Since(healed) > cfg.Settle {
			break
		}
		time.Sleep(time.Second)
	}
	rep.Settled = time.Since(start).Seconds()
	l.giveUp.Store(time.Now().UnixNano())
	l.wg.Wait()
	t.Logf("chaos: settled %.0f s after healing", time.Since(healed).Seconds())

	rep.judge(ctx, t, sys, l, stored, gw)
	rep.Faults = n.snapshot()
	rep.Logged = countLogged(sys)
	rep.series(start, l)
	if sys.Balancer != nil {
		rep.BalancerRequests = sys.Balancer.Requests()
	}
	rep.details(ctx, sys, start)
	rep.WallSeconds = time.Since(began).Seconds()
	rep.OK = len(rep.Violations) == 0
	return rep
}

func allFinal(stored map[string]*storedOrder) bool {
	for _, o := range stored {
		if o.status != "PAID" && o.status != "CANCELLED" {
			return false
		}
	}
	return true
}

func allFollowed(orders []*order) bool {
	for _, o := range orders {
		o.mu.Lock()
		ok := o.id == "" || o.done
		o.mu.Unlock()
		if !ok {
			return false
		}
	}
	return true
}

// rebuildReadModels stops the gateways, runs rebuild-readmodels, and
// starts them again.
func rebuildReadModels(ctx context.Context, sys *harness.System) error {
	gws := sys.Replicas("gateway")
	for _, g := range gws {
		if err := sys.Terminate(g); err != nil {
			return err
		}
	}
	cmd := exec.Command(sys.Bin("rebuild-readmodels"))
	cmd.Env = append(cmd.Environ(), sys.Env("gateway")...)
	out, err := cmd.CombinedOutput()
	var errs []error
	if err != nil {
		errs = append(errs, fmt.Errorf("rebuild-readmodels: %w: %s", err, out))
	}
	for _, g := range gws {
		if err := sys.Launch(ctx, g); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// judge runs every check and records the violations.
func (r *Report) judge(ctx context.Context, t *testing.T, sys *harness.System, l *load, stored map[string]*storedOrder, gw gateways) {
	t.Helper()
	violate := func(format string, args ...any) { r.Violations = append(r.Violations, fmt.Sprintf(format, args...)) }
	orders := l.snapshot()
	r.Offered, r.Stored, r.ByStatus = len(orders), len(stored), map[string]int{}
	var acks, finals []time.Duration
	for _, o := range orders {
		o.mu.Lock()
		r.CreateAttempts += o.attempts
		if o.id == "" {
			r.Unacknowledged++
		} else {
			r.Acknowledged++
			acks = append(acks, o.acked.Sub(o.intended))
			if _, ok := stored[o.id]; !ok {
				r.Lost++
				r.LostIDs = append(r.LostIDs, o.id)
			}
			if len(o.ids) > 1 {
				r.IdempotencyBroken++
				violate("idempotency key %s answered with %d order ids", o.key, len(o.ids))
			}
			if !o.final.IsZero() {
				finals = append(finals, o.final.Sub(o.intended))
			}
		}
		o.mu.Unlock()
	}
	r.Ack, r.Final = percentiles(acks), percentiles(finals)
	if r.Lost > 0 {
		violate("%d acknowledged orders are not in the order store: %v", r.Lost, r.LostIDs)
	}
	r.CancelReasons = map[string]int{}
	for id, o := range stored {
		r.ByStatus[o.status]++
		if o.status == "CANCELLED" {
			r.CancelReasons[o.reason]++
		}
		if o.status != "PAID" && o.status != "CANCELLED" {
			r.NotTerminal++
			r.NotTerminalIDs = append(r.NotTerminalIDs, id+" "+o.status)
		}
	}
	slices.Sort(r.NotTerminalIDs)
	if r.NotTerminal > 0 {
		violate("%d orders not PAID or CANCELLED %.0f s after healing: %v", r.NotTerminal, r.SettleSeconds, r.NotTerminalIDs)
	}

	// The saga's invariants, and double charges among them, from the
	// stores and the PSP's ledger (read directly, not through the proxies).
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	inv, err := invariants.Check(rctx, invariants.Sources{
		OrderDSN: sys.DSN("order"), PaymentDSN: sys.DSN("payment"), CompensationDSN: sys.DSN("compensation"),
		PSPURL: sys.URL("paymentgateway"), ServiceToken: sys.ServiceToken,
	})
	if err != nil {
		t.Fatalf("invariant checker: %v", err)
	}
	r.Invariants = InvariantSummary{Orders: inv.Orders, Charges: inv.Charges, Captures: inv.Captures, Refunded: inv.Refunded, Violations: inv.Violations}
	for _, v := range inv.Violations {
		if strings.Contains(v, " charged ") {
			r.DoubleCharges++
		}
		violate("invariant: %s", v)
	}

	r.Subscriptions = checkSubscriptions(orders, stored)
	if s := r.Subscriptions; s.Missed+s.Repeated+s.Wrong > 0 {
		violate("subscriptions: %d missed a change, %d repeated one, %d pushed a wrong status: %v", s.Missed, s.Repeated, s.Wrong, s.Examples)
	}

	payments, err := readPaymentStatuses(rctx, sys.DSN("payment"))
	if err != nil {
		t.Fatalf("read the payment store: %v", err)
	}
	var diffs []string
	for try := 0; try < 15; try++ { // the projector may still be a moment behind
		if diffs, err = compareReadModels(rctx, gw, l.customers, stored, payments); err == nil && len(diffs) == 0 {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if err != nil {
		violate("read models: %v", err)
	}
	r.ReadModelDiffs = len(diffs)
	r.ReadModelExamples = diffs[:min(len(diffs), 20)]
	if len(diffs) > 0 {
		violate("%d differences between the read models and the stores: %v", len(diffs), r.ReadModelExamples)
	}

	ids, err := storedEventIDs(rctx, sys.DSN("order"), sys.DSN("payment"), sys.DSN("compensation"))
	if err != nil {
		t.Fatalf("read the stores' events: %v", err)
	}
	var m MirrorCheck
	for try := 0; try < 15; try++ { // the mirror may still be a moment behind
		inKafka, kerr := kafkaEventIDs(rctx, sys.Prefix)
		inJS, jerr := jetStreamEventIDs(rctx, sys.NATSStream)
		if err = errors.Join(kerr, jerr); err == nil {
			m = checkMirror(ids, inKafka, inJS)
			if m.MissingInKafka+m.DuplicatesInKafka+m.MissingInJetStream+m.DuplicatesInJetStream == 0 {
				break
			}
		}
		time.Sleep(2 * time.Second)
	}
	if err != nil {
		violate("mirror check: %v", err)
	}
	r.Mirror = m
	if m.MissingInKafka+m.DuplicatesInKafka+m.MissingInJetStream+m.DuplicatesInJetStream > 0 {
		violate("events: %d stored but not in Kafka, %d twice in Kafka, %d in Kafka but not in JetStream, %d twice in JetStream",
			m.MissingInKafka, m.DuplicatesInKafka, m.MissingInJetStream, m.DuplicatesInJetStream)
	}

	r.ClientErrors = map[string]int{}
	l.mu.Lock()
	for _, e := range l.errs {
		r.ClientErrors[e.Op+" "+e.Kind]++
	}
	l.mu.Unlock()
}

func percentiles(d []time.Duration) Percentiles {
	s := measure.Summarise(d)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return Percentiles{Count: s.Count, P50: ms(s.P50), P99: ms(s.P99), Max: ms(s.Max)}
}

// series buckets the run by second.
func (r *Report) series(start time.Time, l *load) {
	n := int(r.Settled) + 1
	secs := make([]Second, n)
	lat := make([][]time.Duration, n)
	at := func(t time.Time) int { return min(max(int(t.Sub(start).Seconds()), 0), n-1) }
	for i := range secs {
		secs[i].T = i
	}
	for _, o := range l.snapshot() {
		o.mu.Lock()
		secs[at(o.intended)].Offered++
		if !o.acked.IsZero() {
			secs[at(o.acked)].Acked++
		}
		if !o.final.IsZero() {
			secs[at(o.final)].Completed++
			lat[at(o.intended)] = append(lat[at(o.intended)], o.final.Sub(o.intended))
		}
		o.mu.Unlock()
	}
	l.mu.Lock()
	for _, e := range l.errs {
		secs[at(e.At)].Errors++
	}
	l.mu.Unlock()
	for i := range secs {
		p := percentiles(lat[i])
		secs[i].P50, secs[i].P99 = p.P50, p.P99
	}
	r.Series = secs
}

// handovers are the log messages Report.Logged counts.
var handovers = []string{"became the active relay", "partitions assigned", "outbox rows already in Kafka were not sent again"}

// countLogged counts the hand-over messages in each process's log.
func countLogged(sys *harness.System) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, name := range sys.Names() {
		b, err := os.ReadFile(filepath.Join(sys.LogDir, name+".log"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			for _, msg := range handovers {
				if strings.Contains(line, `"msg":"`+msg+`"`) {
					if out[name] == nil {
						out[name] = map[string]int{}
					}
					out[name][msg]++
				}
			}
		}
	}
	return out
}

var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// details reads the events of the orders the violations name (at most 10).
func (r *Report) details(ctx context.Context, sys *harness.System, start time.Time) {
	dsns := map[string]string{"order": sys.DSN("order"), "payment": sys.DSN("payment"), "compensation": sys.DSN("compensation")}
	if len(r.Violations) == 0 {
		return
	}
	// The PSP's side: its charges name the order in their description.
	charges := map[string][]string{}
	for ch, err := range sys.PSP.AllCharges(ctx, pspclient.ListParams{Limit: 100}) {
		if err != nil {
			break
		}
		if id, ok := strings.CutPrefix(ch.Description, "orderflow order "); ok {
			charges[id] = append(charges[id], fmt.Sprintf("%08.3fs psp charge %s %s amount %d refunded %d (reference %s)",
				ch.Created.Sub(start).Seconds(), ch.ID, ch.Status, ch.Amount, ch.AmountRefunded, ch.Reference))
		}
	}
	for _, v := range r.Violations {
		for _, id := range uuidPattern.FindAllString(v, -1) {
			if _, seen := r.Details[id]; seen || len(r.Details) >= 10 {
				continue
			}
			evs, err := orderEvents(ctx, start, id, dsns)
			if err != nil {
				evs = []string{err.Error()}
			}
			if len(evs) == 0 {
				continue // not an order's id
			}
			evs = append(evs, charges[id]...)
			slices.Sort(evs)
			if r.Details == nil {
				r.Details = map[string][]string{}
			}
			r.Details[id] = evs
		}
	}
}
