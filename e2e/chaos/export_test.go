package chaos

// Push is a pushed order, for the external tests.
type Push = push

// CheckSessions runs the subscription check on one order's sessions
// against its history (status by version; its last version is the
// order's).
func CheckSessions(sessions [][]Push, resumed []bool, history map[int]string) SubscriptionCheck {
	last := 0
	for v := range history {
		last = max(last, v)
	}
	o := &order{id: "o1", sessions: sessions, resumed: resumed}
	return checkSubscriptions([]*order{o}, map[string]*storedOrder{"o1": {version: last, status: history[last], history: history}})
}
