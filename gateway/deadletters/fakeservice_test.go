package deadletters_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderflow/orderflow/platform/auth"
	"github.com/orderflow/orderflow/platform/parking"
)

// serviceToken is what the fake services demand of their callers.
const serviceToken = "test-service-token-0123456789abcdef"

// fakeService speaks a service's triage API (the routes of package
// parking) over letters it holds in memory, behind the service token.
type fakeService struct {
	name string
	// maxPage is the most letters it serves in one page, whatever first
	// asks for (parking.MaxPage if 0).
	maxPage int

	mu       sync.Mutex
	letters  []parking.Letter // by id
	requests []string         // "GET /v1/deadletters?first=2", in order
}

// start serves f on a test server and returns its URL.
func (f *fakeService) start(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/deadletters", f.list)
	mux.HandleFunc("GET /v1/deadletters/{id}", f.withLetter(func(l *parking.Letter, _ *http.Request) (int, any) {
		return http.StatusOK, *l
	}))
	mux.HandleFunc("POST /v1/deadletters/{id}/replay", f.withLetter(func(l *parking.Letter, r *http.Request) (int, any) {
		var req parking.ReplayRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Actor == "" {
			return errorAnswer(http.StatusBadRequest, parking.CodeInvalid, "the body must name the actor")
		}
		// As parking.Store: a replaying letter is left as it is, a
		// discarded one cannot be replayed.
		switch l.State {
		case parking.StateDiscarded:
			return errorAnswer(http.StatusConflict, parking.CodeConflict, "message "+strconv.FormatInt(l.ID, 10)+" was discarded: it cannot be replayed")
		case parking.StateReplaying:
		default:
			f.replay(l, req.Actor)
		}
		return http.StatusOK, *l
	}))
	mux.HandleFunc("POST /v1/deadletters/{id}/discard", f.withLetter(func(l *parking.Letter, r *http.Request) (int, any) {
		var req parking.DiscardRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Actor == "" || req.Note == "" {
			return errorAnswer(http.StatusBadRequest, parking.CodeInvalid, "the body must name the actor and have a note")
		}
		if l.State != parking.StateWaiting {
			return errorAnswer(http.StatusConflict, parking.CodeConflict, "message "+strconv.FormatInt(l.ID, 10)+" is "+l.State+": only a waiting message can be discarded")
		}
		l.State = parking.StateDiscarded
		l.Audit = append(l.Audit, parking.AuditEntry{At: l.ParkedAt.Add(time.Hour), Action: parking.ActionDiscarded, Actor: req.Actor, Note: req.Note})
		return http.StatusOK, *l
	}))
	mux.HandleFunc("POST /v1/deadletters/replay", func(w http.ResponseWriter, r *http.Request) {
		var req parking.ReplayRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Actor == "" {
			write(w, http.StatusBadRequest, parking.ErrorBody{Error: parking.ErrorDetail{Code: parking.CodeInvalid, Message: "the body must name the actor"}})
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		n := 0
		for i := range f.letters {
			if l := &f.letters[i]; l.State == parking.StateWaiting && matches(*l, req.Filter) {
				f.replay(l, req.Actor)
				n++
			}
		}
		write(w, http.StatusOK, parking.ReplayResult{Count: n})
	})
	srv := httptest.NewServer(auth.RequireServiceToken(serviceToken, f.record(mux)))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (f *fakeService) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
		f.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (f *fakeService) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

// replay does what a consumer's replay would ask for; f.mu is held.
func (f *fakeService) replay(l *parking.Letter, actor string) {
	l.State = parking.StateReplaying
	l.Audit = append(l.Audit, parking.AuditEntry{At: l.ParkedAt.Add(time.Minute), Action: parking.ActionReplayAsked, Actor: actor})
}

func (f *fakeService) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	first, after := parking.MaxPage, int64(0)
	var err error
	if s := q.Get("first"); s != "" {
		if first, err = strconv.Atoi(s); err != nil || first < 1 || first > parking.MaxPage {
			write(w, http.StatusBadRequest, parking.ErrorBody{Error: parking.ErrorDetail{Code: parking.CodeInvalid, Message: "bad first"}})
			return
		}
	}
	if s := q.Get("after"); s != "" {
		if after, err = strconv.ParseInt(s, 10, 64); err != nil || after < 0 {
			write(w, http.StatusBadRequest, parking.ErrorBody{Error: parking.ErrorDetail{Code: parking.CodeInvalid, Message: "bad after"}})
			return
		}
	}
	if f.maxPage > 0 {
		first = min(first, f.maxPage)
	}
	filter := parking.Filter{Topic: q.Get("topic"), Reason: q.Get("reason"), Kind: q.Get("kind"), State: q.Get("state")}
	f.mu.Lock()
	defer f.mu.Unlock()
	page := parking.Page{Letters: []parking.Letter{}}
	for _, l := range f.letters {
		if l.ID <= after || !matches(l, filter) {
			continue
		}
		if len(page.Letters) == first {
			page.HasNext = true
			break
		}
		l.Audit = nil // lists leave it out
		page.Letters = append(page.Letters, l)
		page.EndCursor = l.ID
	}
	write(w, http.StatusOK, page)
}

// withLetter serves a route about the letter named by the path, under f.mu.
func (f *fakeService) withLetter(h func(*parking.Letter, *http.Request) (int, any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		f.mu.Lock()
		defer f.mu.Unlock()
		for i := range f.letters {
			if f.letters[i].ID == id {
				status, body := h(&f.letters[i], r)
				write(w, status, body)
				return
			}
		}
		write(w, http.StatusNotFound, parking.ErrorBody{Error: parking.ErrorDetail{Code: parking.CodeNotFound, Message: "no letter " + r.PathValue("id")}})
	}
}

func matches(l parking.Letter, f parking.Filter) bool {
	return (f.Topic == "" || l.Topic == f.Topic) && (f.Kind == "" || l.Kind == f.Kind) && (f.State == "" || l.State == f.State) &&
		(f.Reason == "" || strings.Contains(strings.ToLower(l.Reason), strings.ToLower(f.Reason)))
}

func errorAnswer(status int, code, message string) (int, any) {
	return status, parking.ErrorBody{Error: parking.ErrorDetail{Code: code, Message: message}}
}

func write(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
