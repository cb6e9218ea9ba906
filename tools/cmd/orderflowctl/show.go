package main

import (
	"context"
	"fmt"
	"io"
)

const showQuery = `query($id: ID!) { deadLetter(id: $id) { ` + letterFields + ` audit { at action actor note } } }`

// show prints one letter with its event and audit trail.
func show(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	fs := g.flagSet("dlq show")
	positional, err := parse(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID("dlq show", positional)
	if err != nil {
		return err
	}
	gw, err := g.connect()
	if err != nil {
		return err
	}
	var data struct {
		DeadLetter *letter `json:"deadLetter"`
	}
	if err := gw.do(ctx, showQuery, map[string]any{"id": id}, &data); err != nil {
		return err
	}
	if data.DeadLetter == nil {
		return fmt.Errorf("there is no dead letter %s", id)
	}
	if g.json {
		return writeJSON(stdout, data.DeadLetter)
	}
	return writeLetter(stdout, *data.DeadLetter)
}
