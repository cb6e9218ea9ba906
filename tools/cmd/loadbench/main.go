// Command loadbench measures orderflow end to end against the running
// system (make run): orders per second and latency from the createOrder
// mutation to the PAID push on the orderStatusChanged subscription, open
// loop, on a step ramp that finds the knee; the machine's Postgres commit
// and Kafka round-trip ceilings; and then the invariants. It writes
// bench/results/latest.json, latest.html and latest.png, and its section of
// docs/performance.md. It exits 1 if the benchmark could not run, or if an
// order was lost or an invariant violated.
//
//	loadbench [-profile short|long] [-gateway URL] [-pg DSN] [-brokers LIST]
//	          [-out DIR] [-doc FILE] [-png=false] [ramp and timing overrides]
//
// PG_ADMIN_DSN and KAFKA_BROKERS set the defaults of -pg and -brokers; the
// invariant checker reads the stores named by the variables of
// checkinvariants. Run it from the repository root; `make bench` does.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/orderflow/orderflow/platform/auth"
	"github.com/orderflow/orderflow/tools/invariants"
	"github.com/orderflow/orderflow/tools/loadbench"
	"github.com/orderflow/orderflow/tools/measure"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("loadbench failed", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	profile := flag.String("profile", "short", "short (the default of make bench, under 3 minutes) or long")
	gatewayURL := flag.String("gateway", "http://127.0.0.1:8080", "the gateway's base URL")
	authDir := flag.String("auth-dir", auth.DefaultDir, "the development issuer's directory, which signs the load's tokens (make run creates it)")
	adminDSN, brokers := measure.ServerFlags(flag.CommandLine)
	outDir := flag.String("out", "bench/results", "folder of latest.json, latest.html and latest.png")
	doc := flag.String("doc", "docs/performance.md", "markdown file whose loadbench section to replace (\"-\" for none)")
	png := flag.Bool("png", true, "render latest.png from the page with headless Chromium")
	start := flag.Int("start", 0, "override: the ramp's first rate, orders/s")
	growth := flag.Float64("growth", 0, "override: the ramp's growth factor while steps pass")
	maxSteps := flag.Int("max-steps", 0, "override: the most ramp steps")
	step := flag.Duration("step", 0, "override: the measured time of each ramp step")
	halfKnee := flag.Duration("half-knee", 0, "override: the measured time of the run at half the knee")
	prime := flag.Duration("prime", 0, "override: the unmeasured warm-up run before the ramp")
	flag.Parse()

	cfg, err := loadbench.ProfileNamed(*profile)
	if err != nil {
		return err
	}
	cfg.GatewayURL, cfg.AdminDSN, cfg.Brokers, cfg.AuthDir = *gatewayURL, *adminDSN, *brokers, *authDir
	cfg.Sources, cfg.TopicPrefix = invariants.SourcesFromEnv(), os.Getenv("ORDER_TOPIC_PREFIX")
	cfg.Ramp.Start = cmp.Or(*start, cfg.Ramp.Start)
	cfg.Ramp.Growth = cmp.Or(*growth, cfg.Ramp.Growth)
	cfg.Ramp.MaxSteps = cmp.Or(*maxSteps, cfg.Ramp.MaxSteps)
	cfg.Step, cfg.HalfKnee = cmp.Or(*step, cfg.Step), cmp.Or(*halfKnee, cfg.HalfKnee)
	cfg.Prime = cmp.Or(*prime, cfg.Prime)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	began := time.Now()
	res, err := loadbench.Run(ctx, cfg, log)
	if err != nil {
		return err
	}
	res.Command = "go run ./tools/cmd/loadbench " + strings.Join(os.Args[1:], " ")
	res.Revision = revision()

	jsonPath, htmlPath := filepath.Join(*outDir, "latest.json"), filepath.Join(*outDir, "latest.html")
	if err := res.WriteJSON(jsonPath); err != nil {
		return err
	}
	if err := res.WriteHTML(htmlPath); err != nil {
		return err
	}
	log.Info("wrote the results", "json", jsonPath, "html", htmlPath)
	if *png {
		pngPath := filepath.Join(*outDir, "latest.png")
		if err := loadbench.RenderPNG(ctx, htmlPath, pngPath); err != nil {
			return err
		}
		log.Info("rendered the page", "png", pngPath)
	}
	if *doc != "-" {
		if err := measure.UpdateSection(*doc, loadbench.SectionName, res.Markdown()); err != nil {
			return err
		}
		log.Info("wrote the loadbench section", "file", *doc)
	}
	fmt.Print(res.Summary())
	log.Info("done", "took", time.Since(began).Round(time.Second))
	if !res.OK {
		return errors.New("a failed run: an order was lost or an invariant violated (see above)")
	}
	return nil
}

// revision names the code measured: the commit, and "+ uncommitted changes"
// if the working tree differs from it.
func revision() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty= + uncommitted changes").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
