package chaos

import (
	"fmt"
	"sort"
)

// SubscriptionCheck is what the subscribers were sent, against each
// order's history in the store.
type SubscriptionCheck struct {
	Orders   int `json:"orders"`   // orders followed
	Sessions int `json:"sessions"` // subscriptions opened for them
	// Resubscribed is how many orders needed more than one session (their
	// gateway went away, or the subscription broke).
	Resubscribed int `json:"resubscribed"`
	// Missed: a session skipped a version, a resumed one did not go on
	// from the version it was given, or the order's last change was never
	// pushed. Repeated: a version sent twice (beyond the snapshot a plain
	// re-subscription starts with). Wrong: a status the order never had at
	// that version.
	Missed   int `json:"missed"`
	Repeated int `json:"repeated"`
	Wrong    int `json:"wrong"`
	// Allowed without a resume cursor: a re-subscription starts with the
	// order as it is now, which may repeat the last version pushed
	// (SnapshotRepeats) or come after changes made while no session was
	// open (SnapshotJumps).
	SnapshotRepeats int      `json:"snapshotRepeats"`
	SnapshotJumps   int      `json:"snapshotJumps"`
	Examples        []string `json:"examples,omitempty"`
}

func (c *SubscriptionCheck) example(format string, args ...any) {
	if len(c.Examples) < 20 {
		c.Examples = append(c.Examples, fmt.Sprintf(format, args...))
	}
}

// checkSubscriptions compares every acknowledged order's sessions with its
// history.
func checkSubscriptions(orders []*order, stored map[string]*storedOrder) SubscriptionCheck {
	var c SubscriptionCheck
	for _, o := range orders {
		o.mu.Lock()
		id, sessions, resumed := o.id, o.sessions, o.resumed
		o.mu.Unlock()
		s, ok := stored[id]
		if id == "" || !ok {
			continue // not acknowledged, or lost: counted apart
		}
		c.Orders++
		c.Sessions += len(sessions)
		if len(sessions) > 1 {
			c.Resubscribed++
		}
		missed, repeated, wrong := false, false, false
		last := 0
		for si, pushes := range sessions {
			prev := last
			for j, p := range pushes {
				if s.history[p.Version] != p.Status {
					wrong = true
					c.example("order %s: session %d pushed %s at v%d, the store has %q", id, si, p.Status, p.Version, s.history[p.Version])
				}
				switch {
				case j == 0 && last == 0: // a first snapshot: any version
				case j == 0 && !resumed[si]:
					switch {
					case p.Version < last:
						repeated = true
						c.example("order %s: re-subscription %d went back to v%d after v%d", id, si, p.Version, last)
					case p.Version == last:
						c.SnapshotRepeats++
					case p.Version > last+1:
						c.SnapshotJumps++
					}
				case p.Version <= prev:
					repeated = true
					c.example("order %s: session %d pushed v%d after v%d", id, si, p.Version, prev)
				case p.Version > prev+1:
					missed = true
					c.example("order %s: session %d pushed v%d after v%d (resumed: %v)", id, si, p.Version, prev, resumed[si])
				}
				prev = p.Version
				last = max(last, p.Version)
			}
		}
		if last < s.version {
			missed = true
			c.example("order %s: the last version pushed is v%d, the store's is v%d (%s)", id, last, s.version, s.status)
		}
		if missed {
			c.Missed++
		}
		if repeated {
			c.Repeated++
		}
		if wrong {
			c.Wrong++
		}
	}
	sort.Strings(c.Examples)
	return c
}
