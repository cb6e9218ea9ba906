package timeline

import (
	"cmp"
	"container/heap"
	"slices"
	"time"

	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/platform/tracing"
	"github.com/orderflow/orderflow/schema"
)

// FromEvents returns the timeline of one order's events, given in the
// order JetStream holds them. Each event appears once: a repeat of an event
// id (the mirror may publish an event again after its deduplication window)
// is dropped. The order is causal: an event comes after its cause (the
// event its causationId names, when that is among envs) and after the event
// before it in its own stream; events that do not depend on each other come
// by occurredAt, then stream version, then the order they were given in.
// Causation ids that form a cycle (which no service writes) do not lose
// events: once nothing else can be placed, the earliest event left is
// placed as if it had no cause, so the events of a cycle come last.
func FromEvents(envs []schema.Envelope) []*model.TimelineEntry {
	events := unique(envs)
	placed := causalOrder(events)
	out := make([]*model.TimelineEntry, len(placed))
	for i, e := range placed {
		entry := &model.TimelineEntry{
			EventID: e.ID, Service: e.AggregateType, Type: e.Type, Version: e.Version, OccurredAt: e.OccurredAt,
		}
		if e.CausationID != "" {
			entry.CausationID = new(e.CausationID)
		}
		if id := tracing.TraceID(e.TraceParent); id != "" {
			entry.TraceID = &id
		}
		if i > 0 {
			gap := float64(e.OccurredAt.Sub(placed[i-1].OccurredAt)) / float64(time.Millisecond)
			entry.SincePreviousMs = &gap
		}
		out[i] = entry
	}
	return out
}

// unique keeps the first copy of each event id.
func unique(envs []schema.Envelope) []schema.Envelope {
	seen := make(map[string]bool, len(envs))
	out := make([]schema.Envelope, 0, len(envs))
	for _, e := range envs {
		if !seen[e.ID] {
			seen[e.ID] = true
			out = append(out, e)
		}
	}
	return out
}

// streamPosition names one event of a stream.
type streamPosition struct {
	aggregateType, aggregateID string
	version                    int
}

// causalOrder sorts events topologically (Kahn's algorithm), always taking
// the earliest event whose predecessors are all placed. When event times
// agree with causality (a cause is never later than its effect), the
// result is in time order too.
func causalOrder(events []schema.Envelope) []schema.Envelope {
	n := len(events)
	// rank is each event's place among all of them by time, then version;
	// ties stay in the given order.
	byTime := make([]int, n)
	for i := range byTime {
		byTime[i] = i
	}
	slices.SortStableFunc(byTime, func(a, b int) int {
		return cmp.Or(events[a].OccurredAt.Compare(events[b].OccurredAt), cmp.Compare(events[a].Version, events[b].Version))
	})
	rank := make([]int, n)
	for r, i := range byTime {
		rank[i] = r
	}

	byID := make(map[string]int, n)
	byPosition := make(map[streamPosition]int, n)
	for i, e := range events {
		byID[e.ID] = i
		pos := streamPosition{e.AggregateType, e.AggregateID, e.Version}
		if _, dup := byPosition[pos]; !dup {
			byPosition[pos] = i
		}
	}
	waiting := make([]int, n) // predecessors not placed yet
	next := make([][]int, n)  // the events waiting for each
	for i, e := range events {
		preds := make([]int, 0, 2)
		if c, ok := byID[e.CausationID]; ok && c != i {
			preds = append(preds, c)
		}
		if p, ok := byPosition[streamPosition{e.AggregateType, e.AggregateID, e.Version - 1}]; ok && p != i && e.Version > 1 {
			if len(preds) == 0 || preds[0] != p {
				preds = append(preds, p)
			}
		}
		waiting[i] = len(preds)
		for _, p := range preds {
			next[p] = append(next[p], i)
		}
	}

	ready := &rankHeap{rank: rank}
	for i := range events {
		if waiting[i] == 0 {
			heap.Push(ready, i)
		}
	}
	placed := make([]bool, n)
	out := make([]schema.Envelope, 0, n)
	earliest := 0 // into byTime: no event before it is left unplaced
	for len(out) < n {
		if ready.Len() == 0 { // the rest wait on each other: a causation cycle
			for placed[byTime[earliest]] {
				earliest++
			}
			heap.Push(ready, byTime[earliest])
		}
		i := heap.Pop(ready).(int)
		if placed[i] {
			continue
		}
		placed[i] = true
		out = append(out, events[i])
		for _, j := range next[i] {
			if waiting[j]--; waiting[j] == 0 && !placed[j] {
				heap.Push(ready, j)
			}
		}
	}
	return out
}

// rankHeap is a min-heap of event indexes by rank.
type rankHeap struct {
	rank  []int
	items []int
}

func (h *rankHeap) Len() int           { return len(h.items) }
func (h *rankHeap) Less(a, b int) bool { return h.rank[h.items[a]] < h.rank[h.items[b]] }
func (h *rankHeap) Swap(a, b int)      { h.items[a], h.items[b] = h.items[b], h.items[a] }
func (h *rankHeap) Push(x any)         { h.items = append(h.items, x.(int)) }
func (h *rankHeap) Pop() any {
	last := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return last
}
