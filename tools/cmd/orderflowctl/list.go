package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
)

// maxPage is the largest page the gateway serves (graph.MaxDeadLetterPage).
const maxPage = 200

const listQuery = `query($first: Int, $after: String, $service: String, $topic: String, $reason: String,
	$kind: DeadLetterKind, $state: DeadLetterState) {
	deadLetters(first: $first, after: $after, service: $service, topic: $topic, reason: $reason, kind: $kind, state: $state) {
		edges { node { ` + letterFields + ` } } pageInfo { hasNextPage endCursor } } }`

// listed is what list prints with -json.
type listed struct {
	Letters     []letter `json:"letters"`
	HasNextPage bool     `json:"hasNextPage"`
	EndCursor   *string  `json:"endCursor"`
}

// list prints a page of letters, or with -all every one.
func list(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	fs := g.flagSet("dlq list")
	var sel selection
	sel.register(fs)
	state := fs.String("state", "", "only letters in this state: waiting, replaying, replayed or discarded")
	first := fs.Int("first", 0, fmt.Sprintf("letters per page, 1–%d (default 50; with -all, %d)", maxPage, maxPage))
	after := fs.String("after", "", "start after this cursor (the end of an earlier page)")
	all := fs.Bool("all", false, "list every page")
	positional, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(positional) > 0 {
		return usagef("dlq list takes flags only, got %s (to see one letter: dlq show ID)", strings.Join(positional, " "))
	}
	vars := map[string]any{}
	if err := sel.vars(vars); err != nil {
		return err
	}
	st, err := enumFlag("state", *state, "waiting", "replaying", "replayed", "discarded")
	if err != nil {
		return err
	}
	if st != "" {
		vars["state"] = st
	}
	firstSet := false
	fs.Visit(func(f *flag.Flag) { firstSet = firstSet || f.Name == "first" })
	switch {
	case firstSet && (*first < 1 || *first > maxPage):
		return usagef("-first must be between 1 and %d, got %d", maxPage, *first)
	case firstSet:
		vars["first"] = *first
	case *all:
		vars["first"] = maxPage
	}
	if *after != "" {
		vars["after"] = *after
	}

	gw, err := g.connect()
	if err != nil {
		return err
	}
	out := listed{Letters: []letter{}}
	for {
		var data struct {
			DeadLetters struct {
				Edges []struct {
					Node letter `json:"node"`
				} `json:"edges"`
				PageInfo struct {
					HasNextPage bool    `json:"hasNextPage"`
					EndCursor   *string `json:"endCursor"`
				} `json:"pageInfo"`
			} `json:"deadLetters"`
		}
		if err := gw.do(ctx, listQuery, vars, &data); err != nil {
			return err
		}
		for _, e := range data.DeadLetters.Edges {
			out.Letters = append(out.Letters, e.Node)
		}
		page := data.DeadLetters.PageInfo
		out.HasNextPage = page.HasNextPage
		if page.EndCursor != nil {
			out.EndCursor = page.EndCursor
		}
		if !*all || !page.HasNextPage || page.EndCursor == nil {
			break
		}
		vars["after"] = *page.EndCursor
	}

	if g.json {
		return writeJSON(stdout, out)
	}
	if len(out.Letters) == 0 {
		_, err := fmt.Fprintln(stdout, "no letters")
		return err
	}
	if err := writeTable(stdout, out.Letters); err != nil {
		return err
	}
	if out.HasNextPage && out.EndCursor != nil {
		_, err := fmt.Fprintf(stdout, "more letters follow: -after %s for the next page, or -all\n", *out.EndCursor)
		return err
	}
	return nil
}
