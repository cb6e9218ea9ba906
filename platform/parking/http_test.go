package parking_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/parking"
	"github.com/orderflow/orderflow/platform/pgmigrate"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

// triage serves a store's routes over a fresh database and returns a client
// of them and the store, with how many times the routes woke the consumers.
func triage(t *testing.T) (*parking.Client, *parking.Store, *int) {
	t.Helper()
	ctx := testenv.Context(t, time.Minute)
	pool, err := pgxpool.New(ctx, testenv.PostgresDatabase(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, pgmigrate.Run(ctx, pool, parking.Migrations()))
	store := parking.NewStore(pool)
	woken := new(int)
	mux := http.NewServeMux()
	parking.Routes(mux, store, func() { *woken++ })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return parking.NewClient("payment", srv.URL, srv.Client()), store, woken
}

func setAside(t *testing.T, store *parking.Store, topic string, offset int64, deadLetter bool, reason string) {
	t.Helper()
	require.NoError(t, store.SetAside(context.Background(), consumer.SetAside{
		DeadLetter: deadLetter, Group: "payment", Topic: topic, Partition: 2, Offset: offset,
		Key: fmt.Sprintf("order-%d", offset), Value: []byte(`{"id":"e","type":"order.created.v1"}`),
		Headers: []schema.MessageHeader{{Key: schema.HeaderEventID, Value: fmt.Sprintf("event-%d", offset)},
			{Key: schema.HeaderEventType, Value: "order.created.v1"}},
		Reason: reason, Attempts: 3,
	}))
}

func TestTheTriageAPIListsFiltersAndPages(t *testing.T) {
	ctx := context.Background()
	client, store, _ := triage(t)
	setAside(t, store, "orderflow.order", 10, false, "canceling statement due to lock timeout")
	setAside(t, store, "orderflow.order", 11, true, "broken invariant: cannot pay a cancelled order")
	setAside(t, store, "orderflow.payment", 12, false, "PSP unreachable")
	// Delivered again after a crash: the same row, not a second one.
	setAside(t, store, "orderflow.order", 10, false, "canceling statement due to lock timeout")

	all, err := client.List(ctx, parking.Filter{}, 0, 0)
	require.NoError(t, err)
	require.Len(t, all.Letters, 3)
	require.False(t, all.HasNext)
	first := all.Letters[0]
	require.Equal(t, "order-10", first.Key)
	require.Equal(t, "event-10", first.EventID)
	require.Equal(t, "order.created.v1", first.EventType)
	require.JSONEq(t, `{"id":"e","type":"order.created.v1"}`, string(first.Event))
	require.Equal(t, 6, first.Attempts, "the attempts of both deliveries")

	page, err := client.List(ctx, parking.Filter{}, 2, 0)
	require.NoError(t, err)
	require.Len(t, page.Letters, 2)
	require.True(t, page.HasNext)
	rest, err := client.List(ctx, parking.Filter{}, 2, page.EndCursor)
	require.NoError(t, err)
	require.Len(t, rest.Letters, 1)
	require.Equal(t, "order-12", rest.Letters[0].Key)
	require.False(t, rest.HasNext)

	byTopic, err := client.List(ctx, parking.Filter{Topic: "orderflow.order"}, 0, 0)
	require.NoError(t, err)
	require.Len(t, byTopic.Letters, 2)
	byReason, err := client.List(ctx, parking.Filter{Reason: "LOCK TIMEOUT"}, 0, 0)
	require.NoError(t, err)
	require.Len(t, byReason.Letters, 1)
	dead, err := client.List(ctx, parking.Filter{Kind: parking.KindDeadLetter}, 0, 0)
	require.NoError(t, err)
	require.Len(t, dead.Letters, 1)
	require.Equal(t, "order-11", dead.Letters[0].Key)

	_, err = client.List(ctx, parking.Filter{Kind: "lost"}, 0, 0)
	require.Equal(t, parking.CodeInvalid, parking.Code(err))
	require.ErrorContains(t, err, `kind "lost" is not one of parked, dead_letter`)
	_, err = client.List(ctx, parking.Filter{}, parking.MaxPage+1, 0)
	require.ErrorContains(t, err, "first must be between 1 and 200")
}

func TestTheTriageAPIReplaysAndDiscardsWithAnAuditTrail(t *testing.T) {
	ctx := context.Background()
	client, store, woken := triage(t)
	setAside(t, store, "orderflow.order", 10, false, "lock timeout")
	setAside(t, store, "orderflow.order", 11, false, "lock timeout")
	setAside(t, store, "orderflow.payment", 12, true, "broken invariant")
	page, err := client.List(ctx, parking.Filter{}, 0, 0)
	require.NoError(t, err)
	a, b, c := page.Letters[0].ID, page.Letters[1].ID, page.Letters[2].ID

	replayed, err := client.Replay(ctx, a, "admin-1")
	require.NoError(t, err)
	require.Equal(t, parking.StateReplaying, replayed.State)
	require.Equal(t, 1, *woken, "the consumers are woken")

	_, err = client.Discard(ctx, b, "admin-1", " ")
	require.Equal(t, parking.CodeInvalid, parking.Code(err))
	require.ErrorContains(t, err, "note is required")
	discarded, err := client.Discard(ctx, b, "admin-1", "refunded by hand")
	require.NoError(t, err)
	require.Equal(t, parking.StateDiscarded, discarded.State)
	_, err = client.Replay(ctx, b, "admin-1")
	require.Equal(t, parking.CodeConflict, parking.Code(err))
	_, err = client.Discard(ctx, a, "admin-1", "too late")
	require.Equal(t, parking.CodeConflict, parking.Code(err))
	require.ErrorContains(t, err, "is replaying: only a waiting message can be discarded")

	n, err := client.ReplayAll(ctx, parking.Filter{Kind: parking.KindDeadLetter}, "admin-2")
	require.NoError(t, err)
	require.Equal(t, 1, n.Count)
	n, err = client.ReplayAll(ctx, parking.Filter{}, "admin-2")
	require.NoError(t, err)
	require.Equal(t, 0, n.Count, "nothing else waits")

	got, err := client.Get(ctx, b)
	require.NoError(t, err)
	require.Len(t, got.Audit, 2)
	require.Equal(t, parking.ActionParked, got.Audit[0].Action)
	require.Equal(t, "payment", got.Audit[0].Actor)
	require.Equal(t, parking.AuditEntry{At: got.Audit[1].At, Action: parking.ActionDiscarded, Actor: "admin-1", Note: "refunded by hand"}, got.Audit[1])
	got, err = client.Get(ctx, c)
	require.NoError(t, err)
	require.Equal(t, parking.StateReplaying, got.State)
	require.Equal(t, "admin-2", got.Audit[len(got.Audit)-1].Actor)

	_, err = client.Get(ctx, 999)
	require.Equal(t, parking.CodeNotFound, parking.Code(err))
	_, err = client.Replay(ctx, a, "")
	require.ErrorContains(t, err, "actor is required")
}
