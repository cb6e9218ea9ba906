package deadletters_test

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/gateway/deadletters"
	"github.com/orderflow/orderflow/graph"
	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/platform/auth"
	"github.com/orderflow/orderflow/platform/parking"
)

const (
	orderID = "5b1f6b0e-7d5c-4c47-9b8a-3f0f9d6f6a11"
	adminID = "ad000000-0000-4000-8000-0000000000ad"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// letter is a waiting parked letter of the orders topic, parked at t0
// plus sec seconds.
func letter(id int64, sec int) parking.Letter {
	at := t0.Add(time.Duration(sec) * time.Second)
	return parking.Letter{
		ID: id, Kind: parking.KindParked, State: parking.StateWaiting, Reason: "psp: timeout", Attempts: 5,
		ConsumerGroup: "g", Topic: "orders", Partition: 1, Offset: 100 + id, Key: orderID,
		ParkedAt: at, UpdatedAt: at,
		Audit: []parking.AuditEntry{{At: at, Action: parking.ActionParked, Actor: "consumer"}},
	}
}

// system is the three services' fakes and the triage over them.
type system struct {
	services map[string]*fakeService
	triage   *deadletters.Triage
}

// newSystem starts fakes of the three services holding letters (by
// service); down names services whose address answers nothing.
func newSystem(t *testing.T, letters map[string][]parking.Letter, down ...string) *system {
	t.Helper()
	s := &system{services: map[string]*fakeService{}}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: auth.ServiceTransport(serviceToken, nil)}
	var clients []*parking.Client
	for _, name := range []string{"order", "payment", "compensation"} {
		f := &fakeService{name: name}
		for _, l := range letters[name] { // the fakes change their letters
			l.Audit = slices.Clone(l.Audit)
			f.letters = append(f.letters, l)
		}
		s.services[name] = f
		url := f.start(t)
		if slices.Contains(down, name) {
			url = closedURL(t)
		}
		clients = append(clients, parking.NewClient(name, url, hc))
	}
	s.triage = deadletters.New(clients...)
	return s
}

// closedURL is the address of a server that has stopped.
func closedURL(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	return srv.URL
}

// interleaved are letters of the three services parked in turns, with
// ties between services (broken by the service's name) and a service whose
// ids have gaps (filtered out letters, or another group's).
func interleaved() map[string][]parking.Letter {
	return map[string][]parking.Letter{
		"order":        {letter(1, 0), letter(2, 3), letter(3, 3), letter(4, 9), letter(5, 10)},
		"payment":      {letter(10, 1), letter(11, 3), letter(14, 4), letter(20, 12)},
		"compensation": {letter(1, 3), letter(2, 5), letter(3, 6), letter(4, 7), letter(5, 8), letter(6, 11)},
	}
}

// merged is the order the API promises: by parkedAt, then service, then id.
func merged(letters map[string][]parking.Letter) []string {
	type ref struct {
		service string
		l       parking.Letter
	}
	var all []ref
	for service, ls := range letters {
		for _, l := range ls {
			all = append(all, ref{service, l})
		}
	}
	slices.SortFunc(all, func(a, b ref) int {
		return cmp.Or(a.l.ParkedAt.Compare(b.l.ParkedAt), cmp.Compare(a.service, b.service), cmp.Compare(a.l.ID, b.l.ID))
	})
	ids := make([]string, len(all))
	for i, r := range all {
		ids[i] = fmt.Sprintf("%s:%d", r.service, r.l.ID)
	}
	return ids
}

// pageThrough lists every page of q.First letters, returning the ids in
// the order the pages showed them and the number of pages.
func pageThrough(t *testing.T, tr *deadletters.Triage, q model.DeadLetterQuery) ([]string, int) {
	t.Helper()
	ids := []string{}
	for pages := 1; ; pages++ {
		require.Less(t, pages, 100, "the pages never end")
		conn, err := tr.List(t.Context(), q)
		require.NoError(t, err)
		require.LessOrEqual(t, len(conn.Edges), q.First)
		for _, e := range conn.Edges {
			ids = append(ids, e.Node.ID)
		}
		if !conn.PageInfo.HasNextPage {
			return ids, pages
		}
		require.NotEmpty(t, conn.Edges, "a page before the last shows letters")
		require.Equal(t, conn.Edges[len(conn.Edges)-1].Cursor, *conn.PageInfo.EndCursor)
		q.After = *conn.PageInfo.EndCursor
	}
}

func TestPagesMergeTheServicesExactly(t *testing.T) {
	t.Parallel()
	letters := interleaved()
	want := merged(letters)
	s := newSystem(t, letters)
	for first := 1; first <= len(want)+1; first++ {
		t.Run(fmt.Sprintf("pages of %d", first), func(t *testing.T) {
			ids, pages := pageThrough(t, s.triage, model.DeadLetterQuery{First: first})
			require.Equal(t, want, ids, "every letter once, in the merged order")
			require.Equal(t, (len(want)+first-1)/first, pages, "every page but the last is full")
		})
	}

	t.Run("a service that serves shorter pages", func(t *testing.T) {
		s := newSystem(t, letters)
		s.services["compensation"].maxPage = 2
		ids, pages := pageThrough(t, s.triage, model.DeadLetterQuery{First: 4})
		require.Equal(t, want, ids, "in order: a page ends where the service's short page does")
		require.Greater(t, pages, 4, "some pages were not full")
	})

	t.Run("every edge's cursor resumes after it", func(t *testing.T) {
		conn, err := s.triage.List(t.Context(), model.DeadLetterQuery{First: len(want)})
		require.NoError(t, err)
		require.False(t, conn.PageInfo.HasNextPage)
		for i, e := range conn.Edges {
			rest, _ := pageThrough(t, s.triage, model.DeadLetterQuery{First: 3, After: e.Cursor})
			require.Equal(t, want[i+1:], rest, "after %s", e.Node.ID)
		}
	})
}

func TestListSelects(t *testing.T) {
	t.Parallel()
	letters := interleaved()
	letters["payment"][1].Kind, letters["payment"][1].Reason = parking.KindDeadLetter, "decode: not JSON"
	s := newSystem(t, letters)

	conn, err := s.triage.List(t.Context(), model.DeadLetterQuery{
		DeadLetterSelection: model.DeadLetterSelection{Service: "payment", Topic: "orders", Reason: "Decode", Kind: model.DeadLetterKindDeadLetter},
		State:               model.DeadLetterStateWaiting, First: 7,
	})
	require.NoError(t, err)
	require.Len(t, conn.Edges, 1)
	require.Equal(t, "payment:11", conn.Edges[0].Node.ID)
	require.Equal(t, []string{"GET /v1/deadletters?first=7&kind=dead_letter&reason=Decode&state=waiting&topic=orders"},
		s.services["payment"].recorded(), "the service got the filter in its own words")
	require.Empty(t, s.services["order"].recorded(), "only the named service was asked")
	require.Empty(t, s.services["compensation"].recorded(), "only the named service was asked")

	// The next page asks the payment service after the letter shown.
	_, err = s.triage.List(t.Context(), model.DeadLetterQuery{
		DeadLetterSelection: model.DeadLetterSelection{Service: "payment"}, First: 7, After: conn.Edges[0].Cursor,
	})
	require.NoError(t, err)
	require.Equal(t, "GET /v1/deadletters?after=11&first=7", s.services["payment"].recorded()[1])
}

func TestListFailsNamingTheServiceThatFailed(t *testing.T) {
	t.Parallel()
	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		s := newSystem(t, interleaved(), "payment")
		_, err := s.triage.List(t.Context(), model.DeadLetterQuery{First: 10})
		requireAPIError(t, err, model.CodeUnavailable, "the payment service did not answer (is it running?); retry when it is up")
	})
	t.Run("answering unavailable", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			write(w, http.StatusServiceUnavailable, parking.ErrorBody{Error: parking.ErrorDetail{
				Code: parking.CodeUnavailable, Message: "its database does not answer"}})
		}))
		t.Cleanup(srv.Close)
		tr := deadletters.New(parking.NewClient("compensation", srv.URL, srv.Client()))
		_, err := tr.List(t.Context(), model.DeadLetterQuery{First: 10})
		requireAPIError(t, err, model.CodeUnavailable, "the compensation service is unavailable: its database does not answer; retry later")
	})
	t.Run("without the service token", func(t *testing.T) {
		t.Parallel()
		f := &fakeService{name: "order"}
		tr := deadletters.New(parking.NewClient("order", f.start(t), http.DefaultClient))
		_, err := tr.List(t.Context(), model.DeadLetterQuery{First: 10})
		require.Error(t, err)
		_, isAPIError := model.AsError(err)
		require.False(t, isAPIError, "a refused service token is the gateway's fault: INTERNAL, logged (got %v)", err)
	})
}

func TestCursorsAreChecked(t *testing.T) {
	t.Parallel()
	s := newSystem(t, interleaved())
	cursor := func(v any) string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	for _, after := range []string{
		"not a cursor", "at:3", cursor([]int{1, 2}), cursor(map[string]int64{"billing": 3}),
		cursor(map[string]int64{"order": -1}), cursor(map[string]string{"order": "x"}),
	} {
		_, err := s.triage.List(t.Context(), model.DeadLetterQuery{First: 10, After: after})
		requireAPIError(t, err, model.CodeBadUserInput, "after must be the endCursor or a cursor of an earlier deadLetters page, as it was returned")
		e, _ := model.AsError(err)
		require.Equal(t, "after", e.Field)
	}
	for _, f := range s.services {
		require.Empty(t, f.recorded(), "no service was asked")
	}
}

func TestGetShowsTheWholeLetter(t *testing.T) {
	t.Parallel()
	dead := letter(42, 0)
	dead.Kind, dead.State, dead.Offset, dead.Replays = parking.KindDeadLetter, parking.StateDiscarded, 1<<40, 2
	dead.EventID, dead.EventType = "e1000000-0000-4000-8000-000000000001", "payment.requested.v1"
	dead.Event = json.RawMessage(`{"id":"e1000000-0000-4000-8000-000000000001","type":"payment.requested.v1"}`)
	dead.Audit = append(dead.Audit, parking.AuditEntry{At: t0.Add(time.Hour), Action: parking.ActionDiscarded, Actor: adminID, Note: "duplicate"})
	garbage := letter(43, 1)
	garbage.Key, garbage.Value = "", "\x00not json"
	s := newSystem(t, map[string][]parking.Letter{"payment": {dead, garbage}})

	got, err := s.triage.Get(t.Context(), model.DeadLetterRef{Service: "payment", Number: 42})
	require.NoError(t, err)
	str := func(s string) *string { return &s }
	require.Equal(t, &model.DeadLetter{
		ID: "payment:42", Service: "payment", Number: 42, Kind: model.DeadLetterKindDeadLetter, State: model.DeadLetterStateDiscarded,
		Reason: "psp: timeout", Attempts: 5, Replays: 2, ConsumerGroup: "g", Topic: "orders", Partition: 1,
		Offset: "1099511627776", Key: orderID, OrderID: str(orderID),
		EventID: str("e1000000-0000-4000-8000-000000000001"), EventType: str("payment.requested.v1"),
		Event:    str(`{"id":"e1000000-0000-4000-8000-000000000001","type":"payment.requested.v1"}`),
		ParkedAt: t0, UpdatedAt: t0,
		Audit: []*model.DeadLetterAuditEntry{
			{At: t0, Action: "parked", Actor: "consumer"},
			{At: t0.Add(time.Hour), Action: "discarded", Actor: adminID, Note: str("duplicate")},
		},
	}, got)

	got, err = s.triage.Get(t.Context(), model.DeadLetterRef{Service: "payment", Number: 43})
	require.NoError(t, err)
	require.Nil(t, got.OrderID, "no key, no order")
	require.Nil(t, got.Event)
	require.Equal(t, "\x00not json", *got.Value)

	got, err = s.triage.Get(t.Context(), model.DeadLetterRef{Service: "order", Number: 42})
	require.NoError(t, err)
	require.Nil(t, got, "an unknown letter is nil, not an error")
}

func TestReplayAndDiscardOneLetter(t *testing.T) {
	t.Parallel()
	s := newSystem(t, interleaved())
	ctx := t.Context()
	ref := model.DeadLetterRef{Service: "compensation", Number: 2}

	l, err := s.triage.Replay(ctx, ref, adminID)
	require.NoError(t, err)
	require.Equal(t, "compensation:2", l.ID)
	require.Equal(t, model.DeadLetterStateReplaying, l.State)
	require.Equal(t, adminID, l.Audit[len(l.Audit)-1].Actor, "the admin is who asked")

	_, err = s.triage.Discard(ctx, ref, adminID, "too late")
	requireAPIError(t, err, model.CodeConflict, "dead letter compensation:2: message 2 is replaying: only a waiting message can be discarded")

	l, err = s.triage.Discard(ctx, model.DeadLetterRef{Service: "order", Number: 3}, adminID, "a duplicate")
	require.NoError(t, err)
	require.Equal(t, model.DeadLetterStateDiscarded, l.State)
	last := l.Audit[len(l.Audit)-1]
	require.Equal(t, []string{"discarded", adminID, "a duplicate"}, []string{last.Action, last.Actor, *last.Note})
	_, err = s.triage.Replay(ctx, model.DeadLetterRef{Service: "order", Number: 3}, adminID)
	requireAPIError(t, err, model.CodeConflict, "dead letter order:3: message 3 was discarded: it cannot be replayed")

	_, err = s.triage.Replay(ctx, model.DeadLetterRef{Service: "payment", Number: 99}, adminID)
	requireAPIError(t, err, model.CodeNotFound, "dead letter payment:99 does not exist")
	_, err = s.triage.Discard(ctx, model.DeadLetterRef{Service: "payment", Number: 99}, adminID, "gone")
	requireAPIError(t, err, model.CodeNotFound, "dead letter payment:99 does not exist")

	s = newSystem(t, interleaved(), "order")
	_, err = s.triage.Replay(ctx, model.DeadLetterRef{Service: "order", Number: 1}, adminID)
	requireAPIError(t, err, model.CodeUnavailable, "the order service did not answer (is it running?); retry when it is up")
}

func TestReplayAllAddsUpTheServices(t *testing.T) {
	t.Parallel()
	letters := interleaved()
	letters["order"][0].State = parking.StateReplayed // not waiting: not replayed again
	letters["compensation"][0].Kind = parking.KindDeadLetter
	ctx := t.Context()

	s := newSystem(t, letters)
	n, err := s.triage.ReplayAll(ctx, model.DeadLetterSelection{Kind: model.DeadLetterKindParked}, adminID)
	require.NoError(t, err)
	require.Equal(t, 4+4+5, n)
	n, err = s.triage.ReplayAll(ctx, model.DeadLetterSelection{}, adminID)
	require.NoError(t, err)
	require.Equal(t, 1, n, "only the dead letter still waited")

	s = newSystem(t, letters)
	n, err = s.triage.ReplayAll(ctx, model.DeadLetterSelection{Service: "payment", Reason: "TIMEOUT"}, adminID)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	require.Empty(t, s.services["order"].recorded(), "only the named service was asked")

	s = newSystem(t, letters, "compensation")
	_, err = s.triage.ReplayAll(ctx, model.DeadLetterSelection{}, adminID)
	requireAPIError(t, err, model.CodeUnavailable, "the compensation service did not answer (is it running?); retry when it is up; "+
		"the other services were asked to replay 8 letters (a retry replays only what still waits)")
}

func TestThePageBoundIsTheServices(t *testing.T) {
	t.Parallel()
	require.Equal(t, parking.MaxPage, graph.MaxDeadLetterPage, "a page of one service alone can fill a merged page")
}

func requireAPIError(t *testing.T, err error, code, message string) {
	t.Helper()
	e, ok := model.AsError(err)
	require.True(t, ok, "not an API error: %v", err)
	require.Equal(t, code, e.Code)
	require.Equal(t, message, e.Message)
}

var _ graph.DeadLetters = (*deadletters.Triage)(nil)
