package schema

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Upcaster turns the data of an old event version into the data of a newer
// type, e.g. order.created.v1 into order.created.v2. The registry applies
// upcasters in a chain until it reaches a registered type.
type Upcaster func(data json.RawMessage) (newType string, newData json.RawMessage, err error)

// Registry maps event type names to Go types, and old names to upcasters.
type Registry struct {
	types     map[string]func() Event
	upcasters map[string]Upcaster
}

// NewRegistry returns a registry of every event type in this package.
func NewRegistry() *Registry {
	r := &Registry{types: map[string]func() Event{}, upcasters: map[string]Upcaster{}}
	for _, f := range []func() Event{
		func() Event { return &OrderCreated{} },
		func() Event { return &OrderPaid{} },
		func() Event { return &OrderCancellationRequested{} },
		func() Event { return &OrderCancelled{} },
		func() Event { return &PaymentRequested{} },
		func() Event { return &PaymentCaptured{} },
		func() Event { return &PaymentDeclined{} },
		func() Event { return &PaymentFailed{} },
		func() Event { return &PaymentRefunded{} },
		func() Event { return &SagaStarted{} },
		func() Event { return &SagaSettled{} },
		func() Event { return &CaptureRecorded{} },
		func() Event { return &CancellationDecided{} },
		func() Event { return &CancellationStarted{} },
		func() Event { return &RefundRequested{} },
		func() Event { return &RefundConfirmed{} },
		func() Event { return &CancellationCompleted{} },
	} {
		r.Register(f)
	}
	return r
}

// Register adds an event type; newEvent returns a pointer to a zero value.
func (r *Registry) Register(newEvent func() Event) {
	r.types[newEvent().EventType()] = newEvent
}

// RegisterUpcaster makes events of oldType readable: their data goes through
// up before decoding.
func (r *Registry) RegisterUpcaster(oldType string, up Upcaster) {
	r.upcasters[oldType] = up
}

// Types lists the registered type names, sorted.
func (r *Registry) Types() []string {
	out := make([]string, 0, len(r.types))
	for t := range r.types {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// maxUpcasts bounds an upcaster chain, so a cycle is an error, not a hang.
const maxUpcasts = 16

// DecodeData turns an event's data into its Go value, upcasting old types.
// It returns the (possibly upcast) type name with the event.
func (r *Registry) DecodeData(eventType string, data []byte) (string, Event, error) {
	for range maxUpcasts {
		if newEvent, ok := r.types[eventType]; ok {
			ptr := newEvent()
			if err := decodeJSON(data, ptr); err != nil {
				return "", nil, &DecodeError{Kind: ErrMalformed, Type: eventType, Detail: err.Error()}
			}
			ev := deref(ptr)
			if err := ev.Validate(); err != nil {
				return "", nil, &DecodeError{Kind: ErrInvalid, Type: eventType, Detail: err.Error()}
			}
			return eventType, ev, nil
		}
		up, ok := r.upcasters[eventType]
		if !ok {
			return "", nil, &DecodeError{Kind: ErrUnknownType, Type: eventType,
				Detail: "no Go type or upcaster is registered for it"}
		}
		newType, newData, err := up(data)
		if err != nil {
			return "", nil, &DecodeError{Kind: ErrMalformed, Type: eventType, Detail: "upcast: " + err.Error()}
		}
		eventType, data = newType, newData
	}
	return "", nil, &DecodeError{Kind: ErrUnknownType, Type: eventType,
		Detail: fmt.Sprintf("upcaster chain longer than %d", maxUpcasts)}
}

// deref returns the value a registered constructor's pointer points to, so
// that payloads are plain values (OrderCreated, not *OrderCreated).
func deref(ptr Event) Event {
	switch p := ptr.(type) {
	case *OrderCreated:
		return *p
	case *OrderPaid:
		return *p
	case *OrderCancellationRequested:
		return *p
	case *OrderCancelled:
		return *p
	case *PaymentRequested:
		return *p
	case *PaymentCaptured:
		return *p
	case *PaymentDeclined:
		return *p
	case *PaymentFailed:
		return *p
	case *PaymentRefunded:
		return *p
	case *SagaStarted:
		return *p
	case *SagaSettled:
		return *p
	case *CaptureRecorded:
		return *p
	case *CancellationDecided:
		return *p
	case *CancellationStarted:
		return *p
	case *RefundRequested:
		return *p
	case *RefundConfirmed:
		return *p
	case *CancellationCompleted:
		return *p
	}
	return ptr // a type registered from outside this package stays a pointer
}
