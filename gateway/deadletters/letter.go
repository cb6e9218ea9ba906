package deadletters

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/platform/parking"
)

// toModel converts a service's letter to the API's.
func toModel(service string, l parking.Letter) (*model.DeadLetter, error) {
	kind := model.DeadLetterKind(strings.ToUpper(l.Kind))
	state := model.DeadLetterState(strings.ToUpper(l.State))
	if !kind.IsValid() || !state.IsValid() {
		return nil, fmt.Errorf("the %s service sent letter %d of kind %q in state %q", service, l.ID, l.Kind, l.State)
	}
	ref := model.DeadLetterRef{Service: service, Number: l.ID}
	out := &model.DeadLetter{
		ID: ref.String(), Service: service, Number: l.ID, Kind: kind, State: state,
		Reason: l.Reason, Attempts: l.Attempts, Replays: l.Replays, ConsumerGroup: l.ConsumerGroup,
		Topic: l.Topic, Partition: int(l.Partition), Offset: strconv.FormatInt(l.Offset, 10), Key: l.Key,
		OrderID: optional(l.Key), EventID: optional(l.EventID), EventType: optional(l.EventType),
		Event: optional(string(l.Event)), Value: optional(l.Value),
		ParkedAt: l.ParkedAt, UpdatedAt: l.UpdatedAt,
	}
	if l.Audit != nil {
		out.Audit = make([]*model.DeadLetterAuditEntry, len(l.Audit))
		for i, a := range l.Audit {
			out.Audit[i] = &model.DeadLetterAuditEntry{At: a.At, Action: a.Action, Actor: a.Actor, Note: optional(a.Note)}
		}
	}
	return out, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// letterError is serviceError for a call about one letter, which is named
// in the words of the API ("payment:42") rather than the service's.
func letterError(ref model.DeadLetterRef, err error) error {
	switch parking.Code(err) {
	case parking.CodeNotFound:
		return model.NotFound(fmt.Sprintf("dead letter %s does not exist", ref))
	case parking.CodeConflict:
		return &model.Error{Code: model.CodeConflict, Message: fmt.Sprintf("dead letter %s: %s", ref, message(err))}
	}
	return serviceError(ref.Service, err)
}

// serviceError turns a service's error into the API's, naming the
// service. An error the service calls internal, or one that is not the
// service's answer, is left for the error presenter to log and report as
// INTERNAL.
func serviceError(service string, err error) error {
	var pe *parking.Error
	if !errors.As(err, &pe) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return err // the presenter words a request that took too long or went away
		}
		return fmt.Errorf("%s triage: %w", service, err)
	}
	switch pe.Code {
	case parking.CodeInvalid:
		return model.BadInput("", fmt.Sprintf("the %s service refused the request: %s", service, pe.Message))
	case parking.CodeNotFound:
		return model.NotFound(fmt.Sprintf("the %s service: %s", service, pe.Message))
	case parking.CodeConflict:
		return &model.Error{Code: model.CodeConflict, Message: fmt.Sprintf("the %s service: %s", service, pe.Message)}
	case parking.CodeUnavailable:
		if pe.StatusCode == 0 {
			return model.Unavailable(fmt.Sprintf("the %s service did not answer (is it running?); retry when it is up", service))
		}
		if strings.Contains(pe.Message, "the "+service+" service") { // the client's own words
			return model.Unavailable(pe.Message + "; retry later")
		}
		return model.Unavailable(fmt.Sprintf("the %s service is unavailable: %s; retry later", service, pe.Message))
	default:
		return fmt.Errorf("%s triage: %w", service, err)
	}
}

// message is the service's words of a *parking.Error.
func message(err error) string {
	var pe *parking.Error
	if errors.As(err, &pe) {
		return pe.Message
	}
	return err.Error()
}
