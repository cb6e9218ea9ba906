package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/platform/auth"
)

// The command is tested against a fake gateway: an HTTP server that
// answers GraphQL requests with canned data and records what it got.

// request is one GraphQL request the fake gateway got.
type request struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	Authorization string         `json:"-"`
}

type fakeGateway struct {
	url string
	// answer returns the response body (a GraphQL response) and status
	// for a request.
	answer func(r request) (int, string)

	mu       sync.Mutex
	requests []request
}

func newFakeGateway(t *testing.T, answer func(r request) (int, string)) *fakeGateway {
	t.Helper()
	f := &fakeGateway{answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
			json.NewDecoder(r.Body).Decode(&req) != nil {
			http.Error(w, "not a GraphQL POST", http.StatusBadRequest)
			return
		}
		req.Authorization = r.Header.Get("Authorization")
		f.mu.Lock()
		f.requests = append(f.requests, req)
		f.mu.Unlock()
		status, body := f.answer(req)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/graphql"
	return f
}

func (f *fakeGateway) got() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.requests...)
}

// data answers every request with this data.
func data(body string) func(request) (int, string) {
	return func(request) (int, string) { return http.StatusOK, `{"data":` + body + `}` }
}

// The letters the fake gateway knows, as GraphQL answers them.
const (
	paymentLetter = `{"id":"payment:7","service":"payment","kind":"PARKED","state":"WAITING",
		"reason":"psp: timeout after 3 attempts, the last one\nwith a long explanation of what the PSP said to us",
		"attempts":3,"replays":0,"consumerGroup":"payment","topic":"orders","partition":1,"offset":"4294967301",
		"key":"5b1f6b0e-7d5c-4c47-9b8a-3f0f9d6f6a11","orderId":"5b1f6b0e-7d5c-4c47-9b8a-3f0f9d6f6a11",
		"eventId":"e1000000-0000-4000-8000-000000000001","eventType":"order.created.v1",
		"event":"{\"type\":\"order.created.v1\",\"payload\":{\"total\":2500}}","value":null,
		"parkedAt":"2025-01-02T03:04:05Z","updatedAt":"2025-01-02T03:04:05Z"}`
	compensationLetter = `{"id":"compensation:1","service":"compensation","kind":"DEAD_LETTER","state":"DISCARDED",
		"reason":"decode: not an envelope","attempts":1,"replays":0,"consumerGroup":"compensation","topic":"payments",
		"partition":2,"offset":"0","key":"","orderId":null,"eventId":null,"eventType":null,"event":null,"value":"garbage",
		"parkedAt":"2025-01-02T03:04:07Z","updatedAt":"2025-01-02T04:04:05Z",
		"audit":[{"at":"2025-01-02T03:04:07Z","action":"dead_lettered","actor":"compensation","note":null},
			{"at":"2025-01-02T04:04:05Z","action":"discarded","actor":"ad000000-0000-4000-8000-0000000000ad","note":"a test message"}]}`
)

// ctl runs orderflowctl against the fake gateway with a token, and
// returns the exit code, stdout and stderr.
func ctl(t *testing.T, f *fakeGateway, args ...string) (int, string, string) {
	t.Helper()
	return ctlEnv(t, map[string]string{"ORDERFLOW_GATEWAY": f.url, "ORDERFLOW_TOKEN": "test-token"}, args...)
}

func ctlEnv(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr, func(k string) string { return env[k] })
	return code, stdout.String(), stderr.String()
}

func TestListPrintsATable(t *testing.T) {
	t.Parallel()
	f := newFakeGateway(t, data(`{"deadLetters":{"edges":[{"node":`+paymentLetter+`},{"node":`+compensationLetter+`}],
		"pageInfo":{"hasNextPage":true,"endCursor":"c2"}}}`))
	code, stdout, stderr := ctl(t, f, "dlq", "list")
	require.Equal(t, exitOK, code, stderr)
	require.Equal(t, ""+
		"ID              SERVICE       KIND         STATE      TOPIC/PARTITION/OFFSET  ORDER                                 EVENT TYPE        ATTEMPTS  REASON                                            PARKED AT\n"+
		"payment:7       payment       parked       waiting    orders/1/4294967301     5b1f6b0e-7d5c-4c47-9b8a-3f0f9d6f6a11  order.created.v1  3         psp: timeout after 3 attempts, the last one wit…  2025-01-02T03:04:05Z\n"+
		"compensation:1  compensation  dead_letter  discarded  payments/2/0            -                                     -                 1         decode: not an envelope                           2025-01-02T03:04:07Z\n"+
		"more letters follow: -after c2 for the next page, or -all\n", stdout)
	got := f.got()
	require.Len(t, got, 1)
	require.Empty(t, got[0].Variables, "the gateway's defaults: every letter, a page of 50")
	require.Equal(t, "Bearer test-token", got[0].Authorization)
}

func TestListSelectsAndPages(t *testing.T) {
	t.Parallel()
	pages := map[string]string{ // by after
		"":   `{"deadLetters":{"edges":[{"node":` + paymentLetter + `}],"pageInfo":{"hasNextPage":true,"endCursor":"c1"}}}`,
		"c1": `{"deadLetters":{"edges":[{"node":` + compensationLetter + `}],"pageInfo":{"hasNextPage":false,"endCursor":"c2"}}}`,
	}
	f := newFakeGateway(t, func(r request) (int, string) {
		after, _ := r.Variables["after"].(string)
		return http.StatusOK, `{"data":` + pages[after] + `}`
	})

	code, stdout, stderr := ctl(t, f, "dlq", "list", "-all", "-json", "-service", "payment", "-topic", "orders",
		"-reason", "timeout", "-kind", "parked", "-state", "WAITING")
	require.Equal(t, exitOK, code, stderr)
	var out struct {
		Letters []struct {
			ID    string `json:"id"`
			Event string `json:"event"`
		} `json:"letters"`
		HasNextPage bool   `json:"hasNextPage"`
		EndCursor   string `json:"endCursor"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
	require.Equal(t, []string{"payment:7", "compensation:1"}, []string{out.Letters[0].ID, out.Letters[1].ID})
	require.Equal(t, `{"type":"order.created.v1","payload":{"total":2500}}`, out.Letters[0].Event)
	require.False(t, out.HasNextPage)
	require.Equal(t, "c2", out.EndCursor)

	selected := map[string]any{"service": "payment", "topic": "orders", "reason": "timeout", "kind": "PARKED", "state": "WAITING"}
	got := f.got()
	require.Len(t, got, 2, "-all followed the pages to the end")
	require.Equal(t, withVars(selected, "first", float64(200)), got[0].Variables, "-all pages by the largest page")
	require.Equal(t, withVars(selected, "first", float64(200), "after", "c1"), got[1].Variables)

	code, _, stderr = ctl(t, f, "dlq", "list", "-first", "1", "-after", "c1", "-kind", "DEAD_LETTER")
	require.Equal(t, exitOK, code, stderr)
	require.Equal(t, map[string]any{"first": float64(1), "after": "c1", "kind": "DEAD_LETTER"}, f.got()[2].Variables)
}

func withVars(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func TestShowPrintsTheWholeLetter(t *testing.T) {
	t.Parallel()
	f := newFakeGateway(t, func(r request) (int, string) {
		if r.Variables["id"] == "compensation:1" {
			return http.StatusOK, `{"data":{"deadLetter":` + compensationLetter + `}}`
		}
		return http.StatusOK, `{"data":{"deadLetter":` + strings.Replace(paymentLetter, `"updatedAt"`, `"audit":[],"updatedAt"`, 1) + `}}`
	})
	code, stdout, stderr := ctl(t, f, "dlq", "show", "compensation:1")
	require.Equal(t, exitOK, code, stderr)
	require.Equal(t, ""+
		"id:              compensation:1\n"+
		"service:         compensation\n"+
		"kind:            dead_letter\n"+
		"state:           discarded\n"+
		"reason:          decode: not an envelope\n"+
		"attempts:        1\n"+
		"replays:         0\n"+
		"consumer group:  compensation\n"+
		"topic:           payments\n"+
		"partition:       2\n"+
		"offset:          0\n"+
		"key:             -\n"+
		"order:           -\n"+
		"event id:        -\n"+
		"event type:      -\n"+
		"parked at:       2025-01-02T03:04:07Z\n"+
		"updated at:      2025-01-02T04:04:05Z\n"+
		"value (not JSON):\n"+
		"  \"garbage\"\n"+
		"audit:\n"+
		"  2025-01-02T03:04:07Z  dead_lettered  compensation\n"+
		"  2025-01-02T04:04:05Z  discarded      ad000000-0000-4000-8000-0000000000ad  a test message\n", stdout)
	require.Equal(t, map[string]any{"id": "compensation:1"}, f.got()[0].Variables)
	require.Contains(t, f.got()[0].Query, "audit { at action actor note }")

	code, stdout, stderr = ctl(t, f, "dlq", "show", "payment:7")
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "event:\n  {\n    \"type\": \"order.created.v1\",\n    \"payload\": {\n      \"total\": 2500\n    }\n  }\n",
		"the event pretty-printed")

	code, stdout, stderr = ctl(t, f, "-json", "dlq", "show", "compensation:1")
	require.Equal(t, exitOK, code, stderr)
	require.JSONEq(t, compensationLetter, stdout)

	unknown := newFakeGateway(t, data(`{"deadLetter":null}`))
	code, stdout, stderr = ctl(t, unknown, "dlq", "show", "order:99")
	require.Equal(t, exitError, code)
	require.Empty(t, stdout)
	require.Equal(t, "orderflowctl: there is no dead letter order:99\n", stderr)
}

func TestReplayAndDiscard(t *testing.T) {
	t.Parallel()
	replaying := strings.Replace(paymentLetter, `"state":"WAITING"`, `"state":"REPLAYING"`, 1)
	discarded := strings.Replace(paymentLetter, `"state":"WAITING"`, `"state":"DISCARDED"`, 1)
	tests := []struct {
		name   string
		args   []string
		answer string
		vars   map[string]any
		query  string // what the operation starts with
		stdout string
	}{
		{
			name: "one letter", args: []string{"dlq", "replay", "payment:7"},
			answer: `{"replayDeadLetter":` + replaying + `}`, vars: map[string]any{"id": "payment:7"},
			query:  "mutation($id: ID!) { replayDeadLetter(id: $id)",
			stdout: "payment:7 is replaying (replays so far: 0); the consumer of its partition carries the replay out\n",
		},
		{
			name: "every waiting letter", args: []string{"dlq", "replay", "-all"},
			answer: `{"replayDeadLetters":{"count":0}}`, vars: map[string]any{"filter": map[string]any{}},
			query: "mutation($filter: DeadLetterFilter!)", stdout: "asked for 0 waiting letters to be replayed\n",
		},
		{
			name: "every waiting letter a filter selects", args: []string{"dlq", "replay", "-kind", "dead_letter", "-all", "-service", "order", "-reason", "decode"},
			answer: `{"replayDeadLetters":{"count":3}}`,
			vars:   map[string]any{"filter": map[string]any{"kind": "DEAD_LETTER", "service": "order", "reason": "decode"}},
			query:  "mutation($filter: DeadLetterFilter!)", stdout: "asked for 3 waiting letters to be replayed\n",
		},
		{
			name: "one waiting letter", args: []string{"dlq", "replay", "-all", "-topic", "orders"},
			answer: `{"replayDeadLetters":{"count":1}}`, vars: map[string]any{"filter": map[string]any{"topic": "orders"}},
			query: "mutation($filter: DeadLetterFilter!)", stdout: "asked for 1 waiting letter to be replayed\n",
		},
		{
			name: "a count as JSON", args: []string{"dlq", "replay", "-all", "-json"},
			answer: `{"replayDeadLetters":{"count":3}}`, vars: map[string]any{"filter": map[string]any{}},
			query: "mutation($filter: DeadLetterFilter!)", stdout: "{\n  \"count\": 3\n}\n",
		},
		{
			name: "discard with the note after the id", args: []string{"dlq", "discard", "payment:7", "-note", "a duplicate"},
			answer: `{"discardDeadLetter":` + discarded + `}`, vars: map[string]any{"id": "payment:7", "note": "a duplicate"},
			query: "mutation($id: ID!, $note: String!)", stdout: "payment:7 is discarded\n",
		},
		{
			name: "discard with the note first", args: []string{"dlq", "discard", "-note", "spam", "payment:7"},
			answer: `{"discardDeadLetter":` + discarded + `}`, vars: map[string]any{"id": "payment:7", "note": "spam"},
			query: "mutation($id: ID!, $note: String!)", stdout: "payment:7 is discarded\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeGateway(t, data(tt.answer))
			code, stdout, stderr := ctl(t, f, tt.args...)
			require.Equal(t, exitOK, code, stderr)
			require.Equal(t, tt.stdout, stdout)
			got := f.got()
			require.Len(t, got, 1)
			require.Equal(t, tt.vars, got[0].Variables)
			require.True(t, strings.HasPrefix(got[0].Query, tt.query), got[0].Query)
		})
	}
}

func TestUsageErrorsSayWhatToFix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		message string
	}{
		{nil, "name a command: dlq list, dlq show, dlq replay or dlq discard"},
		{[]string{"orders"}, `unknown command "orders"; the commands are dlq list, dlq show, dlq replay and dlq discard`},
		{[]string{"dlq"}, "name what to do with dead letters: dlq list, dlq show, dlq replay or dlq discard"},
		{[]string{"dlq", "purge"}, `unknown command "dlq purge"; use dlq list, dlq show, dlq replay or dlq discard`},
		{[]string{"-verbose", "dlq", "list"}, "flag provided but not defined: -verbose"},
		{[]string{"dlq", "list", "-kind", "poison"}, `-kind must be parked or dead_letter, got "poison"`},
		{[]string{"dlq", "list", "-state", "stuck"}, `-state must be waiting, replaying, replayed or discarded, got "stuck"`},
		{[]string{"dlq", "list", "-first", "0"}, "-first must be between 1 and 200, got 0"},
		{[]string{"dlq", "list", "-first", "201"}, "-first must be between 1 and 200, got 201"},
		{[]string{"dlq", "list", "-first", "many"}, `dlq list: invalid value "many" for flag -first: parse error`},
		{[]string{"dlq", "list", "payment:7"}, "dlq list takes flags only, got payment:7 (to see one letter: dlq show ID)"},
		{[]string{"dlq", "show"}, "dlq show needs the letter's id, e.g. payment:42 (dlq list shows them)"},
		{[]string{"dlq", "show", "payment:7", "order:3"}, "dlq show takes one id, got payment:7 order:3"},
		{[]string{"dlq", "replay"}, "dlq replay needs the letter's id, e.g. payment:42 (dlq list shows them), " +
			"or -all to replay every waiting letter (narrowed with -service, -topic, -reason, -kind)"},
		{[]string{"dlq", "replay", "-all", "payment:7"}, "dlq replay takes an id or -all, not both"},
		{[]string{"dlq", "replay", "-service", "payment", "payment:7"}, "-service payment selects letters for -all; add -all, or name one letter's id instead"},
		{[]string{"dlq", "replay", "-all", "-kind", "stuck"}, `-kind must be parked or dead_letter, got "stuck"`},
		{[]string{"dlq", "discard", "payment:7"}, `dlq discard needs -note "why": the audit trail keeps it for whoever looks at the letter later`},
		{[]string{"dlq", "discard", "payment:7", "-note", "  "}, `dlq discard needs -note "why": the audit trail keeps it for whoever looks at the letter later`},
		{[]string{"dlq", "discard", "-note", "why"}, "dlq discard needs the letter's id, e.g. payment:42 (dlq list shows them)"},
	}
	f := newFakeGateway(t, data(`{}`))
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := ctl(t, f, tt.args...)
			require.Equal(t, exitUsage, code, stderr)
			require.Empty(t, stdout)
			require.Equal(t, "orderflowctl: "+tt.message+"\norderflowctl -help shows the usage\n", stderr)
		})
	}
	require.Empty(t, f.got(), "nothing was sent")

	code, stdout, _ := ctl(t, f, "-help")
	require.Equal(t, exitOK, code)
	require.Contains(t, stdout, "dlq discard ID -note \"why\"")
}

func TestGatewayErrorsExit1(t *testing.T) {
	t.Parallel()
	forbidden := newFakeGateway(t, func(request) (int, string) {
		return http.StatusOK, `{"errors":[{"message":"dead-letter triage needs a token with the admin role",
			"path":["deadLetters"],"extensions":{"code":"FORBIDDEN"}}],"data":null}`
	})
	code, stdout, stderr := ctl(t, forbidden, "dlq", "list")
	require.Equal(t, exitError, code)
	require.Empty(t, stdout)
	require.Equal(t, "orderflowctl: FORBIDDEN: dead-letter triage needs a token with the admin role\n", stderr)

	refused := newFakeGateway(t, func(request) (int, string) {
		return http.StatusUnauthorized, `{"errors":[{"message":"the token was refused: the token expired","extensions":{"code":"UNAUTHENTICATED"}}]}`
	})
	code, _, stderr = ctl(t, refused, "dlq", "replay", "payment:7")
	require.Equal(t, exitError, code)
	require.Equal(t, "orderflowctl: UNAUTHENTICATED: the token was refused: the token expired\n", stderr)

	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	code, _, stderr = ctlEnv(t, map[string]string{"ORDERFLOW_TOKEN": "t"}, "-gateway", down.URL+"/graphql", "dlq", "list")
	require.Equal(t, exitError, code)
	require.Contains(t, stderr, "orderflowctl: the gateway at "+down.URL+"/graphql did not answer (is it running? `make run` starts it)")
}

func TestTheToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := auth.EnsureDev(dir)
	require.NoError(t, err)
	verifier, err := auth.NewVerifier(t.Context(), auth.VerifierConfig{
		JWKS: filepath.Join(dir, auth.JWKSFile), Issuer: auth.DevIssuer, Audience: auth.DevAudience,
	})
	require.NoError(t, err)
	f := newFakeGateway(t, data(`{"deadLetters":{"edges":[],"pageInfo":{"hasNextPage":false,"endCursor":null}}}`))
	const operator = "0c5e3a8e-2f0d-4b8e-9b6a-1d2c3e4f5a6b"

	// Flags after the command, the token signed with the dev issuer.
	code, stdout, stderr := ctlEnv(t, nil, "dlq", "list", "-gateway", f.url, "-auth-dir", dir, "-subject", operator)
	require.Equal(t, exitOK, code, stderr)
	require.Equal(t, "no letters\n", stdout)
	p, err := verifier.Verify(strings.TrimPrefix(f.got()[0].Authorization, "Bearer "))
	require.NoError(t, err, "the gateway of make run trusts the token")
	require.True(t, p.Admin, "an admin's token")
	require.Equal(t, operator, p.Customer)

	// Without -subject, the same OS user signs as the same subject.
	for range 2 {
		code, _, stderr = ctlEnv(t, nil, "-gateway", f.url, "-auth-dir", dir, "dlq", "list")
		require.Equal(t, exitOK, code, stderr)
	}
	got := f.got()
	first, err := verifier.Verify(strings.TrimPrefix(got[1].Authorization, "Bearer "))
	require.NoError(t, err)
	second, err := verifier.Verify(strings.TrimPrefix(got[2].Authorization, "Bearer "))
	require.NoError(t, err)
	require.True(t, first.Admin)
	require.Equal(t, first.Customer, second.Customer)

	// -token wins over ORDERFLOW_TOKEN, which wins over the issuer.
	env := map[string]string{"ORDERFLOW_GATEWAY": f.url, "ORDERFLOW_TOKEN": "from-env"}
	code, _, stderr = ctlEnv(t, env, "-auth-dir", dir, "dlq", "list")
	require.Equal(t, exitOK, code, stderr)
	require.Equal(t, "Bearer from-env", f.got()[3].Authorization)
	code, _, stderr = ctlEnv(t, env, "-token", "from-flag", "dlq", "list")
	require.Equal(t, exitOK, code, stderr)
	require.Equal(t, "Bearer from-flag", f.got()[4].Authorization)

	// No token and no issuer: say how to get one.
	code, _, stderr = ctlEnv(t, nil, "-gateway", f.url, "-auth-dir", filepath.Join(dir, "missing"), "dlq", "list")
	require.Equal(t, exitError, code)
	require.Contains(t, stderr, "orderflowctl: no token: pass -token or set ORDERFLOW_TOKEN to an admin's token, "+
		"or run from the repository root of a `make run` deployment (or pass -auth-dir)")
	code, _, stderr = ctlEnv(t, nil, "-gateway", f.url, "-auth-dir", dir, "-subject", "ops", "dlq", "list")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, `orderflowctl: -subject: the customer must be a UUID, got "ops"`)
	require.Len(t, f.got(), 5, "nothing was sent without a token")
}
