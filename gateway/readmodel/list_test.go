package readmodel_test

import (
	"context"
	"encoding/base64"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/gateway/internal/eventtest"
	"github.com/orderflow/orderflow/gateway/readmodel"
	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

type listed struct {
	id        string
	createdAt time.Time
	status    model.OrderStatus
}

// customerOrders projects 25 orders of one customer, some created in the
// same millisecond, in three statuses, and 3 orders of another customer. It
// returns the first customer's orders newest first (ties by id descending).
func customerOrders(t *testing.T, ctx context.Context, p *readmodel.Projector, customer string) []listed {
	t.Helper()
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	var out []listed
	for i := range 25 {
		at := base.Add(time.Duration(i/2) * time.Second) // pairs share a millisecond
		s := eventtest.NewSaga(customer, at)
		events := []schema.Envelope{s.Created()}
		status := model.OrderStatusPending
		switch i % 3 {
		case 1:
			events = append(events, s.Requested(), s.Captured(), s.Paid())
			status = model.OrderStatusPaid
		case 2:
			events = append(events, s.CancelRequested(schema.ReasonCustomerRequest), s.Cancelled(schema.ReasonCustomerRequest))
			status = model.OrderStatusCancelled
		}
		for _, env := range events {
			_, err := p.Apply(ctx, env)
			require.NoError(t, err)
		}
		out = append(out, listed{id: s.OrderID, createdAt: at, status: status})
	}
	for range 3 {
		s := eventtest.NewSaga(uuid.NewString(), base.Add(time.Minute))
		_, err := p.Apply(ctx, s.Created())
		require.NoError(t, err)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].createdAt.Equal(out[j].createdAt) {
			return out[i].createdAt.After(out[j].createdAt)
		}
		return out[i].id > out[j].id
	})
	return out
}

// pageThrough reads every page of q and returns the ids in order, checking
// each page's size, cursors and hasNextPage on the way.
func pageThrough(t *testing.T, ctx context.Context, store *readmodel.Store, q model.ListQuery, total int) []string {
	t.Helper()
	var ids []string
	for page := 0; ; page++ {
		require.Less(t, page, 100, "pagination does not end")
		conn, err := store.ListOrders(ctx, q)
		require.NoError(t, err)
		require.LessOrEqual(t, len(conn.Edges), q.First)
		for _, e := range conn.Edges {
			ids = append(ids, e.Node.ID)
			require.NotEmpty(t, e.Cursor)
		}
		if len(ids) < total {
			require.True(t, conn.PageInfo.HasNextPage, "page %d: more to come", page)
			require.Len(t, conn.Edges, q.First, "page %d is full", page)
		} else {
			require.False(t, conn.PageInfo.HasNextPage, "page %d is the last", page)
		}
		if len(conn.Edges) > 0 {
			require.Equal(t, conn.Edges[len(conn.Edges)-1].Cursor, *conn.PageInfo.EndCursor)
		}
		if !conn.PageInfo.HasNextPage {
			return ids
		}
		q.After = *conn.PageInfo.EndCursor
	}
}

func TestListOrdersPagesNewestFirst(t *testing.T) {
	ctx := testenv.Context(t, 30*time.Second)
	rdb := eventtest.Redis(t)
	prefix := eventtest.RedisPrefix(t, rdb)
	p := readmodel.NewProjector(rdb, prefix)
	store := readmodel.NewStore(rdb, prefix)
	customer := uuid.NewString()
	orders := customerOrders(t, ctx, p, customer)

	idsOf := func(status *model.OrderStatus) []string {
		var ids []string
		for _, o := range orders {
			if status == nil || o.status == *status {
				ids = append(ids, o.id)
			}
		}
		return ids
	}
	tests := []struct {
		name   string
		status *model.OrderStatus
		first  int
	}{
		{"all, pages of 7", nil, 7},
		{"all, pages of 1", nil, 1},
		{"all, one page of 100", nil, 100},
		{"all, pages of 25 (exactly one page)", nil, 25},
		{"PAID, pages of 3", new(model.OrderStatusPaid), 3},
		{"PENDING, pages of 2", new(model.OrderStatusPending), 2},
		{"CANCELLED, pages of 50", new(model.OrderStatusCancelled), 50},
		{"CANCELLING, none", new(model.OrderStatusCancelling), 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := idsOf(tt.status)
			got := pageThrough(t, ctx, store, model.ListQuery{CustomerID: customer, Status: tt.status, First: tt.first}, len(want))
			require.Equal(t, want, got)
		})
	}

	t.Run("statuses of the nodes match the filter", func(t *testing.T) {
		conn, err := store.ListOrders(ctx, model.ListQuery{CustomerID: customer, Status: new(model.OrderStatusPaid), First: 100})
		require.NoError(t, err)
		require.NotEmpty(t, conn.Edges)
		for _, e := range conn.Edges {
			require.Equal(t, model.OrderStatusPaid, e.Node.Status)
			require.Equal(t, customer, e.Node.CustomerID)
			require.Equal(t, model.PaymentStatusCaptured, e.Node.Payment.Status)
		}
	})

	t.Run("first defaults to 20", func(t *testing.T) {
		conn, err := store.ListOrders(ctx, model.ListQuery{CustomerID: customer})
		require.NoError(t, err)
		require.Len(t, conn.Edges, readmodel.DefaultPageSize)
		require.True(t, conn.PageInfo.HasNextPage)
	})

	t.Run("an order created between two pages does not shift the next page", func(t *testing.T) {
		conn, err := store.ListOrders(ctx, model.ListQuery{CustomerID: customer, First: 10})
		require.NoError(t, err)
		s := eventtest.NewSaga(customer, time.Now())
		_, err = p.Apply(ctx, s.Created())
		require.NoError(t, err)
		next, err := store.ListOrders(ctx, model.ListQuery{CustomerID: customer, First: 10, After: *conn.PageInfo.EndCursor})
		require.NoError(t, err)
		var ids []string
		for _, e := range next.Edges {
			ids = append(ids, e.Node.ID)
		}
		require.Equal(t, idsOf(nil)[10:20], ids)
	})

	t.Run("a customer without orders", func(t *testing.T) {
		conn, err := store.ListOrders(ctx, model.ListQuery{CustomerID: uuid.NewString(), First: 10})
		require.NoError(t, err)
		require.Empty(t, conn.Edges)
		require.NotNil(t, conn.Edges, "an empty list, not null")
		require.False(t, conn.PageInfo.HasNextPage)
		require.Nil(t, conn.PageInfo.EndCursor)
	})
}

func TestListOrdersRejectsBadInput(t *testing.T) {
	ctx := testenv.Context(t, 30*time.Second)
	rdb := eventtest.Redis(t)
	store := readmodel.NewStore(rdb, eventtest.RedisPrefix(t, rdb))
	customer := uuid.NewString()

	tests := []struct {
		name    string
		q       model.ListQuery
		field   string
		message string
	}{
		{"not base64", model.ListQuery{CustomerID: customer, After: "%%%"}, "after", "after: not a cursor returned by this API"},
		{"base64 of something else", model.ListQuery{CustomerID: customer, After: base64.RawURLEncoding.EncodeToString([]byte("page=2"))},
			"after", "after: not a cursor returned by this API"},
		{"score not a number", model.ListQuery{CustomerID: customer, After: base64.RawURLEncoding.EncodeToString([]byte("o1:x:id"))},
			"after", "after: not a cursor returned by this API"},
		{"first too large", model.ListQuery{CustomerID: customer, First: 101}, "first", "first must be between 1 and 100"},
		{"first negative", model.ListQuery{CustomerID: customer, First: -1}, "first", "first must be between 1 and 100"},
		{"unknown status", model.ListQuery{CustomerID: customer, Status: new(model.OrderStatus("LOST"))}, "status", `status: "LOST" is not an order status`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := store.ListOrders(ctx, tt.q)
			require.Nil(t, conn)
			e, ok := model.AsError(err)
			require.True(t, ok, "a client error, not %v", err)
			require.Equal(t, model.CodeBadUserInput, e.Code)
			require.Equal(t, tt.field, e.Field)
			require.Equal(t, tt.message, e.Message)
		})
	}
}
