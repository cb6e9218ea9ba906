package outbox

import "math"

// gaps is how the relay reads the outbox without reading a row twice while
// earlier rows are still on their way to Kafka: a cursor (the highest id
// fetched) and the gaps below it — ids the cursor passed over that may still
// show up because the transaction that took them had not committed yet.
//
// Outbox ids come from a sequence (cache 1), so they are taken in time order
// but may become visible out of order. A row in a gap can only come from a
// transaction that already had an xid when the gap was found: it took the id
// before a row above it committed, and every append writes `streams` before
// `outbox`. So once the relay has drawn a fresh xid after finding a gap (its
// bound), and a later snapshot's xmin has passed that bound, every
// transaction that could fill the gap has ended, and a gap that snapshot
// still sees empty stays empty forever. (A snapshot's own xmax is not such
// a bound: it is one past the last *completed* xid, and a running
// transaction's xid can be above it.) Gaps are kept as ranges: a relay that
// starts after others deleted many rows has one range, not one per id.
type gaps struct {
	cursor int64
	open   []gap // sorted by lo, disjoint, all below cursor
}

type gap struct {
	lo, hi int64
	// bound is an xid drawn after the gap was found, so above the xid of
	// every transaction that could still fill it; 0 until one is drawn.
	bound int64
}

// bounds returns the open gaps as two arrays, for the fetch query.
func (g *gaps) bounds() (los, his []int64) {
	los, his = make([]int64, len(g.open)), make([]int64, len(g.open))
	for i, o := range g.open {
		los[i], his[i] = o.lo, o.hi
	}
	return los, his
}

// unbounded reports whether a gap waits for a bound.
func (g *gaps) unbounded() bool {
	for _, o := range g.open {
		if o.bound == 0 {
			return true
		}
	}
	return false
}

// setBound gives xid, drawn just now, as the bound of every gap without one.
func (g *gaps) setBound(xid int64) {
	for i := range g.open {
		if g.open[i].bound == 0 {
			g.open[i].bound = xid
		}
	}
}

// update applies a fetch: ids are the ids it returned, ascending (rows in
// open gaps, then rows above the cursor); complete says it returned fewer
// rows than its limit, so every open gap was looked at; xmin is the fetch's
// snapshot's: no transaction with a lower xid was running.
func (g *gaps) update(ids []int64, complete bool, xmin int64) {
	examined := int64(math.MaxInt64)
	if !complete && len(ids) > 0 {
		examined = ids[len(ids)-1]
	}
	var next []gap
	keep := func(o gap) {
		if o.lo > o.hi {
			return
		}
		if o.bound != 0 && o.hi <= examined && xmin >= o.bound {
			return // seen empty after every transaction that could fill it ended
		}
		next = append(next, o)
	}

	// Rows found in gaps split them.
	i := 0
	for _, o := range g.open {
		for ; i < len(ids) && ids[i] <= o.hi; i++ {
			if ids[i] >= o.lo {
				keep(gap{lo: o.lo, hi: ids[i] - 1, bound: o.bound})
				o.lo = ids[i] + 1
			}
		}
		keep(o)
	}
	// Rows above the cursor move it, leaving gaps between them.
	for ; i < len(ids); i++ {
		if ids[i] <= g.cursor {
			continue
		}
		keep(gap{lo: g.cursor + 1, hi: ids[i] - 1})
		g.cursor = ids[i]
	}
	g.open = next
}
