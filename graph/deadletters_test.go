package graph_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/graph"
	"github.com/orderflow/orderflow/graph/model"
)

const deadLetterFields = `id service kind state reason attempts replays consumerGroup topic partition offset key
	orderId eventId eventType event value parkedAt updatedAt`

const listDeadLetters = `query($first: Int, $after: String, $service: String, $state: DeadLetterState) {
	deadLetters(first: $first, after: $after, service: $service, state: $state) {
		edges { cursor node { ` + deadLetterFields + ` } } pageInfo { hasNextPage endCursor } } }`

// The sample letters as a client reads them.
const (
	paymentLetterJSON = `{"id":"payment:7","service":"payment","kind":"PARKED","state":"WAITING",
		"reason":"psp: timeout after 3 attempts","attempts":3,"replays":0,"consumerGroup":"payment","topic":"orders",
		"partition":1,"offset":"4294967301","key":"` + orderID + `","orderId":"` + orderID + `",
		"eventId":"e1000000-0000-4000-8000-000000000001","eventType":"order.created.v1",
		"event":"{\"type\":\"order.created.v1\"}","value":null,
		"parkedAt":"2025-01-02T03:04:05Z","updatedAt":"2025-01-02T03:04:05Z"}`
	orderLetterJSON = `{"id":"order:3","service":"order","kind":"PARKED","state":"WAITING",
		"reason":"waits behind parked message 2","attempts":0,"replays":0,"consumerGroup":"order","topic":"payments",
		"partition":0,"offset":"12","key":"` + orderID + `","orderId":"` + orderID + `",
		"eventId":null,"eventType":null,"event":null,"value":null,
		"parkedAt":"2025-01-02T03:04:06Z","updatedAt":"2025-01-02T03:04:06Z"}`
	compensationLetterJSON = `{"id":"compensation:1","service":"compensation","kind":"DEAD_LETTER","state":"DISCARDED",
		"reason":"decode: not an envelope","attempts":1,"replays":0,"consumerGroup":"compensation","topic":"payments",
		"partition":2,"offset":"0","key":"","orderId":null,"eventId":null,"eventType":null,"event":null,"value":"garbage",
		"parkedAt":"2025-01-02T03:04:07Z","updatedAt":"2025-01-02T04:04:05Z"}`
)

func TestAnAdminListsDeadLetters(t *testing.T) {
	t.Parallel()
	a := newAPI(t, graph.DefaultOptions())
	res := a.post(t, listDeadLetters, nil, "Authorization", asAdmin(adminID))
	require.Equal(t, http.StatusOK, res.status)
	require.Empty(t, res.Errors, "body: %s", res.body)
	require.JSONEq(t, `{"deadLetters":{"edges":[
		{"cursor":"at:1","node":`+paymentLetterJSON+`},
		{"cursor":"at:2","node":`+orderLetterJSON+`},
		{"cursor":"at:3","node":`+compensationLetterJSON+`}],
		"pageInfo":{"hasNextPage":false,"endCursor":"at:3"}}}`, string(res.Data))
	require.Equal(t, model.DeadLetterQuery{First: 50}, a.deadLetters.lastQuery(), "the default page, every service")

	res = a.post(t, `{ deadLetters(service: "payment", topic: "orders", reason: "timeout", kind: PARKED, state: WAITING, first: 200) {
		edges { node { id } } } }`, nil, "Authorization", asAdmin(adminID))
	require.Empty(t, res.Errors, "body: %s", res.body)
	require.JSONEq(t, `{"deadLetters":{"edges":[{"node":{"id":"payment:7"}}]}}`, string(res.Data))
	require.Equal(t, model.DeadLetterQuery{
		DeadLetterSelection: model.DeadLetterSelection{Service: "payment", Topic: "orders", Reason: "timeout", Kind: model.DeadLetterKindParked},
		State:               model.DeadLetterStateWaiting, First: 200,
	}, a.deadLetters.lastQuery())
}

func TestDeadLetterPagesFollowTheCursor(t *testing.T) {
	t.Parallel()
	a := newAPI(t, graph.DefaultOptions())
	var ids []string
	vars := map[string]any{"first": 2}
	for page := 0; ; page++ {
		require.Less(t, page, 3, "the pages never end")
		res := a.post(t, listDeadLetters, vars, "Authorization", asAdmin(adminID))
		require.Empty(t, res.Errors, "body: %s", res.body)
		var data struct {
			DeadLetters struct {
				Edges []struct {
					Cursor string
					Node   struct{ ID string }
				}
				PageInfo struct {
					HasNextPage bool
					EndCursor   *string
				}
			}
		}
		require.NoError(t, json.Unmarshal(res.Data, &data))
		for _, e := range data.DeadLetters.Edges {
			ids = append(ids, e.Node.ID)
		}
		if !data.DeadLetters.PageInfo.HasNextPage {
			break
		}
		require.NotNil(t, data.DeadLetters.PageInfo.EndCursor)
		vars["after"] = *data.DeadLetters.PageInfo.EndCursor
	}
	require.Equal(t, []string{"payment:7", "order:3", "compensation:1"}, ids, "every service's letters, once each, in order")
	require.Equal(t, "at:2", a.deadLetters.lastQuery().After, "the second page asked after the first's endCursor")

	res := a.post(t, listDeadLetters, map[string]any{"after": "not a cursor"}, "Authorization", asAdmin(adminID))
	e := res.onlyError(t)
	require.Equal(t, "BAD_USER_INPUT", e.code(), "the port's refusal of a cursor reaches the client")
	require.Equal(t, "after", e.Extensions["field"])
}

func TestDeadLetterTriageIsForAdmins(t *testing.T) {
	t.Parallel()
	const msg = "dead-letter triage needs a token with the admin role " +
		"(`bin/token -admin` prints one for `make run`; `bin/orderflowctl` mints its own)"
	operations := map[string]string{
		"deadLetters":       `{ deadLetters { edges { node { id } } } }`,
		"deadLetter":        `{ deadLetter(id: "payment:7") { id } }`,
		"replayDeadLetter":  `mutation { replayDeadLetter(id: "payment:7") { id } }`,
		"replayDeadLetters": `mutation { replayDeadLetters(filter: {}) { count } }`,
		"discardDeadLetter": `mutation { discardDeadLetter(id: "payment:7", note: "spam") { id } }`,
		// Bad arguments are not looked at before the role is.
		"deadLetters with a bad page size": `{ deadLetters(first: 0) { edges { node { id } } } }`,
		"deadLetter with a bad id":         `{ deadLetter(id: "nope") { id } }`,
	}
	for name, query := range operations {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := newAPI(t, graph.DefaultOptions())
			res := a.post(t, query, nil, "Authorization", asCustomer(customerID))
			require.Equal(t, http.StatusOK, res.status)
			e := res.onlyError(t)
			require.Equal(t, "FORBIDDEN", e.code())
			require.Equal(t, msg, e.Message)
			require.Empty(t, a.deadLetters.recorded(), "no service was asked")
		})
	}
}

func TestDeadLetterArgumentsAreChecked(t *testing.T) {
	t.Parallel()
	const services = "order, payment, compensation"
	idMessage := func(got string) string {
		return `id must be a dead letter's id, "<service>:<number>" such as "payment:42", where the service is one of ` +
			services + `; got "` + got + `"`
	}
	tests := []struct {
		name    string
		query   string
		field   string
		message string
	}{}
	for _, id := range []string{"payment", "payment:", ":42", "payment:0", "payment:-1", "payment:x", "payment:042",
		"payment:42:1", "payment: 42", "billing:42", "Payment:42"} {
		tests = append(tests,
			struct{ name, query, field, message string }{
				name: "deadLetter " + id, query: `{ deadLetter(id: "` + id + `") { id } }`, field: "id", message: idMessage(id),
			},
			struct{ name, query, field, message string }{
				name: "replay " + id, query: `mutation { replayDeadLetter(id: "` + id + `") { id } }`, field: "id", message: idMessage(id),
			},
			struct{ name, query, field, message string }{
				name: "discard " + id, query: `mutation { discardDeadLetter(id: "` + id + `", note: "n") { id } }`, field: "id", message: idMessage(id),
			})
	}
	tests = append(tests, []struct{ name, query, field, message string }{
		{
			name: "discard without a note", query: `mutation { discardDeadLetter(id: "payment:7", note: "") { id } }`, field: "note",
			message: "note must say why the letter is discarded (it is kept in the letter's audit trail); it is empty",
		},
		{
			name: "discard with a blank note", query: `mutation { discardDeadLetter(id: "payment:7", note: " \t ") { id } }`, field: "note",
			message: "note must say why the letter is discarded (it is kept in the letter's audit trail); it is empty",
		},
		{
			name: "a page of none", query: `{ deadLetters(first: 0) { edges { cursor } } }`, field: "first",
			message: "first must be between 1 and 200, got 0",
		},
		{
			name: "a page too large", query: `{ deadLetters(first: 201) { edges { cursor } } }`, field: "first",
			message: "first must be between 1 and 200, got 201",
		},
		{
			name: "an unknown service", query: `{ deadLetters(service: "billing") { edges { cursor } } }`, field: "service",
			message: `service must be one of ` + services + ` (or left out for all), got "billing"`,
		},
		{
			name: "an unknown service to replay", query: `mutation { replayDeadLetters(filter: {service: ""}) { count } }`,
			field: "filter.service", message: `filter.service must be one of ` + services + ` (or left out for all), got ""`,
		},
	}...)
	a := newAPI(t, graph.DefaultOptions())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := a.post(t, tt.query, nil, "Authorization", asAdmin(adminID))
			require.Equal(t, http.StatusOK, res.status)
			e := res.onlyError(t)
			require.Equal(t, "BAD_USER_INPUT", e.code())
			require.Equal(t, tt.field, e.Extensions["field"])
			require.Equal(t, tt.message, e.Message)
		})
	}
	require.Empty(t, a.deadLetters.recorded(), "no service was asked")
}

func TestDeadLetterTriage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		query string
		want  string
		calls []string // what the port was asked
	}{
		{
			name:  "one letter with its audit trail, fetched once",
			query: `{ deadLetter(id: "compensation:1") { id state audit { at action actor note } } }`,
			want: `{"deadLetter":{"id":"compensation:1","state":"DISCARDED","audit":[
				{"at":"2025-01-02T03:04:07Z","action":"dead_lettered","actor":"compensation","note":null},
				{"at":"2025-01-02T04:04:05Z","action":"discarded","actor":"` + adminID + `","note":"a test message"}]}}`,
			calls: []string{"get compensation:1"},
		},
		{
			name:  "an unknown letter is null",
			query: `{ deadLetter(id: "order:99") { id } }`,
			want:  `{"deadLetter":null}`,
			calls: []string{"get order:99"},
		},
		{
			name:  "a list fetches the trails only when they are selected",
			query: `{ deadLetters(service: "payment") { edges { node { id audit { action } } } } }`,
			want:  `{"deadLetters":{"edges":[{"node":{"id":"payment:7","audit":[{"action":"parked"}]}}]}}`,
			calls: []string{"list", "get payment:7"},
		},
		{
			name:  "replay as the admin, the trail read afterwards",
			query: `mutation { replayDeadLetter(id: "payment:7") { id state audit { action } } }`,
			want:  `{"replayDeadLetter":{"id":"payment:7","state":"REPLAYING","audit":[{"action":"parked"}]}}`,
			calls: []string{"replay payment:7 by " + adminID, "get payment:7"},
		},
		{
			name:  "replay every waiting letter a filter selects",
			query: `mutation { replayDeadLetters(filter: {service: "order", topic: "payments", reason: "psp", kind: PARKED}) { count } }`,
			want:  `{"replayDeadLetters":{"count":3}}`,
			calls: []string{"replay all {Service:order Topic:payments Reason:psp Kind:PARKED} by " + adminID},
		},
		{
			name:  "replay everything waiting",
			query: `mutation { replayDeadLetters(filter: {}) { count } }`,
			want:  `{"replayDeadLetters":{"count":3}}`,
			calls: []string{"replay all {Service: Topic: Reason: Kind:} by " + adminID},
		},
		{
			name:  "discard with a note, trimmed",
			query: `mutation { discardDeadLetter(id: "order:3", note: "  a duplicate of order:2 ") { id state } }`,
			want:  `{"discardDeadLetter":{"id":"order:3","state":"DISCARDED"}}`,
			calls: []string{"discard order:3 by " + adminID + ": a duplicate of order:2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newAPI(t, graph.DefaultOptions())
			res := a.post(t, tt.query, nil, "Authorization", asAdmin(adminID))
			require.Empty(t, res.Errors, "body: %s", res.body)
			require.JSONEq(t, tt.want, string(res.Data))
			require.Equal(t, tt.calls, a.deadLetters.recorded())
		})
	}
}

func TestDeadLetterErrorsReachTheAdmin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		code string
	}{
		{err: model.NotFound("dead letter payment:7 does not exist"), code: "NOT_FOUND"},
		{err: &model.Error{Code: model.CodeConflict, Message: "dead letter payment:7 is replayed; only a waiting letter can be replayed"}, code: "CONFLICT"},
		{err: model.Unavailable("the payment service cannot be reached; retry when it is up"), code: "UNAVAILABLE"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			a := newAPI(t, graph.DefaultOptions(), func(a *api) { a.deadLetters.err = tt.err })
			for _, q := range []string{
				`mutation { replayDeadLetter(id: "payment:7") { id } }`,
				`{ deadLetters { edges { cursor } } }`,
			} {
				res := a.post(t, q, nil, "Authorization", asAdmin(adminID))
				e := res.onlyError(t)
				require.Equal(t, tt.code, e.code(), q)
				require.Equal(t, tt.err.Error(), e.Message, q)
			}
		})
	}
}
