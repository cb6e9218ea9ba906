package chaos

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Report is a run's verdict and what it rests on.
type Report struct {
	Started  time.Time `json:"started"`
	Command  string    `json:"command"`
	Revision string    `json:"revision"`
	Profile  string    `json:"profile"`
	Seed     uint64    `json:"seed"`
	Rate     int       `json:"rate"` // orders offered per second
	// Replicas are the processes of each service.
	Replicas map[string][]string `json:"replicas"`
	// Resume says whether subscribers resumed with afterVersion.
	Resume bool   `json:"resume"`
	Faults []Span `json:"faults"`
	// LoadEnd, Healed and Settled are seconds from the start: the last
	// order offered, everything healed, and the end of the wait for every
	// order to be final (at most SettleSeconds after Healed).
	LoadEnd           float64 `json:"loadEnd"`
	Healed            float64 `json:"healed"`
	Settled           float64 `json:"settled"`
	SettleSeconds     float64 `json:"settleSeconds"`
	ReadModelsRebuilt bool    `json:"readModelsRebuilt"`
	WallSeconds       float64 `json:"wallSeconds"`

	Offered      int `json:"offered"`
	Acknowledged int `json:"acknowledged"`
	// Unacknowledged orders never got an answer to createOrder (every
	// retry failed until the run gave up): not a violation, if the
	// stores are consistent.
	Unacknowledged int `json:"unacknowledged"`
	// Lost: acknowledged, not in the order store. IdempotencyBroken: one
	// idempotency key answered with two order ids.
	Lost              int            `json:"lost"`
	LostIDs           []string       `json:"lostIds,omitempty"`
	IdempotencyBroken int            `json:"idempotencyBroken"`
	DoubleCharges     int            `json:"doubleCharges"`
	NotTerminal       int            `json:"notTerminal"`
	NotTerminalIDs    []string       `json:"notTerminalIds,omitempty"`
	Stored            int            `json:"storedOrders"`
	ByStatus          map[string]int `json:"byStatus"`
	// CancelReasons counts the cancelled orders by reason (a payment
	// deadline that fired is PAYMENT_TIMEOUT).
	CancelReasons map[string]int `json:"cancelReasons"`
	// Logged counts lines of the processes' logs that show the replicas
	// handing work over: a relay becoming active (the advisory lock moved),
	// partitions assigned (a consumer group rebalanced), outbox rows found
	// already published after a crash.
	Logged map[string]map[string]int `json:"logged"`

	Subscriptions     SubscriptionCheck `json:"subscriptions"`
	ReadModelDiffs    int               `json:"readModelDiffs"`
	ReadModelExamples []string          `json:"readModelExamples,omitempty"`
	Mirror            MirrorCheck       `json:"mirror"`
	Invariants        InvariantSummary  `json:"invariants"`

	// ClientErrors counts failed calls by operation and kind
	// ("create transport", "subscribe broken"); CreateAttempts is every
	// createOrder sent, retries included.
	ClientErrors   map[string]int `json:"clientErrors"`
	CreateAttempts int            `json:"createAttempts"`
	// Latencies in ms from an order's scheduled start: createOrder
	// answered, and PAID or CANCELLED pushed.
	Ack   Percentiles `json:"ackMs"`
	Final Percentiles `json:"finalMs"`
	// BalancerRequests is how many requests each order replica answered
	// through the harness's balancer.
	BalancerRequests map[string]int64 `json:"balancerRequests"`

	// Details are the events, across the stores, of each order a
	// violation names (seconds from the start of the run first).
	Details map[string][]string `json:"details,omitempty"`

	Series     []Second `json:"series"`
	Violations []string `json:"violations"`
	OK         bool     `json:"ok"`
}

// InvariantSummary is the invariant checker's report, in short.
type InvariantSummary struct {
	Orders     int      `json:"orders"`
	Charges    int      `json:"charges"`
	Captures   int      `json:"captures"`
	Refunded   int      `json:"refunded"`
	Violations []string `json:"violations"`
}

// Percentiles of a latency, in ms.
type Percentiles struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// Second is one second of the run.
type Second struct {
	T         int `json:"t"`
	Offered   int `json:"offered"`
	Acked     int `json:"acked"`     // createOrder answered in this second
	Completed int `json:"completed"` // PAID or CANCELLED pushed in this second
	Errors    int `json:"errors"`    // failed client calls in this second
	// Final latency of the orders scheduled in this second, ms.
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
}

// Write writes chaos.json and chaos.html into dir.
func (r Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "chaos.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write chaos.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "chaos.html"), []byte(r.HTML()), 0o644); err != nil {
		return fmt.Errorf("write chaos.html: %w", err)
	}
	return nil
}
