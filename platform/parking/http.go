package parking

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/orderflow/orderflow/platform/httpserver"
)

// DefaultPage is how many letters a list holds when first is not given.
const DefaultPage = 50

// Routes mounts the triage API of s on mux (the service serves it behind
// its service token; the gateway's deadLetters query and mutations call
// it). wake is called after a replay is asked for or a letter discarded, so
// that the consumers of this process look for due replays at once.
func Routes(mux *http.ServeMux, s *Store, wake func()) {
	h := &routes{store: s, wake: wake}
	mux.HandleFunc("GET /v1/deadletters", h.list)
	mux.HandleFunc("GET /v1/deadletters/{id}", h.get)
	mux.HandleFunc("POST /v1/deadletters/{id}/replay", h.replay)
	mux.HandleFunc("POST /v1/deadletters/{id}/discard", h.discard)
	mux.HandleFunc("POST /v1/deadletters/replay", h.replayAll)
}

type routes struct {
	store *Store
	wake  func()
}

func (h *routes) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	first, after := DefaultPage, int64(0)
	var err error
	if v := q.Get("first"); v != "" {
		if first, err = strconv.Atoi(v); err != nil {
			writeError(w, &InvalidError{fmt.Sprintf("first must be a number, not %q", v)})
			return
		}
	}
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			writeError(w, &InvalidError{fmt.Sprintf("after must be the id of a message, not %q", v)})
			return
		}
	}
	f := Filter{Topic: q.Get("topic"), Reason: q.Get("reason"), Kind: q.Get("kind"), State: q.Get("state")}
	page, err := h.store.List(r.Context(), f, first, after)
	if err != nil {
		writeError(w, err)
		return
	}
	if page.Letters == nil {
		page.Letters = []Letter{}
	}
	httpserver.WriteJSON(w, http.StatusOK, page)
}

func (h *routes) get(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	l, err := h.store.Get(r.Context(), id)
	if err != nil {
		writeError(w, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, l)
}

func (h *routes) replay(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var req ReplayRequest
	if !decode(w, r, &req) {
		return
	}
	l, err := h.store.Replay(r.Context(), id, req.Actor)
	if err != nil {
		writeError(w, err)
		return
	}
	h.wake()
	httpserver.WriteJSON(w, http.StatusOK, l)
}

func (h *routes) replayAll(w http.ResponseWriter, r *http.Request) {
	var req ReplayRequest
	if !decode(w, r, &req) {
		return
	}
	n, err := h.store.ReplayAll(r.Context(), req.Filter, req.Actor)
	if err != nil {
		writeError(w, err)
		return
	}
	h.wake()
	httpserver.WriteJSON(w, http.StatusOK, ReplayResult{Count: n})
}

func (h *routes) discard(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var req DiscardRequest
	if !decode(w, r, &req) {
		return
	}
	l, err := h.store.Discard(r.Context(), id, req.Actor, req.Note)
	if err != nil {
		writeError(w, err)
		return
	}
	h.wake()
	httpserver.WriteJSON(w, http.StatusOK, l)
}

func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	v := r.PathValue("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		writeError(w, &InvalidError{fmt.Sprintf("%q is not the id of a message set aside (a positive number)", v)})
		return 0, false
	}
	return id, true
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, &InvalidError{"the body is not a valid request: " + err.Error()})
		return false
	}
	return true
}

func writeError(w http.ResponseWriter, err error) {
	var invalid *InvalidError
	var conflict *ConflictError
	status, detail := http.StatusInternalServerError, ErrorDetail{Code: CodeInternal, Message: err.Error()}
	switch {
	case errors.As(err, &invalid):
		status, detail = http.StatusBadRequest, ErrorDetail{Code: CodeInvalid, Message: invalid.Message}
	case errors.As(err, &conflict):
		status, detail = http.StatusConflict, ErrorDetail{Code: CodeConflict, Message: conflict.Message}
	case errors.Is(err, ErrNotFound):
		status, detail = http.StatusNotFound, ErrorDetail{Code: CodeNotFound, Message: err.Error()}
	}
	httpserver.WriteJSON(w, status, ErrorBody{Error: detail})
}
