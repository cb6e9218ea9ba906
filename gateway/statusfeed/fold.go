package statusfeed

import (
	"slices"

	"github.com/orderflow/orderflow/gateway/orderview"
	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/schema"
)

// maxPending bounds the events a fold holds back. An order has about ten
// events in all; more waiting means the fold started after the stream's
// beginning and will never catch up on its own.
const maxPending = 64

// fold is one order folded from its events, each stream (the order's, its
// payment's) in version order. orderview applies an event whose version is
// above its stream's, so an event that comes ahead of the next one (the
// first a reader met after starting in the middle of the order, or one
// published out of order) waits in pending until the events before it come.
type fold struct {
	order   model.Order
	pending []schema.Envelope
}

// apply folds env and every pending event it unblocks, calling applied after
// each one folded in (with f.order as it is after it). Events orderview does
// not fold (compensation's) are ignored.
func (f *fold) apply(env schema.Envelope, applied func(orderview.Change)) {
	if !orderview.Folds(env) {
		return
	}
	if f.ahead(env) {
		if len(f.pending) < maxPending {
			f.pending = append(f.pending, env)
		}
		return
	}
	f.step(env, applied)
	for progress := true; progress; {
		progress = false
		for i, p := range f.pending {
			if !f.ahead(p) {
				f.pending = slices.Delete(f.pending, i, i+1)
				f.step(p, applied)
				progress = true
				break
			}
		}
	}
}

func (f *fold) step(env schema.Envelope, applied func(orderview.Change)) {
	if c := orderview.Apply(&f.order, env); c.Changed && applied != nil {
		applied(c)
	}
}

// ahead reports whether events of env's stream are missing before it. A
// repeat (version already folded) is not ahead: orderview ignores it.
func (f *fold) ahead(env schema.Envelope) bool {
	switch env.AggregateType {
	case schema.AggregateOrder:
		return env.Version > f.order.Version+1
	case schema.AggregatePayment:
		p := f.order.Payment
		if p == nil {
			return env.Version > 1
		}
		return p.ID == env.AggregateID && env.Version > p.Version+1
	}
	return false
}

// complete reports whether the fold is the order as its events so far say:
// its OrderCreated is in and no event waits for an earlier one.
func (f *fold) complete() bool { return orderview.Created(&f.order) && len(f.pending) == 0 }

// empty reports whether nothing has been folded or held back.
func (f *fold) empty() bool { return f.order.ID == "" && len(f.pending) == 0 }

func (f *fold) clone() fold {
	var c fold
	if o := orderview.Clone(&f.order); o != nil {
		c.order = *o
	}
	c.pending = slices.Clone(f.pending)
	return c
}
