package main

import (
	"context"
	"fmt"
	"io"
)

const (
	replayOneQuery = `mutation($id: ID!) { replayDeadLetter(id: $id) { ` + letterFields + ` } }`
	replayAllQuery = `mutation($filter: DeadLetterFilter!) { replayDeadLetters(filter: $filter) { count } }`
)

// replay asks for one letter, or with -all every waiting one the filters
// select, to be replayed.
func replay(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	fs := g.flagSet("dlq replay")
	var sel selection
	sel.register(fs)
	all := fs.Bool("all", false, "replay every waiting letter the filters select")
	positional, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *all {
		if len(positional) > 0 {
			return usagef("dlq replay takes an id or -all, not both")
		}
		return replayAll(ctx, g, sel, stdout)
	}
	if !sel.empty() {
		return usagef("%s selects letters for -all; add -all, or name one letter's id instead", sel.String())
	}
	id, err := oneID("dlq replay", positional)
	if err != nil {
		return usagef("%v, or -all to replay every waiting letter (narrowed with -service, -topic, -reason, -kind)", err)
	}
	gw, err := g.connect()
	if err != nil {
		return err
	}
	var data struct {
		ReplayDeadLetter letter `json:"replayDeadLetter"`
	}
	if err := gw.do(ctx, replayOneQuery, map[string]any{"id": id}, &data); err != nil {
		return err
	}
	l := data.ReplayDeadLetter
	if g.json {
		return writeJSON(stdout, l)
	}
	_, err = fmt.Fprintf(stdout, "%s is %s (replays so far: %d); the consumer of its partition carries the replay out\n",
		l.ID, lower(l.State), l.Replays)
	return err
}

func replayAll(ctx context.Context, g *globals, sel selection, stdout io.Writer) error {
	filter := map[string]any{}
	if err := sel.vars(filter); err != nil {
		return err
	}
	gw, err := g.connect()
	if err != nil {
		return err
	}
	var data struct {
		ReplayDeadLetters struct {
			Count int `json:"count"`
		} `json:"replayDeadLetters"`
	}
	if err := gw.do(ctx, replayAllQuery, map[string]any{"filter": filter}, &data); err != nil {
		return err
	}
	if g.json {
		return writeJSON(stdout, data.ReplayDeadLetters)
	}
	n := data.ReplayDeadLetters.Count
	noun := "letters"
	if n == 1 {
		noun = "letter"
	}
	_, err = fmt.Fprintf(stdout, "asked for %d waiting %s to be replayed\n", n, noun)
	return err
}
