package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// letterFields are the fields of a DeadLetter every command reads; show
// adds the audit trail.
const letterFields = `id service kind state reason attempts replays consumerGroup topic partition offset key
	orderId eventId eventType event value parkedAt updatedAt`

// letter is a DeadLetter as the gateway answers it.
type letter struct {
	ID            string    `json:"id"`
	Service       string    `json:"service"`
	Kind          string    `json:"kind"`
	State         string    `json:"state"`
	Reason        string    `json:"reason"`
	Attempts      int       `json:"attempts"`
	Replays       int       `json:"replays"`
	ConsumerGroup string    `json:"consumerGroup"`
	Topic         string    `json:"topic"`
	Partition     int       `json:"partition"`
	Offset        string    `json:"offset"`
	Key           string    `json:"key"`
	OrderID       *string   `json:"orderId"`
	EventID       *string   `json:"eventId"`
	EventType     *string   `json:"eventType"`
	Event         *string   `json:"event"`
	Value         *string   `json:"value"`
	ParkedAt      time.Time `json:"parkedAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
	Audit         []audit   `json:"audit,omitempty"`
}

type audit struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"`
	Actor  string    `json:"actor"`
	Note   *string   `json:"note"`
}

// reasonWidth is how much of a reason the table shows.
const reasonWidth = 48

// writeTable prints letters one a line, under a header.
func writeTable(w io.Writer, letters []letter) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSERVICE\tKIND\tSTATE\tTOPIC/PARTITION/OFFSET\tORDER\tEVENT TYPE\tATTEMPTS\tREASON\tPARKED AT")
	for _, l := range letters {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s/%d/%s\t%s\t%s\t%d\t%s\t%s\n",
			l.ID, l.Service, strings.ToLower(l.Kind), strings.ToLower(l.State), l.Topic, l.Partition, l.Offset,
			orDash(l.OrderID), orDash(l.EventType), l.Attempts, oneLine(l.Reason, reasonWidth), l.ParkedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

// writeLetter prints one letter in full: its fields, its event, its audit
// trail.
func writeLetter(w io.Writer, l letter) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range []struct{ name, value string }{
		{"id", l.ID}, {"service", l.Service}, {"kind", strings.ToLower(l.Kind)}, {"state", strings.ToLower(l.State)},
		{"reason", l.Reason}, {"attempts", strconv.Itoa(l.Attempts)}, {"replays", strconv.Itoa(l.Replays)},
		{"consumer group", l.ConsumerGroup}, {"topic", l.Topic}, {"partition", strconv.Itoa(l.Partition)},
		{"offset", l.Offset}, {"key", orDash(&l.Key)}, {"order", orDash(l.OrderID)}, {"event id", orDash(l.EventID)},
		{"event type", orDash(l.EventType)}, {"parked at", l.ParkedAt.UTC().Format(time.RFC3339Nano)},
		{"updated at", l.UpdatedAt.UTC().Format(time.RFC3339Nano)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", f.name, f.value)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case l.Event != nil:
		var pretty bytes.Buffer
		if json.Indent(&pretty, []byte(*l.Event), "  ", "  ") != nil {
			pretty.Reset()
			pretty.WriteString(*l.Event)
		}
		fmt.Fprintf(w, "event:\n  %s\n", pretty.String())
	case l.Value != nil:
		fmt.Fprintf(w, "value (not JSON):\n  %q\n", *l.Value)
	}
	fmt.Fprintln(w, "audit:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, a := range l.Audit {
		fmt.Fprintf(tw, "  %s\t%s\t%s", a.At.UTC().Format(time.RFC3339), a.Action, a.Actor)
		if a.Note != nil {
			fmt.Fprintf(tw, "\t%s", *a.Note)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func orDash(s *string) string {
	if s == nil || *s == "" {
		return "-"
	}
	return *s
}

// oneLine keeps a table cell on one line and at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
