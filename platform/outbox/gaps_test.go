package outbox

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGapsTrackRowsThatMayStillCommit(t *testing.T) {
	var g gaps

	// First fetch: 3 and 6 committed, 1-2 and 4-5 not (yet).
	g.update([]int64{3, 6}, true, 100)
	require.EqualValues(t, 6, g.cursor)
	require.Equal(t, []gap{{1, 2, 0}, {4, 5, 0}}, g.open)
	los, his := g.bounds()
	require.Equal(t, []int64{1, 4}, los)
	require.Equal(t, []int64{2, 5}, his)

	// However far xmin moves, a gap without a bound stays open.
	g.update(nil, true, 1_000)
	require.Len(t, g.open, 2)
	require.True(t, g.unbounded())

	// The relay draws xid 1_010: every filler of these gaps is below it.
	g.setBound(1_010)
	require.False(t, g.unbounded())

	// 4 commits late, 8 is new (7 is a new gap, unbounded); xmin has not
	// passed 1_010 yet, so 1-2 and 5 may still come.
	g.update([]int64{4, 8}, true, 1_005)
	require.EqualValues(t, 8, g.cursor)
	require.Equal(t, []gap{{1, 2, 1_010}, {5, 5, 1_010}, {7, 7, 0}}, g.open)

	// Every transaction below 1_010 has ended: those gaps stay empty for
	// good; 7 waits for its bound.
	g.update(nil, true, 1_010)
	require.Equal(t, []gap{{7, 7, 0}}, g.open)
	g.setBound(1_020)
	g.update(nil, true, 1_021)
	require.Empty(t, g.open)
}

func TestGapsBeyondAFullFetchStayOpen(t *testing.T) {
	g := gaps{cursor: 20, open: []gap{{2, 3, 50}, {10, 12, 50}}}
	// The fetch hit its limit at row 11: the ids up to 11 were looked at
	// (and closed: xmin passed the bound), 12 was not — it stays open.
	g.update([]int64{11}, false, 60)
	require.Equal(t, []gap{{12, 12, 50}}, g.open)
	require.EqualValues(t, 20, g.cursor)
}

func TestGapsSplitAroundSeveralLateRows(t *testing.T) {
	g := gaps{cursor: 100, open: []gap{{1, 50, 500}}}
	g.update([]int64{1, 10, 11, 50, 101, 105}, true, 400)
	require.EqualValues(t, 105, g.cursor)
	require.Equal(t, []gap{{2, 9, 500}, {12, 49, 500}, {102, 104, 0}}, g.open)
}
