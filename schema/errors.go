package schema

import (
	"errors"
	"fmt"
)

// Sentinel errors a decoder returns, wrapped in a *DecodeError. Consumers use
// errors.Is to tell a message that can never be handled (dead-letter it) from
// a transient failure.
var (
	ErrUnknownType = errors.New("unknown event type")
	ErrMalformed   = errors.New("malformed event")
	ErrInvalid     = errors.New("invalid event")
)

// DecodeError says why bytes could not become an event.
type DecodeError struct {
	Kind   error  // ErrUnknownType, ErrMalformed or ErrInvalid
	Type   string // the event type, when it could be read
	Detail string // what is wrong, for a person
}

func (e *DecodeError) Error() string {
	if e.Type != "" {
		return fmt.Sprintf("%v %q: %s", e.Kind, e.Type, e.Detail)
	}
	return fmt.Sprintf("%v: %s", e.Kind, e.Detail)
}

func (e *DecodeError) Unwrap() error { return e.Kind }

// required returns an ErrInvalid-kind error naming the missing fields, or nil.
func required(fields ...field) error {
	var missing []string
	for _, f := range fields {
		if !f.ok {
			missing = append(missing, f.name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("missing or invalid field(s): %v", missing)
}

type field struct {
	name string
	ok   bool
}

func str(name, v string) field            { return field{name, v != ""} }
func positive(name string, v int64) field { return field{name, v > 0} }
