package chaos

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"

	"github.com/orderflow/orderflow/e2e/harness"
	"github.com/orderflow/orderflow/platform/testenv"
)

// Span is a step as it happened, in seconds from the start of the run.
type Span struct {
	Fault   string  `json:"fault"`
	Replica string  `json:"replica,omitempty"`
	Start   float64 `json:"start"`
	// Healed is when the fault was undone (the service started again, the
	// server up, the toxic removed); Recovered when every process answered
	// /readyz again after that.
	Healed    float64 `json:"healed"`
	Recovered float64 `json:"recovered"`
	Error     string  `json:"error,omitempty"`
}

// nemesis applies a schedule to a running system, one step after another.
type nemesis struct {
	sys   *harness.System
	start time.Time
	gap   time.Duration
	logf  func(format string, args ...any)

	mu    sync.Mutex
	spans []Span
	// restarted holds the servers that were restarted: Redis among them
	// means the read models were lost (it keeps no data) and must be
	// rebuilt when the run heals.
	restarted map[string]bool
}

func (n *nemesis) since() float64 { return time.Since(n.start).Seconds() }

// run applies every step; it returns early when ctx ends.
func (n *nemesis) run(ctx context.Context, steps []Step) {
	for _, st := range steps {
		if ctx.Err() != nil {
			return
		}
		sp := Span{Fault: st.Fault.String(), Replica: st.Replica, Start: n.since()}
		n.logf("nemesis: %s%s for %s", sp.Fault, map[bool]string{true: " (" + st.Replica + ")"}[st.Replica != ""], st.Hold)
		err := n.apply(ctx, st)
		sp.Healed = n.since()
		if rerr := n.awaitReady(ctx, 90*time.Second); rerr != nil {
			err = errors.Join(err, rerr)
		}
		sp.Recovered = n.since()
		if err != nil {
			sp.Error = err.Error()
			n.logf("nemesis: %s: %v", sp.Fault, err)
		}
		n.logf("nemesis: %s healed at %.1fs, every process ready at %.1fs", sp.Fault, sp.Healed, sp.Recovered)
		n.mu.Lock()
		n.spans = append(n.spans, sp)
		n.mu.Unlock()
		sleep(ctx, n.gap)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// apply does one step: the fault, its hold, and its undoing.
func (n *nemesis) apply(ctx context.Context, st Step) error {
	switch st.Fault.Kind {
	case Kill:
		if err := n.sys.Crash(st.Replica); err != nil {
			return err
		}
		sleep(ctx, st.Hold)
		return n.sys.Launch(context.WithoutCancel(ctx), st.Replica)
	case Restart:
		n.mu.Lock()
		n.restarted[st.Fault.Target] = true
		n.mu.Unlock()
		if out, err := infra("stop", st.Fault.Target); err != nil || !strings.Contains(out, st.Fault.Target+": stopped") {
			return errors.Join(fmt.Errorf("infra.sh stop %s did not stop it (it must be started by scripts/infra.sh):\n%s", st.Fault.Target, out), err)
		}
		sleep(ctx, st.Hold)
		if out, err := infra("up"); err != nil {
			return fmt.Errorf("infra.sh up: %w\n%s", err, out)
		}
		return nil
	}
	px := n.sys.Proxy(st.Fault.Target)
	if px == nil {
		return fmt.Errorf("no proxy for %s: the system was started without Options.Proxied", st.Fault.Target)
	}
	name, typ, stream, attrs := toxic(st.Fault.Kind)
	if _, err := px.AddToxic(name, typ, stream, 1, attrs); err != nil {
		return fmt.Errorf("add toxic %s: %w", name, err)
	}
	sleep(ctx, st.Hold)
	if err := px.RemoveToxic(name); err != nil {
		return fmt.Errorf("remove toxic %s: %w", name, err)
	}
	return nil
}

// toxic is the toxiproxy toxic of a network fault.
func toxic(k Kind) (name, typ, stream string, attrs toxiproxy.Attributes) {
	switch k {
	case Latency:
		return "chaos_latency", "latency", "downstream", toxiproxy.Attributes{"latency": 300, "jitter": 100}
	case Timeout:
		return "chaos_timeout", "timeout", "downstream", toxiproxy.Attributes{"timeout": 2000}
	case Reset:
		return "chaos_reset", "reset_peer", "downstream", toxiproxy.Attributes{"timeout": 500}
	default: // Partition: the requests go nowhere, no connection is closed
		return "chaos_partition", "timeout", "upstream", toxiproxy.Attributes{"timeout": 0}
	}
}

// awaitReady waits until every process answers /readyz.
func (n *nemesis) awaitReady(ctx context.Context, timeout time.Duration) error {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	deadline := time.Now().Add(timeout)
	for _, name := range n.sys.Names() {
		if err := n.sys.WaitReady(ctx, name, time.Until(deadline)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// heal undoes whatever may still be broken: every toxic removed, every
// proxy enabled, every server up, every process running and ready.
func (n *nemesis) heal(ctx context.Context) error {
	var errs []error
	if err := n.sys.HealProxies(); err != nil {
		errs = append(errs, err)
	}
	if out, err := infra("up"); err != nil {
		errs = append(errs, fmt.Errorf("infra.sh up: %w\n%s", err, out))
	}
	for _, name := range n.sys.Names() {
		if !n.sys.Running(name) {
			if err := n.sys.Launch(ctx, name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(append(errs, n.awaitReady(ctx, 90*time.Second))...)
}

// infra runs scripts/infra.sh.
func infra(args ...string) (string, error) {
	testenv.NoInheritedDescriptors()
	root, err := testenv.FindRepoRoot()
	if err != nil {
		return "", err
	}
	out, err := exec.Command("bash", append([]string{filepath.Join(root, "scripts", "infra.sh")}, args...)...).CombinedOutput()
	return string(out), err
}

func (n *nemesis) snapshot() []Span {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Span(nil), n.spans...)
}
