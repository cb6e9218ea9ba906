package chaos_test

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orderflow/orderflow/e2e/chaos"
	"github.com/orderflow/orderflow/e2e/harness"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/tools/loadbench"
)

// The run's knobs, as flags of the test binary (make chaos ARGS="..."
// passes them): go test ./e2e/chaos -args -chaos.profile=long -chaos.seed=7.
var (
	profile  = flag.String("chaos.profile", "short", "short (make test) or long (make chaos)")
	seed     = flag.Uint64("chaos.seed", 0, "seed of the schedule (0: the profile's)")
	duration = flag.Duration("chaos.duration", 0, "least length of the fault schedule: passes repeat until it is reached (0: one pass)")
	faults   = flag.String("chaos.faults", "", `faults of each pass, e.g. "kill,restart:kafka,partition" (a kind alone: on every target; "all": every fault); empty: the profile's`)
	rate     = flag.Int("chaos.rate", 0, "orders offered per second (0: the profile's)")
	out      = flag.String("chaos.out", "", "directory for chaos.json and chaos.html (empty: a temporary one, logged)")
)

func config(t *testing.T) chaos.Config {
	t.Helper()
	cfg, err := chaos.ProfileNamed(*profile)
	if err != nil {
		t.Fatal(err)
	}
	if *seed != 0 {
		cfg.Seed = *seed
	}
	if *rate > 0 {
		cfg.Rate = *rate
	}
	cfg.Duration = *duration
	if *faults != "" {
		if cfg.Faults, err = chaos.ParseFaults(*faults); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

// TestChaos runs the load against two replicas of every service but the
// PSP, behind toxiproxy, while the nemesis works through its schedule;
// then it heals everything and fails on any violation: an acknowledged
// order lost, a double charge, an order not final after the settle time,
// a subscription that missed or repeated a change, a read model that is not
// the fold of the stores, an event missing or twice in Kafka or JetStream,
// an invariant broken.
func TestChaos(t *testing.T) {
	cfg := config(t)
	bin := t.TempDir()
	if err := harness.Build(bin); err != nil {
		t.Fatal(err)
	}
	sys := harness.Start(t, bin, harness.Options{Replicas: 2, Proxied: true})
	rep := chaos.Run(t, sys, cfg)
	var args []string
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(a, "-chaos.") {
			args = append(args, a)
		}
	}
	rep.Command = strings.TrimSpace("go test ./e2e/chaos -run TestChaos -v -args " + strings.Join(args, " "))
	rep.Revision = revision(t)

	dir := *out
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "orderflow-chaos-"+time.Now().UTC().Format("20060102T150405"))
	} else if !filepath.IsAbs(dir) {
		dir = filepath.Join(testenv.RepoRoot(t), dir)
	}
	if err := rep.Write(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(loadbench.Chromium); err == nil { // a picture of the page, when a browser is at hand
		if err := loadbench.RenderPNG(context.Background(), filepath.Join(dir, "chaos.html"), filepath.Join(dir, "chaos.png")); err != nil {
			t.Logf("chaos.png: %v", err)
		}
	}
	t.Logf("chaos: %s/chaos.json and chaos.html: offered %d, acknowledged %d, lost %d, double charges %d, not final %d, subscriptions missed %d repeated %d, read-model differences %d, JetStream missing %d twice %d",
		dir, rep.Offered, rep.Acknowledged, rep.Lost, rep.DoubleCharges, rep.NotTerminal, rep.Subscriptions.Missed,
		rep.Subscriptions.Repeated, rep.ReadModelDiffs, rep.Mirror.MissingInJetStream, rep.Mirror.DuplicatesInJetStream)
	if !rep.OK {
		t.Fatalf("chaos: %d violation(s):\n%s", len(rep.Violations), strings.Join(rep.Violations, "\n"))
	}
}

// revision names the code under test: the commit, and "+changes" if the
// working tree differs from it.
func revision(t *testing.T) string {
	t.Helper()
	root := testenv.RepoRoot(t)
	head, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(head))
	if status, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(status) > 0 {
		rev += "+changes"
	}
	return rev
}
