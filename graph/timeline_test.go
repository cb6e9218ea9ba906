package graph_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/graph"
	"github.com/orderflow/orderflow/graph/model"
)

const timelineQuery = `query($id: ID!) { orderTimeline(id: $id) {
	eventId service type version occurredAt causationId traceId sincePreviousMs } }`

// sampleTimelineJSON is sampleTimeline as a client reads it.
const sampleTimelineJSON = `{"orderTimeline":[
	{"eventId":"e1000000-0000-4000-8000-000000000001","service":"order","type":"order.created.v1","version":1,
	 "occurredAt":"2025-01-02T03:04:05Z","causationId":"req-1","traceId":"4bf92f3577b34da6a3ce929d0e0e4736","sincePreviousMs":null},
	{"eventId":"e1000000-0000-4000-8000-000000000002","service":"payment","type":"payment.requested.v1","version":1,
	 "occurredAt":"2025-01-02T03:04:05.0125Z","causationId":"e1000000-0000-4000-8000-000000000001",
	 "traceId":"4bf92f3577b34da6a3ce929d0e0e4736","sincePreviousMs":12.5}]}`

func TestOrderTimelineIsTheCallers(t *testing.T) {
	t.Parallel()
	const unknownID = "00000000-0000-4000-8000-000000000000"
	tests := []struct {
		name          string
		authorization string
		change        func(*api)
		id            string
		allowed       bool
	}{
		{name: "the owner", authorization: asCustomer(customerID), id: orderID, allowed: true},
		{name: "another customer", authorization: asCustomer(otherCustomerID), id: orderID},
		{name: "an admin", authorization: asAdmin(adminID), id: orderID, allowed: true},
		{name: "an unknown order", authorization: asCustomer(customerID), id: unknownID},
		{name: "an unknown order as an admin", authorization: asAdmin(adminID), id: unknownID},
		{name: "the owner of an order only the order service knows", authorization: asCustomer(customerID), change: notInReadModel, id: orderID, allowed: true},
		{name: "another customer of an order only the order service knows", authorization: asCustomer(customerID), change: ownedBy(otherCustomerID), id: orderID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var change []func(*api)
			if tt.change != nil {
				change = append(change, tt.change)
			}
			a := newAPI(t, graph.DefaultOptions(), change...)
			res := a.post(t, timelineQuery, map[string]any{"id": tt.id}, "Authorization", tt.authorization)
			require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
			if tt.allowed {
				require.Empty(t, res.Errors, "body: %s", res.body)
				require.JSONEq(t, sampleTimelineJSON, string(res.Data))
				require.Equal(t, []string{tt.id}, a.timelines.askedIDs())
				return
			}
			e := res.onlyError(t)
			require.Equal(t, "NOT_FOUND", e.code())
			require.Equal(t, model.OrderNotFound(tt.id).Message, e.Message, "worded as an unknown order")
			require.Equal(t, []any{"orderTimeline"}, e.Path)
			require.Equal(t, "null", string(res.Data))
			require.Empty(t, a.timelines.askedIDs(), "no event was read")
		})
	}
}

func TestOrderTimelineErrors(t *testing.T) {
	t.Parallel()
	failWith := func(err error) func(*api) {
		return func(a *api) {
			a.timelines.timelineFunc = func(context.Context, string) ([]*model.TimelineEntry, error) { return nil, err }
		}
	}
	tests := []struct {
		name    string
		change  func(*api)
		id      string
		code    string
		message string // exact, or "" to skip
		field   any    // extensions.field, nil if none
		logged  bool   // the real error went to the log
	}{
		{
			name: "NATS unavailable", id: orderID, code: "UNAVAILABLE",
			change:  failWith(model.Unavailable("the order's timeline cannot be read from NATS JetStream at the moment; try again shortly")),
			message: "the order's timeline cannot be read from NATS JetStream at the moment; try again shortly",
		},
		{name: "an unknown failure is INTERNAL", id: orderID, change: failWith(errSecret), code: "INTERNAL", logged: true},
		{
			name: "the read model fails", id: orderID, code: "UNAVAILABLE", message: "the read model is unavailable; try again",
			change: func(a *api) {
				a.orders.orderFunc = func(context.Context, string) (*model.Order, error) {
					return nil, model.Unavailable("the read model is unavailable; try again")
				}
			},
		},
		{
			name: "an id that is not a UUID", id: "42", code: "BAD_USER_INPUT", field: "id",
			message: `id must be a UUID such as 1b4e28ba-2fa1-11d2-883f-0016d3cca427, got "42"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var change []func(*api)
			if tt.change != nil {
				change = append(change, tt.change)
			}
			a := newAPI(t, graph.DefaultOptions(), change...)
			res := a.post(t, timelineQuery, map[string]any{"id": tt.id})
			require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
			e := res.onlyError(t)
			require.Equal(t, tt.code, e.code())
			if tt.message != "" {
				require.Equal(t, tt.message, e.Message)
			}
			require.Equal(t, tt.field, e.Extensions["field"])
			require.Equal(t, "null", string(res.Data))
			require.NotContains(t, string(res.body), "orders_view", "no adapter text reaches the client")
			if tt.logged {
				require.Contains(t, a.log.String(), "orders_view")
			}
		})
	}
}

func TestOrderTimelineOfAnOrderWithoutEvents(t *testing.T) {
	t.Parallel()
	a := newAPI(t, graph.DefaultOptions(), func(a *api) {
		a.timelines.timelineFunc = func(context.Context, string) ([]*model.TimelineEntry, error) { return nil, nil }
	})
	res := a.post(t, timelineQuery, map[string]any{"id": orderID})
	require.Empty(t, res.Errors, "body: %s", res.body)
	require.JSONEq(t, `{"orderTimeline":[]}`, string(res.Data))
}

// orderTimeline costs its selection once per entry, for 20 entries: here 1 +
// 20 × 8 fields.
func TestOrderTimelineComplexity(t *testing.T) {
	t.Parallel()
	opts := graph.DefaultOptions()
	opts.MaxComplexity = 100
	a := newAPI(t, opts)

	res := a.post(t, `query($id: ID!) { orderTimeline(id: $id) { eventId type occurredAt } }`, map[string]any{"id": orderID})
	require.Empty(t, res.Errors, "61 is under the limit: %s", res.body)

	res = a.post(t, timelineQuery, map[string]any{"id": orderID})
	require.Equal(t, http.StatusOK, res.status)
	e := res.onlyError(t)
	require.Equal(t, "COMPLEXITY_LIMIT_EXCEEDED", e.code())
	require.Equal(t, "operation has complexity 161, which exceeds the limit of 100", e.Message)
	require.Len(t, a.timelines.askedIDs(), 1, "only the query under the limit ran")
}
