package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Codec turns envelopes into JSON and back. The wire form is the envelope's
// fields with the payload under "data":
//
//	{"id":"…","type":"order.created.v1","aggregateType":"order",…,"data":{…}}
type Codec struct {
	registry *Registry
}

// NewCodec returns a codec over registry.
func NewCodec(registry *Registry) *Codec { return &Codec{registry: registry} }

// Registry returns the codec's type registry.
func (c *Codec) Registry() *Registry { return c.registry }

type wireEnvelope struct {
	Envelope
	Data json.RawMessage `json:"data"`
}

// Encode returns the JSON form of env. It refuses an envelope whose payload is
// missing or invalid, so nothing malformed is ever written.
func (c *Codec) Encode(env Envelope) ([]byte, error) {
	value, _, err := c.EncodeParts(env)
	return value, err
}

// EncodeParts returns the JSON form of env and, separately, of its payload
// (as the event store keeps it), validating and marshalling the payload once.
func (c *Codec) EncodeParts(env Envelope) (value, data []byte, err error) {
	if err := ValidateEnvelope(env); err != nil {
		return nil, nil, err
	}
	data, err = json.Marshal(env.Payload)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal %s: %w", env.Type, err)
	}
	value, err = json.Marshal(wireEnvelope{Envelope: env, Data: data})
	if err != nil {
		return nil, nil, fmt.Errorf("marshal %s: %w", env.Type, err)
	}
	return value, data, nil
}

// Decode parses the JSON form of an envelope. Every failure is a *DecodeError
// whose Kind tells unknown types from malformed or invalid ones.
func (c *Codec) Decode(b []byte) (Envelope, error) {
	var w wireEnvelope
	if err := decodeJSON(b, &w); err != nil {
		return Envelope{}, &DecodeError{Kind: ErrMalformed, Detail: err.Error()}
	}
	if len(w.Data) == 0 || bytes.Equal(w.Data, []byte("null")) {
		return Envelope{}, &DecodeError{Kind: ErrInvalid, Type: w.Type, Detail: `missing field "data"`}
	}
	if w.Type == "" {
		return Envelope{}, &DecodeError{Kind: ErrInvalid, Detail: `missing field "type"`}
	}
	typ, ev, err := c.registry.DecodeData(w.Type, w.Data)
	if err != nil {
		return Envelope{}, err
	}
	env := w.Envelope
	env.Type, env.Payload = typ, ev
	if err := ValidateEnvelope(env); err != nil {
		return Envelope{}, err
	}
	return env, nil
}

// ValidateEnvelope reports the first missing or invalid envelope field.
func ValidateEnvelope(env Envelope) error {
	var problems []string
	if _, err := uuid.Parse(env.ID); err != nil {
		problems = append(problems, "id must be a UUID")
	}
	if env.Type == "" {
		problems = append(problems, "type is empty")
	}
	if env.AggregateType == "" || env.AggregateID == "" {
		problems = append(problems, "aggregateType and aggregateId are required")
	}
	if env.Version < 0 {
		problems = append(problems, "version must not be negative")
	}
	if env.OccurredAt.IsZero() || env.OccurredAt.After(time.Now().Add(24*time.Hour)) {
		problems = append(problems, "occurredAt is missing or in the far future")
	}
	if env.CorrelationID == "" {
		problems = append(problems, "correlationId is required")
	}
	if env.Payload == nil {
		problems = append(problems, "payload is missing")
	} else if env.Payload.EventType() != env.Type {
		problems = append(problems, fmt.Sprintf("type %q does not match payload %q", env.Type, env.Payload.EventType()))
	} else if err := env.Payload.Validate(); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) == 0 {
		return nil
	}
	return &DecodeError{Kind: ErrInvalid, Type: env.Type, Detail: fmt.Sprint(problems)}
}

// decodeJSON decodes exactly one JSON value. Unknown fields are ignored on
// purpose (a tolerant reader): events may grow fields without breaking older
// consumers, while a missing required field is caught by Validate.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}
