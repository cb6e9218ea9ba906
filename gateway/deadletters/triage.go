// Package deadletters is the gateway's dead-letter triage (graph.DeadLetters)
// over the triage APIs of the services whose Kafka consumers set messages
// aside (order, payment, compensation). A list asks every service at once
// and merges their pages into one; its cursor holds where the merged pages
// end in each service's list, so paging across services neither skips nor
// repeats a letter. A single letter's call goes to its service alone.
package deadletters

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/platform/parking"
)

// Triage implements graph.DeadLetters over the services' parking clients.
type Triage struct {
	clients []*parking.Client
	names   []string
}

// New returns the triage over clients, one per service (named by
// parking.Client.Service). The order of the clients is the order Services
// names them in.
func New(clients ...*parking.Client) *Triage {
	t := &Triage{clients: clients}
	for _, c := range clients {
		t.names = append(t.names, c.Service())
	}
	return t
}

// Services names the services, in the order New got them.
func (t *Triage) Services() []string { return append([]string(nil), t.names...) }

// client returns the client of the named service.
func (t *Triage) client(service string) (*parking.Client, error) {
	for _, c := range t.clients {
		if c.Service() == service {
			return c, nil
		}
	}
	return nil, model.BadInput("", fmt.Sprintf("there is no service %q with dead letters; the services are %s",
		service, strings.Join(t.names, ", ")))
}

// selected returns the clients of sel's service, or all of them.
func (t *Triage) selected(service string) ([]*parking.Client, error) {
	if service == "" {
		return t.clients, nil
	}
	c, err := t.client(service)
	if err != nil {
		return nil, err
	}
	return []*parking.Client{c}, nil
}

// Get returns one letter with its audit trail, (nil, nil) if its service
// has no such letter.
func (t *Triage) Get(ctx context.Context, ref model.DeadLetterRef) (*model.DeadLetter, error) {
	c, err := t.client(ref.Service)
	if err != nil {
		return nil, err
	}
	l, err := c.Get(ctx, ref.Number)
	if parking.Code(err) == parking.CodeNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, letterError(ref, err)
	}
	out, err := toModel(ref.Service, l)
	if err != nil {
		return nil, err
	}
	if out.Audit == nil {
		out.Audit = []*model.DeadLetterAuditEntry{} // fetched: it has none
	}
	return out, nil
}

// Replay asks the letter's service to replay it.
func (t *Triage) Replay(ctx context.Context, ref model.DeadLetterRef, actor string) (*model.DeadLetter, error) {
	c, err := t.client(ref.Service)
	if err != nil {
		return nil, err
	}
	l, err := c.Replay(ctx, ref.Number, actor)
	if err != nil {
		return nil, letterError(ref, err)
	}
	return toModel(ref.Service, l)
}

// Discard asks the letter's service to give up on it.
func (t *Triage) Discard(ctx context.Context, ref model.DeadLetterRef, actor, note string) (*model.DeadLetter, error) {
	c, err := t.client(ref.Service)
	if err != nil {
		return nil, err
	}
	l, err := c.Discard(ctx, ref.Number, actor, note)
	if err != nil {
		return nil, letterError(ref, err)
	}
	return toModel(ref.Service, l)
}

// ReplayAll asks every service sel selects, at once, to replay its waiting
// letters that sel selects, and adds up their counts. If a service fails,
// the others' replays stand: the error says how many they asked for, and
// a retry does not repeat them, since only waiting letters are replayed.
func (t *Triage) ReplayAll(ctx context.Context, sel model.DeadLetterSelection, actor string) (int, error) {
	clients, err := t.selected(sel.Service)
	if err != nil {
		return 0, err
	}
	f := filter(sel, "")
	counts := make([]int, len(clients))
	errs := make([]error, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			res, err := c.ReplayAll(ctx, f, actor)
			counts[i], errs[i] = res.Count, err
		})
	}
	wg.Wait()
	total := 0
	var failed error
	for i, c := range clients {
		if errs[i] != nil {
			if failed == nil {
				failed = serviceError(c.Service(), errs[i])
			}
			continue
		}
		total += counts[i]
	}
	if failed != nil {
		if me, ok := model.AsError(failed); ok && len(clients) > 1 {
			return 0, &model.Error{Code: me.Code, Field: me.Field, Message: fmt.Sprintf(
				"%s; the other services were asked to replay %d letters (a retry replays only what still waits)", me.Message, total)}
		}
		return 0, failed
	}
	return total, nil
}

// filter is sel, with state, as the services' triage API takes it.
func filter(sel model.DeadLetterSelection, state model.DeadLetterState) parking.Filter {
	return parking.Filter{
		Topic:  sel.Topic,
		Reason: sel.Reason,
		Kind:   strings.ToLower(string(sel.Kind)),
		State:  strings.ToLower(string(state)),
	}
}
