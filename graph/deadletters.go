package graph

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/orderflow/orderflow/graph/model"
)

// Page sizes of Query.deadLetters. MaxDeadLetterPage is the most letters a
// service's triage API serves in one page (parking.MaxPage), so that a
// page of one service alone can fill the merged page.
const (
	defaultDeadLetterPage = 50
	MaxDeadLetterPage     = 200
)

// triager returns the caller if it may triage dead letters: an admin. The
// check comes before any argument is looked at, so that a customer learns
// nothing about the letters from the errors.
func triager(ctx context.Context) (Principal, error) {
	p, err := caller(ctx)
	if err != nil {
		return Principal{}, err
	}
	if !p.Admin {
		return Principal{}, model.Forbidden("", "dead-letter triage needs a token with the admin role "+
			"(`bin/token -admin` prints one for `make run`; `bin/orderflowctl` mints its own)")
	}
	return p, nil
}

// deadLetterRef reads the global id of a letter ("payment:42") from the
// argument named field.
func (r *Resolver) deadLetterRef(field, id string) (model.DeadLetterRef, error) {
	ref, ok := model.ParseDeadLetterRef(id)
	if !ok || !slices.Contains(r.deadLetters.Services(), ref.Service) {
		return model.DeadLetterRef{}, model.BadInput(field, fmt.Sprintf(
			`%s must be a dead letter's id, "<service>:<number>" such as "payment:42", where the service is one of %s; got %q`,
			field, r.serviceList(), truncate(id, 64)))
	}
	return ref, nil
}

// deadLetterService checks an optional service argument: nil selects every
// service.
func (r *Resolver) deadLetterService(field string, service *string) (string, error) {
	if service == nil {
		return "", nil
	}
	if !slices.Contains(r.deadLetters.Services(), *service) {
		return "", model.BadInput(field, fmt.Sprintf("%s must be one of %s (or left out for all), got %q",
			field, r.serviceList(), truncate(*service, 64)))
	}
	return *service, nil
}

func (r *Resolver) serviceList() string { return strings.Join(r.deadLetters.Services(), ", ") }

// deadLetterPageSize applies the default and the bounds of a page of
// letters.
func deadLetterPageSize(first *int) (int, error) {
	if first == nil {
		return defaultDeadLetterPage, nil
	}
	if *first < 1 || *first > MaxDeadLetterPage {
		return 0, model.BadInput("first", fmt.Sprintf("first must be between 1 and %d, got %d", MaxDeadLetterPage, *first))
	}
	return *first, nil
}

// discardNote checks the note of a discard: the audit trail keeps it, so
// that whoever looks at the letter later learns why it was given up on.
func discardNote(note string) (string, error) {
	note = strings.TrimSpace(note)
	if note == "" {
		return "", model.BadInput("note", "note must say why the letter is discarded (it is kept in the letter's audit trail); it is empty")
	}
	return note, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
