// Command checkinvariants reads the order, payment and compensation stores
// and the payment gateway's ledger, prints what it checked, and exits 1 if an
// invariant of the saga is violated (2 if a source could not be read).
//
//	checkinvariants [-allow-in-flight]
//
// Sources come from the environment, with the defaults of `make run`:
// ORDER_POSTGRES_DSN, PAYMENT_POSTGRES_DSN, COMPENSATION_POSTGRES_DSN,
// PAYMENT_PSP_URL. The PSP lists its ledger only to callers with the
// deployment's service token: PAYMENT_SERVICE_TOKEN, or else the file
// .data/auth/service-token that `make run` writes (read relative to the
// working directory, so run it from the repository root).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/orderflow/orderflow/tools/invariants"
)

func main() {
	allow := flag.Bool("allow-in-flight", false, "accept orders that are not final yet")
	flag.Parse()
	src := invariants.SourcesFromEnv()
	src.AllowInFlight = *allow
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()

	report, err := invariants.Check(ctx, src)
	if err != nil {
		fmt.Fprintln(os.Stderr, "checkinvariants:", err)
		os.Exit(2)
	}
	report.Print(os.Stdout)
	if !report.OK() {
		os.Exit(1)
	}
}
