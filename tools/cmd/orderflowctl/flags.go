package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/orderflow/orderflow/platform/auth"
)

// defaultGateway is the gateway of `make run`.
const defaultGateway = "http://127.0.0.1:8080/graphql"

// globals are the flags every command takes, before or after its name.
type globals struct {
	gateway string
	token   string
	authDir string
	subject string
	json    bool
}

func newGlobals(getenv func(string) string) *globals {
	g := &globals{gateway: getenv("ORDERFLOW_GATEWAY"), token: getenv("ORDERFLOW_TOKEN"), authDir: auth.DefaultDir}
	if g.gateway == "" {
		g.gateway = defaultGateway
	}
	return g
}

// flagSet returns a flag set named name holding the global flags; a
// command adds its own.
func (g *globals) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run prints the usage, once
	fs.StringVar(&g.gateway, "gateway", g.gateway, "the gateway's GraphQL endpoint")
	fs.StringVar(&g.token, "token", g.token, "an admin's bearer token")
	fs.StringVar(&g.authDir, "auth-dir", g.authDir, "the development auth directory")
	fs.StringVar(&g.subject, "subject", g.subject, "the subject of a signed admin token")
	fs.BoolVar(&g.json, "json", g.json, "print JSON")
	return fs
}

// parse parses args with fs, flags and positional arguments in any order
// ("discard payment:42 -note why"), and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional, args = append(positional, args[0]), args[1:]
	}
}

// oneID returns the single positional argument of a command about one
// letter.
func oneID(cmd string, positional []string) (string, error) {
	switch len(positional) {
	case 0:
		return "", usagef("%s needs the letter's id, e.g. payment:42 (dlq list shows them)", cmd)
	case 1:
		return positional[0], nil
	default:
		return "", usagef("%s takes one id, got %s", cmd, strings.Join(positional, " "))
	}
}

// enumFlag reads a -kind or -state value, in lower case as the services
// name them, as its GraphQL enum value; "" is none.
func enumFlag(name, value string, allowed ...string) (string, error) {
	if value == "" {
		return "", nil
	}
	for _, a := range allowed {
		if strings.EqualFold(value, a) {
			return strings.ToUpper(a), nil
		}
	}
	return "", usagef("-%s must be %s, got %q", name, orList(allowed), value)
}

func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// selection is the flags that select letters.
type selection struct {
	service, topic, reason, kind string
}

func (s *selection) register(fs *flag.FlagSet) {
	fs.StringVar(&s.service, "service", "", "only letters of this service: order, payment or compensation")
	fs.StringVar(&s.topic, "topic", "", "only letters of this topic")
	fs.StringVar(&s.reason, "reason", "", "only letters whose reason contains this, ignoring case")
	fs.StringVar(&s.kind, "kind", "", "only letters of this kind: parked or dead_letter")
}

// vars adds the selection's GraphQL values to v.
func (s *selection) vars(v map[string]any) error {
	kind, err := enumFlag("kind", s.kind, "parked", "dead_letter")
	if err != nil {
		return err
	}
	for name, value := range map[string]string{"service": s.service, "topic": s.topic, "reason": s.reason, "kind": kind} {
		if value != "" {
			v[name] = value
		}
	}
	return nil
}

func (s *selection) empty() bool { return *s == selection{} }

func (s *selection) String() string {
	var parts []string
	for _, f := range []struct{ name, value string }{{"service", s.service}, {"topic", s.topic}, {"reason", s.reason}, {"kind", s.kind}} {
		if f.value != "" {
			parts = append(parts, fmt.Sprintf("-%s %s", f.name, f.value))
		}
	}
	return strings.Join(parts, " ")
}
