package e2e_test

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/e2e/clients"
	"github.com/orderflow/orderflow/e2e/harness"
	"github.com/orderflow/orderflow/platform/metrics/metricstest"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

type gqlDeadLetter struct {
	ID            string `json:"id"`
	Service       string `json:"service"`
	Kind          string `json:"kind"`
	State         string `json:"state"`
	Reason        string `json:"reason"`
	Attempts      int    `json:"attempts"`
	Replays       int    `json:"replays"`
	ConsumerGroup string `json:"consumerGroup"`
	Topic         string `json:"topic"`
	OrderID       string `json:"orderId"`
	EventType     string `json:"eventType"`
	Event         string `json:"event"`
	Audit         []struct {
		Action string `json:"action"`
		Actor  string `json:"actor"`
	} `json:"audit"`
}

const deadLetterFields = `id service kind state reason attempts replays consumerGroup topic orderId eventType event audit { action actor }`

func deadLetters(t *testing.T, g clients.GraphQL, kind string) ([]gqlDeadLetter, clients.Response) {
	t.Helper()
	var kindVar any // all kinds
	if kind != "" {
		kindVar = kind
	}
	var out struct {
		DeadLetters struct {
			Edges []struct {
				Node gqlDeadLetter `json:"node"`
			} `json:"edges"`
		} `json:"deadLetters"`
	}
	r, err := g.Do(context.Background(), `query($kind: DeadLetterKind) { deadLetters(kind: $kind, first: 100) {
		edges { node { `+deadLetterFields+` } } } }`, map[string]any{"kind": kindVar}, &out)
	require.NoError(t, err)
	var nodes []gqlDeadLetter
	for _, e := range out.DeadLetters.Edges {
		nodes = append(nodes, e.Node)
	}
	return nodes, r
}

// TestAMessageFailingPastItsBudgetIsParkedAndReplayedOverGraphQL: a
// transient fault (a row lock the order service's handler cannot get within
// its lock_timeout) outlasts the retry budget of one order's capture; the
// message is parked and the partition moves on — the other orders, all on
// the same partition, are paid. Once the lock is gone, an admin's
// replayDeadLetter pays the parked order; a second replay (through
// orderflowctl) changes nothing; the invariants hold.
func TestAMessageFailingPastItsBudgetIsParkedAndReplayedOverGraphQL(t *testing.T) {
	sys := harness.Start(t, binDir, harness.Options{
		PaymentTimeout:   5 * time.Minute, // no deadline fires while the capture is parked
		PostgresSettings: []string{"lock_timeout=300ms"},
		Env: []string{"ORDER_PARK_AFTER_ATTEMPTS=3", "ORDER_PARK_AFTER=30s",
			// One partition per topic: every order shares the parked one's.
			"PAYMENTGATEWAY_TOPIC_PARTITIONS=1", "ORDER_TOPIC_PARTITIONS=1", "PAYMENT_TOPIC_PARTITIONS=1",
			"COMPENSATION_TOPIC_PARTITIONS=1"},
	})
	ctx := testenv.Context(t, 4*time.Minute)
	customer := uuid.NewString()
	g := gqlAPI(sys, "gateway", customer)
	admin := g.As(sys.Token(uuid.NewString(), true))

	// tok_slow answers the first charge after the payment service gave up
	// waiting, so the capture comes a second or more after createOrder
	// answered: time to take the lock on the order's stream first.
	stuck := createViaAPI(t, g, orderInput(customer, "tok_slow"))
	orderDB, err := pgx.Connect(ctx, sys.DSN("order"))
	require.NoError(t, err)
	defer orderDB.Close(context.Background())
	lock, err := orderDB.Begin(ctx)
	require.NoError(t, err)
	var version int
	require.NoError(t, lock.QueryRow(ctx, `SELECT version FROM streams WHERE stream_type = $1 AND stream_id = $2 FOR UPDATE`,
		schema.AggregateOrder, stuck.ID).Scan(&version))
	require.Equal(t, 1, version, "the lock was taken before the capture was applied")

	var paid []gqlOrder
	for range 5 {
		paid = append(paid, createViaAPI(t, g, orderInput(customer, "tok_visa")))
	}
	for _, o := range paid {
		waitViaAPI(t, g, o.ID, "PAID", "CAPTURED")
	}

	// The stuck order's capture is parked, with its reason and attempts.
	var parked gqlDeadLetter
	testenv.Eventually(t, settle, func() error {
		letters, r := deadLetters(t, admin, "PARKED")
		if err := r.Err(); err != nil {
			return err
		}
		for _, l := range letters {
			if l.OrderID == stuck.ID && l.EventType == schema.TypePaymentCaptured {
				parked = l
				return nil
			}
		}
		return fmt.Errorf("no parked capture of %s among %d letters", stuck.ID, len(letters))
	})
	require.Equal(t, "order", parked.Service)
	require.Equal(t, "WAITING", parked.State)
	require.Equal(t, 3, parked.Attempts)
	require.Contains(t, parked.Reason, "lock timeout")
	require.Equal(t, sys.Prefix+schema.TopicPayment, parked.Topic)
	require.Contains(t, parked.Event, stuck.ID, "the decoded event is shown")
	o, err := queryOrder(t, g, stuck.ID)
	require.NoError(t, err)
	require.Equal(t, "PENDING", o.Status, "the parked capture was not applied")

	// The metrics say so.
	scrape := metricstest.Get(t, sys.URL("order"))
	scrape.Require(t, 1, "orderflow_consumer_parked_total", "reason", "budget")
	scrape.Require(t, 1, "orderflow_consumer_held_keys")

	// A customer may not triage.
	_, r := deadLetters(t, g, "PARKED")
	require.Len(t, r.Errors, 1)
	require.Equal(t, "FORBIDDEN", r.Errors[0].Code())

	// The cause goes away; one replay pays the order.
	require.NoError(t, lock.Rollback(ctx))
	var replayed struct {
		ReplayDeadLetter gqlDeadLetter `json:"replayDeadLetter"`
	}
	r, err = admin.Do(ctx, `mutation($id: ID!) { replayDeadLetter(id: $id) { `+deadLetterFields+` } }`,
		map[string]any{"id": parked.ID}, &replayed)
	require.NoError(t, err)
	require.NoError(t, r.Err())
	require.Equal(t, "REPLAYING", replayed.ReplayDeadLetter.State)
	paidAfter := waitViaAPI(t, g, stuck.ID, "PAID", "CAPTURED")

	// A second replay, through the CLI, changes nothing.
	waitLetter(t, admin, parked.ID, "REPLAYED", 1)
	out, err := exec.CommandContext(ctx, sys.Bin("orderflowctl"), "-gateway", sys.URL("gateway")+"/graphql",
		"-auth-dir", sys.AuthDir, "dlq", "replay", parked.ID).CombinedOutput()
	require.NoError(t, err, "orderflowctl: %s", out)
	waitLetter(t, admin, parked.ID, "REPLAYED", 2)
	again, err := queryOrder(t, g, stuck.ID)
	require.NoError(t, err)
	require.Equal(t, paidAfter.Version, again.Version, "the second replay appended nothing")

	out, err = exec.CommandContext(ctx, sys.Bin("orderflowctl"), "-gateway", sys.URL("gateway")+"/graphql",
		"-auth-dir", sys.AuthDir, "dlq", "list", "-kind", "parked").CombinedOutput()
	require.NoError(t, err, "orderflowctl: %s", out)
	require.Contains(t, string(out), parked.ID)

	sys.CheckInvariants()
}

// waitLetter waits until the letter id is in state after replays replays.
func waitLetter(t *testing.T, admin clients.GraphQL, id, state string, replays int) {
	t.Helper()
	testenv.Eventually(t, settle, func() error {
		letters, r := deadLetters(t, admin, "")
		if err := r.Err(); err != nil {
			return err
		}
		for _, l := range letters {
			if l.ID == id {
				if l.State != state || l.Replays != replays {
					return fmt.Errorf("letter %s is %s after %d replays, waiting for %s after %d", id, l.State, l.Replays, state, replays)
				}
				return nil
			}
		}
		return fmt.Errorf("letter %s not listed", id)
	})
}
