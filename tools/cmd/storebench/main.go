// Command storebench measures the event store's append rate with concurrent
// writers, the raw single-row INSERT ceiling of the same Postgres, and the
// outbox relay's commit-to-consumer latency at a fixed offered rate, in a
// database and a topic of its own that it removes at the end. It prints its
// section of docs/performance.md and replaces that section in the file.
//
//	storebench [-duration 10s] [-warmup 2s] [-writers 16] [-rate 1000] [-low-rate 250]
//	           [-runs 2] [-pg DSN] [-brokers LIST] [-out FILE]
//
// PG_ADMIN_DSN and KAFKA_BROKERS set the defaults of -pg and -brokers.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/orderflow/orderflow/tools/measure"
	"github.com/orderflow/orderflow/tools/storebench"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("storebench failed", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	var cfg storebench.Config
	flag.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured time of each phase")
	flag.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "warm-up before each measured phase")
	flag.IntVar(&cfg.Writers, "writers", 16, "concurrent writers")
	flag.IntVar(&cfg.Rate, "rate", 1000, "offered events/s of the relay phase")
	flag.IntVar(&cfg.LowRate, "low-rate", 250, "a second, lower offered rate for the relay phase (0: skip)")
	flag.IntVar(&cfg.Runs, "runs", 2, "runs of each phase; the best is reported")
	adminDSN, brokers := measure.ServerFlags(flag.CommandLine)
	out := flag.String("out", "", "markdown file whose storebench section to replace (default docs/performance.md, run from the repository root; \"-\" for none)")
	flag.Parse()
	cfg.AdminDSN, cfg.Brokers = *adminDSN, *brokers
	if *out == "" {
		if _, err := os.Stat("go.work"); err != nil {
			return errors.New("run from the repository root (where go.work is) or pass -out")
		}
		*out = "docs/performance.md"
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := storebench.Run(ctx, cfg, log)
	if err != nil {
		return err
	}
	command := fmt.Sprintf("go run ./tools/cmd/storebench -duration=%s -warmup=%s -writers=%d -rate=%d -low-rate=%d -runs=%d",
		cfg.Duration, cfg.Warmup, cfg.Writers, cfg.Rate, cfg.LowRate, cfg.Runs)
	section := res.Markdown(command)
	fmt.Print(section)
	if *out == "-" {
		return nil
	}
	if err := measure.UpdateSection(*out, storebench.SectionName, section); err != nil {
		return err
	}
	log.Info("wrote the storebench section", "file", *out)
	return nil
}
