// Command orderflowctl is the operator's tool for orderflow: it triages the
// messages the services' Kafka consumers set aside (parked ones and dead
// letters) through the gateway's GraphQL API.
//
//	orderflowctl [global flags] dlq list [-service S] [-topic T] [-reason R] [-kind parked|dead_letter]
//	                                     [-state waiting|replaying|replayed|discarded] [-first N] [-after CURSOR] [-all]
//	orderflowctl [global flags] dlq show ID
//	orderflowctl [global flags] dlq replay ID
//	orderflowctl [global flags] dlq replay -all [-service S] [-topic T] [-reason R] [-kind K]
//	orderflowctl [global flags] dlq discard ID -note "why"
//
// Global flags, also accepted after the command: -gateway (default
// http://127.0.0.1:8080/graphql, or ORDERFLOW_GATEWAY), -token (or
// ORDERFLOW_TOKEN), -auth-dir, -subject, -json. Triage needs a token with the admin role; without
// one, orderflowctl signs a short-lived admin token with the development
// issuer that `make run` keeps in .data/auth (-auth-dir), whose subject
// (-subject, by default derived from the OS user) the audit trail records.
//
// It exits 0 on success, 1 if the gateway refused or failed, 2 on a usage
// error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// run runs one command line and returns its exit code; getenv reads the
// environment.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	err := dispatch(ctx, args, stdout, getenv)
	var usage *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, "usage:\n"+usageText)
		return exitOK
	case errors.As(err, &usage):
		fmt.Fprintln(stderr, "orderflowctl:", usage.msg)
		fmt.Fprintln(stderr, "orderflowctl -help shows the usage")
		return exitUsage
	default:
		fmt.Fprintln(stderr, "orderflowctl:", err)
		return exitError
	}
}

const usageText = `  orderflowctl [global flags] dlq list [-service S] [-topic T] [-reason R] [-kind parked|dead_letter]
                                       [-state waiting|replaying|replayed|discarded] [-first N] [-after CURSOR] [-all]
  orderflowctl [global flags] dlq show ID
  orderflowctl [global flags] dlq replay ID
  orderflowctl [global flags] dlq replay -all [-service S] [-topic T] [-reason R] [-kind parked|dead_letter]
  orderflowctl [global flags] dlq discard ID -note "why"
global flags (also accepted after the command):
  -gateway URL     the gateway's GraphQL endpoint (ORDERFLOW_GATEWAY; default http://127.0.0.1:8080/graphql)
  -token TOKEN     an admin's bearer token (ORDERFLOW_TOKEN); without one, an admin token is signed
                   with the development issuer in -auth-dir
  -auth-dir DIR    the development auth directory that make run creates (default .data/auth)
  -subject UUID    the subject of that signed token, which the audit trail records (default: from the OS user)
  -json            print JSON instead of text
IDs are "<service>:<number>", e.g. payment:42.
`

// usageError is a command line that does not say what to do; msg says
// what to fix.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// dispatch parses the global flags and runs the command.
func dispatch(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	g := newGlobals(getenv)
	fs := g.flagSet("orderflowctl")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usagef("name a command: dlq list, dlq show, dlq replay or dlq discard")
	}
	if rest[0] != "dlq" {
		return usagef("unknown command %q; the commands are dlq list, dlq show, dlq replay and dlq discard", rest[0])
	}
	if len(rest) == 1 {
		return usagef("name what to do with dead letters: dlq list, dlq show, dlq replay or dlq discard")
	}
	cmd := map[string]func(context.Context, *globals, []string, io.Writer) error{
		"list": list, "show": show, "replay": replay, "discard": discard,
	}[rest[1]]
	if cmd == nil {
		return usagef("unknown command \"dlq %s\"; use dlq list, dlq show, dlq replay or dlq discard", rest[1])
	}
	return cmd(ctx, g, rest[2:], stdout)
}
