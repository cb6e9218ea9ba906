package main

import (
	"context"
	"fmt"
	"io"
	"strings"
)

const discardQuery = `mutation($id: ID!, $note: String!) { discardDeadLetter(id: $id, note: $note) { ` + letterFields + ` } }`

// discard gives up on one letter, noting why.
func discard(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	fs := g.flagSet("dlq discard")
	note := fs.String("note", "", "why the letter is given up on (kept in its audit trail); required")
	positional, err := parse(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID("dlq discard", positional)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*note) == "" {
		return usagef(`dlq discard needs -note "why": the audit trail keeps it for whoever looks at the letter later`)
	}
	gw, err := g.connect()
	if err != nil {
		return err
	}
	var data struct {
		DiscardDeadLetter letter `json:"discardDeadLetter"`
	}
	if err := gw.do(ctx, discardQuery, map[string]any{"id": id, "note": *note}, &data); err != nil {
		return err
	}
	l := data.DiscardDeadLetter
	if g.json {
		return writeJSON(stdout, l)
	}
	_, err = fmt.Fprintf(stdout, "%s is %s\n", l.ID, lower(l.State))
	return err
}

func lower(s string) string { return strings.ToLower(s) }
