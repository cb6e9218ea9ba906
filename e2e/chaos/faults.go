// Package chaos runs orderflow under an open-loop load while a nemesis
// breaks it on a schedule — SIGKILLed services, restarted servers, slow,
// stalled and reset network links, a partitioned card processor — then
// heals everything and judges the outcome from the stores, the PSP ledger,
// the read models, the JetStream mirror and what the clients were told.
//
// The schedule comes from a seed, so a run can be repeated; the verdict is
// written as JSON and as a self-contained HTML page with a timeline of the
// faults against throughput and latency. TestChaos (chaos_test.go) is the
// entry point: `go test ./e2e/chaos` runs the short profile, `make chaos`
// the long one.
package chaos

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/orderflow/orderflow/e2e/harness"
)

// Kind is what a fault does.
type Kind string

// The kinds of fault. A fault is a kind and a target: kill:order,
// restart:kafka, latency:redis, partition:psp.
const (
	// Kill SIGKILLs one replica of a service (chosen by the seed) and
	// starts it again after the fault's hold.
	Kill Kind = "kill"
	// Restart stops a shared server through scripts/infra.sh and brings it
	// back with `infra.sh up`, so its pid file stays right.
	Restart Kind = "restart"
	// Latency delays every byte from the server by 300 ms ± 100 ms.
	Latency Kind = "latency"
	// Timeout stalls every connection through the link and closes it
	// after 2 s, new ones too, for the hold.
	Timeout Kind = "timeout"
	// Reset resets every connection (TCP RST, reset_peer) 500 ms after it
	// carries data, for the hold.
	Reset Kind = "reset"
	// Partition black-holes the link: connections open but nothing comes
	// through, until the hold ends.
	Partition Kind = "partition"
)

// Fault is one entry of a schedule.
type Fault struct {
	Kind   Kind   `json:"kind"`
	Target string `json:"target"`
}

func (f Fault) String() string { return string(f.Kind) + ":" + f.Target }

// Restartable are the shared servers a Restart fault takes down.
var Restartable = []string{"kafka", "postgres", "redis", "nats"}

// Killable are the services a Kill fault crashes.
var Killable = harness.Services

// All returns every fault there is: each service killed, each server
// restarted, each network fault on each proxied link, and the PSP
// partitioned.
func All() []Fault {
	var out []Fault
	for _, s := range Killable {
		out = append(out, Fault{Kill, s})
	}
	for _, s := range Restartable {
		out = append(out, Fault{Restart, s})
	}
	for _, k := range []Kind{Latency, Timeout, Reset} {
		for _, target := range harness.ProxyTargets {
			out = append(out, Fault{k, target})
		}
	}
	return append(out, Fault{Partition, harness.ProxyPSP})
}

// EveryKindOnce returns every kill and restart, and each network fault
// once on a link the random source picks: each kind at least once, in
// about half the time of All.
func EveryKindOnce(rng *rand.Rand) []Fault {
	var out []Fault
	for _, f := range All() {
		if f.Kind == Kill || f.Kind == Restart || f.Kind == Partition {
			out = append(out, f)
		}
	}
	for _, k := range []Kind{Latency, Timeout, Reset} {
		out = append(out, Fault{k, harness.ProxyTargets[rng.IntN(len(harness.ProxyTargets))]})
	}
	return out
}

// ParseFaults reads a comma-separated list of faults: "kill:order", or a
// kind alone for that kind on every target ("latency"), or "all".
func ParseFaults(list string) ([]Fault, error) {
	all := All()
	var out []Fault
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if item == "all" {
			out = append(out, all...)
			continue
		}
		kind, target, hasTarget := strings.Cut(item, ":")
		n := len(out)
		for _, f := range all {
			if string(f.Kind) == kind && (!hasTarget || f.Target == target) {
				out = append(out, f)
			}
		}
		if len(out) == n {
			var names []string
			for _, f := range all {
				names = append(names, f.String())
			}
			return nil, fmt.Errorf("unknown fault %q: name a kind (kill, restart, latency, timeout, reset, partition) or one of %s",
				item, strings.Join(names, ", "))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no faults in %q", list)
	}
	return out, nil
}

// Step is one fault of a schedule, placed in time by the nemesis.
type Step struct {
	Fault   Fault  `json:"fault"`
	Replica string `json:"replica,omitempty"` // the process a Kill hits
	// Hold is how long the fault lasts (a killed service stays down, a
	// toxic stays on, a server stays stopped).
	Hold time.Duration `json:"holdNs"`
}

// Schedule lays faults out in passes: every pass holds each fault once, in
// an order the seed shuffles, and passes repeat until their total reaches
// minTotal (at least one pass). Each fault's own cost is estimated by
// Estimate; the nemesis runs them one after another with gap between.
func Schedule(seed uint64, faults []Fault, hold, gap, minTotal time.Duration, replicas func(service string) []string) []Step {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var steps []Step
	var total time.Duration
	for pass := 0; pass == 0 || total < minTotal; pass++ {
		order := slices.Clone(faults)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, f := range order {
			st := Step{Fault: f, Hold: hold}
			if f.Kind == Kill {
				r := replicas(f.Target)
				st.Replica = r[rng.IntN(len(r))]
			}
			steps = append(steps, st)
			total += Estimate(st) + gap
		}
	}
	return steps
}

// Estimate is about how long a step takes on this machine, hold included:
// for the schedule's length, not for any check.
func Estimate(s Step) time.Duration {
	switch s.Fault.Kind {
	case Kill:
		return s.Hold + 3*time.Second // the start until /readyz answers
	case Restart:
		if s.Fault.Target == "kafka" {
			return s.Hold + 30*time.Second // stop, a JVM start, the topic check
		}
		return s.Hold + 8*time.Second
	}
	return s.Hold
}
