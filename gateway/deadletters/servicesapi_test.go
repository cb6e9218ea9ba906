package deadletters_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/gateway/deadletters"
	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/platform/auth"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/parking"
	"github.com/orderflow/orderflow/platform/pgmigrate"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

// realService serves the services' own triage API (parking.Routes over a
// parking.Store in a fresh Postgres database) behind the service token, as
// every service mounts it, and returns the store.
func realService(t *testing.T) (*parking.Store, string) {
	t.Helper()
	ctx := testenv.Context(t, time.Minute)
	pool, err := pgxpool.New(ctx, testenv.PostgresDatabase(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, pgmigrate.Run(ctx, pool, parking.Migrations()))
	store := parking.NewStore(pool)
	mux := http.NewServeMux()
	parking.Routes(mux, store, func() {})
	srv := httptest.NewServer(auth.RequireServiceToken(serviceToken, mux))
	t.Cleanup(srv.Close)
	return store, srv.URL
}

// The triage against the services' real API: what the fakes of the other
// tests assume of it holds.
func TestTriageOverTheServicesAPI(t *testing.T) {
	ctx := testenv.Context(t, time.Minute)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: auth.ServiceTransport(serviceToken, nil)}
	stores := map[string]*parking.Store{}
	var clients []*parking.Client
	for _, name := range []string{"order", "payment", "compensation"} {
		store, url := realService(t)
		stores[name] = store
		clients = append(clients, parking.NewClient(name, url, hc))
	}
	tr := deadletters.New(clients...)

	// Set aside in turns, so that parkedAt orders them as listed here.
	order := []struct {
		service    string
		deadLetter bool
	}{{"payment", false}, {"order", false}, {"compensation", true}, {"payment", true}, {"order", false}, {"payment", false}}
	var want []string
	counts := map[string]int64{}
	for i, o := range order {
		counts[o.service]++
		require.NoError(t, stores[o.service].SetAside(ctx, consumer.SetAside{
			DeadLetter: o.deadLetter, Group: o.service, Topic: "orderflow.order", Partition: 1, Offset: int64(1000 + i),
			Key:     fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
			Value:   []byte(`{"id":"e","type":"order.created.v1"}`),
			Headers: []schema.MessageHeader{{Key: schema.HeaderEventType, Value: "order.created.v1"}},
			Reason:  "lock timeout", Attempts: 3,
		}))
		want = append(want, fmt.Sprintf("%s:%d", o.service, counts[o.service]))
		time.Sleep(2 * time.Millisecond) // distinct parkedAt
	}

	ids, pages := pageThrough(t, tr, model.DeadLetterQuery{First: 2})
	require.Equal(t, want, ids, "every letter once, in the order they were set aside")
	require.Equal(t, 3, pages)

	conn, err := tr.List(ctx, model.DeadLetterQuery{First: 10, State: model.DeadLetterStateWaiting,
		DeadLetterSelection: model.DeadLetterSelection{Kind: model.DeadLetterKindDeadLetter, Reason: "LOCK"}})
	require.NoError(t, err)
	require.Len(t, conn.Edges, 2)
	l := conn.Edges[0].Node
	require.Equal(t, "compensation:1", l.ID)
	require.Equal(t, model.DeadLetterKindDeadLetter, l.Kind)
	require.Equal(t, "1002", l.Offset)
	require.Equal(t, "00000000-0000-4000-8000-000000000002", *l.OrderID)
	require.Equal(t, "order.created.v1", *l.EventType)
	require.JSONEq(t, `{"id":"e","type":"order.created.v1"}`, *l.Event)
	require.Nil(t, l.Audit, "a list comes without the trails")

	got, err := tr.Get(ctx, model.DeadLetterRef{Service: "compensation", Number: 1})
	require.NoError(t, err)
	require.Len(t, got.Audit, 1)
	require.Equal(t, parking.ActionDeadLettered, got.Audit[0].Action)
	missing, err := tr.Get(ctx, model.DeadLetterRef{Service: "order", Number: 99})
	require.NoError(t, err)
	require.Nil(t, missing)

	ref := model.DeadLetterRef{Service: "payment", Number: 1}
	replayed, err := tr.Replay(ctx, ref, adminID)
	require.NoError(t, err)
	require.Equal(t, model.DeadLetterStateReplaying, replayed.State)
	require.Equal(t, adminID, replayed.Audit[len(replayed.Audit)-1].Actor, "the answer has the trail")
	_, err = tr.Discard(ctx, ref, adminID, "too late")
	requireAPIError(t, err, model.CodeConflict, "dead letter payment:1: message 1 is replaying: only a waiting message can be discarded")
	_, err = tr.Discard(ctx, model.DeadLetterRef{Service: "order", Number: 99}, adminID, "gone")
	requireAPIError(t, err, model.CodeNotFound, "dead letter order:99 does not exist")

	discarded, err := tr.Discard(ctx, model.DeadLetterRef{Service: "order", Number: 2}, adminID, "a duplicate")
	require.NoError(t, err)
	require.Equal(t, model.DeadLetterStateDiscarded, discarded.State)
	require.Equal(t, "a duplicate", *discarded.Audit[len(discarded.Audit)-1].Note)
	_, err = tr.Replay(ctx, model.DeadLetterRef{Service: "order", Number: 2}, adminID)
	requireAPIError(t, err, model.CodeConflict, "dead letter order:2: message 2 was discarded: it cannot be replayed")

	n, err := tr.ReplayAll(ctx, model.DeadLetterSelection{}, adminID)
	require.NoError(t, err)
	require.Equal(t, 4, n, "every letter still waiting: all but the replaying and the discarded one")
	n, err = tr.ReplayAll(ctx, model.DeadLetterSelection{}, adminID)
	require.NoError(t, err)
	require.Zero(t, n, "none waits any more")
}
