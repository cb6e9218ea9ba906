package chaos_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/e2e/chaos"
)

func TestSubscriptionSessionsAgainstTheHistory(t *testing.T) {
	cancelled := map[int]string{1: "PENDING", 2: "PAID", 3: "CANCELLING", 4: "CANCELLED"}
	p := func(versions ...int) []chaos.Push {
		var out []chaos.Push
		for _, v := range versions {
			out = append(out, chaos.Push{Version: v, Status: cancelled[v]})
		}
		return out
	}
	for _, tc := range []struct {
		name                    string
		sessions                [][]chaos.Push
		resumed                 []bool
		missed, repeated, wrong int
		snapshotRepeats, jumps  int
	}{
		{name: "one session, every change", sessions: [][]chaos.Push{p(1, 2, 3, 4)}, resumed: []bool{false}},
		{name: "subscribed mid-flight", sessions: [][]chaos.Push{p(3, 4)}, resumed: []bool{false}},
		{name: "resumed after its cursor", sessions: [][]chaos.Push{p(1, 2), p(3, 4)}, resumed: []bool{false, true}},
		{name: "resumed session repeating its cursor", sessions: [][]chaos.Push{p(1, 2), p(2, 3, 4)}, resumed: []bool{false, true}, repeated: 1},
		{name: "resumed session skipping a change", sessions: [][]chaos.Push{p(1, 2), p(4)}, resumed: []bool{false, true}, missed: 1},
		{name: "plain re-subscription repeating the snapshot", sessions: [][]chaos.Push{p(1, 2), p(2, 3, 4)}, resumed: []bool{false, false}, snapshotRepeats: 1},
		{name: "plain re-subscription after changes it could not see", sessions: [][]chaos.Push{p(1), p(3, 4)}, resumed: []bool{false, false}, jumps: 1},
		{name: "plain re-subscription going back", sessions: [][]chaos.Push{p(1, 2, 3), p(2, 3, 4)}, resumed: []bool{false, false}, repeated: 1},
		{name: "a gap within a session", sessions: [][]chaos.Push{p(1, 3, 4)}, resumed: []bool{false}, missed: 1},
		{name: "a repeat within a session", sessions: [][]chaos.Push{p(1, 2, 2, 3, 4)}, resumed: []bool{false}, repeated: 1},
		{name: "never the last change", sessions: [][]chaos.Push{p(1, 2, 3)}, resumed: []bool{false}, missed: 1},
		{name: "a status the order never had", sessions: [][]chaos.Push{{{Version: 1, Status: "PENDING"}, {Version: 2, Status: "CANCELLED"}, {Version: 3, Status: "CANCELLING"}, {Version: 4, Status: "CANCELLED"}}}, resumed: []bool{false}, wrong: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := chaos.CheckSessions(tc.sessions, tc.resumed, cancelled)
			require.Equal(t, tc.missed, got.Missed, "missed: %v", got.Examples)
			require.Equal(t, tc.repeated, got.Repeated, "repeated: %v", got.Examples)
			require.Equal(t, tc.wrong, got.Wrong, "wrong: %v", got.Examples)
			require.Equal(t, tc.snapshotRepeats, got.SnapshotRepeats)
			require.Equal(t, tc.jumps, got.SnapshotJumps)
		})
	}
}
