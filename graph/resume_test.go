package graph_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/graph"
	"github.com/orderflow/orderflow/graph/model"
)

const resumeSubscription = `subscription($id: ID!, $after: Int) { orderStatusChanged(id: $id, afterVersion: $after) { id status version } }`

// statusAt is the order at version v with status s.
func statusAt(v int, s model.OrderStatus) *model.Order {
	o := sampleOrder(orderID)
	o.Status, o.Version = s, v
	return o
}

// The feed decides which changes a cursor missed (gateway/statusfeed's
// tests); the API hands it the cursor unchanged and the client gets exactly
// what it sends, then complete: also when it sends nothing, as after a
// resume past CANCELLED.
func TestSubscriptionResumes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		after *int
		sent  []*model.Order // by the feed, then it ends
	}{
		{name: "mid-flight: the missed changes, then the live ones", after: new(1), sent: []*model.Order{
			statusAt(2, model.OrderStatusPaid), statusAt(3, model.OrderStatusCancelling), statusAt(4, model.OrderStatusCancelled)}},
		{name: "at the current version: only the later ones", after: new(2), sent: []*model.Order{
			statusAt(3, model.OrderStatusCancelling), statusAt(4, model.OrderStatusCancelled)}},
		{name: "after CANCELLED: completed at once", after: new(4)},
		{name: "from 0: every change from PENDING", after: new(0), sent: []*model.Order{
			statusAt(1, model.OrderStatusPending), statusAt(2, model.OrderStatusCancelled)}},
		{name: "without afterVersion: followed, not resumed", sent: []*model.Order{statusAt(2, model.OrderStatusPaid)}},
	}
	for _, p := range protocols {
		for _, tt := range tests {
			t.Run(p.name+" "+tt.name, func(t *testing.T) {
				t.Parallel()
				a := newAPI(t, graph.DefaultOptions())
				c := a.dial(t, p.name)
				c.init()
				vars := map[string]any{"id": orderID}
				if tt.after != nil {
					vars["after"] = *tt.after
				}
				c.send(wsMessage{ID: "1", Type: p.subscribe, Payload: payload(t, resumeSubscription, vars)})
				if tt.after != nil {
					require.Equal(t, *tt.after, receive(t, a.feed.resumed))
				}
				require.Equal(t, orderID, receive(t, a.feed.followed))
				if tt.after == nil {
					require.Empty(t, a.feed.resumed, "Follow, not Resume")
				}

				for _, o := range tt.sent {
					a.feed.ch <- o
					m := c.readSkipping(p.keepAlive)
					require.Equal(t, p.data, m.Type)
					require.JSONEq(t, `{"data":{"orderStatusChanged":{"id":"`+orderID+`","status":"`+string(o.Status)+`","version":`+itoa(o.Version)+`}}}`, string(m.Payload))
				}
				close(a.feed.ch)
				m := c.readSkipping(p.keepAlive)
				require.Equal(t, "complete", m.Type, "message: %+v", m)
				require.Equal(t, "1", m.ID)
				requireReleased(t, a.feed)
			})
		}
	}
}

func TestSubscriptionResumeErrors(t *testing.T) {
	t.Parallel()
	beyond := func(a *api) {
		a.feed.resumeFunc = func(_ context.Context, id string, after int) (<-chan *model.Order, error) {
			return nil, model.AfterVersionAhead(id, after, 4)
		}
	}
	tests := []struct {
		name    string
		change  func(*api)
		after   any
		code    string
		message string
	}{
		{name: "below 0", after: -1, code: "BAD_USER_INPUT", message: model.AfterVersionNegative(-1).Message},
		{name: "beyond the order's version, as the feed says", change: beyond, after: 9, code: "BAD_USER_INPUT",
			message: "afterVersion 9 is beyond order " + orderID + ", which is at version 4: pass the version of the last order " +
				"this subscription sent you, or leave afterVersion out to get the order as it is now"},
		{name: "another customer's order", change: ownedBy(otherCustomerID), after: 1, code: "NOT_FOUND", message: model.OrderNotFound(orderID).Message},
		{name: "another customer's order, beyond its version: its version is not told", change: func(a *api) { ownedBy(otherCustomerID)(a); beyond(a) },
			after: 9, code: "NOT_FOUND", message: model.OrderNotFound(orderID).Message},
		{name: "not an Int", after: "three", code: "BAD_USER_INPUT"},
		{name: "beyond a 32-bit Int", after: int64(1) << 31, code: "BAD_USER_INPUT"},
	}
	for _, p := range protocols {
		for _, tt := range tests {
			t.Run(p.name+" "+tt.name, func(t *testing.T) {
				t.Parallel()
				var change []func(*api)
				if tt.change != nil {
					change = append(change, tt.change)
				}
				a := newAPI(t, graph.DefaultOptions(), change...)
				c := a.dial(t, p.name)
				c.init()
				c.send(wsMessage{ID: "3", Type: p.subscribe, Payload: payload(t, resumeSubscription, map[string]any{"id": orderID, "after": tt.after})})
				errs := c.operationErrors(p, "3")
				require.Len(t, errs, 1, "errors: %s", mustJSON(t, errs))
				require.Equal(t, tt.code, errs[0].code())
				if tt.message != "" {
					require.Equal(t, tt.message, errs[0].Message)
				}
				if tt.change == nil || tt.code == "NOT_FOUND" {
					require.Empty(t, a.feed.resumed, "the feed was not asked")
					require.Empty(t, a.feed.followed, "the feed was not asked")
				}
			})
		}
	}
}

// A cursor an operation's variables do not give is the same as none.
func TestSubscriptionNullAfterVersionFollows(t *testing.T) {
	t.Parallel()
	a := newAPI(t, graph.DefaultOptions())
	c := a.dial(t, "graphql-transport-ws")
	c.init()
	c.send(wsMessage{ID: "1", Type: "subscribe", Payload: payload(t, resumeSubscription, map[string]any{"id": orderID, "after": nil})})
	require.Equal(t, orderID, receive(t, a.feed.followed))
	require.Empty(t, a.feed.resumed)
}
