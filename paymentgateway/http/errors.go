package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/orderflow/orderflow/paymentgateway/idempotency"
	"github.com/orderflow/orderflow/paymentgateway/psp"
)

type errorJSON struct {
	Code    string `json:"code"`
	Param   string `json:"param,omitempty"`
	Message string `json:"message"`
	Charge  string `json:"charge,omitempty"`
}

type errorBody struct {
	Error errorJSON `json:"error"`
}

// replayedHeader marks an answer replayed from an earlier request with the
// same key (Stripe's name for it).
const replayedHeader = "Idempotent-Replayed"

// marshalReply turns v into a reply. Should v fail to encode, the reply is a
// 500, which is never recorded under a key, so nothing half-made is kept.
func marshalReply(status int, v any) idempotency.Reply {
	body, err := json.Marshal(v)
	if err != nil {
		return internalReply()
	}
	return idempotency.Reply{Status: status, Body: append(body, '\n')}
}

func errorReply(status int, e errorJSON) idempotency.Reply {
	return marshalReply(status, errorBody{Error: e})
}

func internalReply() idempotency.Reply {
	return idempotency.Reply{
		Status: http.StatusInternalServerError,
		Body:   []byte(`{"error":{"code":"internal_error","message":"Something went wrong on our side; retry with the same Idempotency-Key."}}` + "\n"),
	}
}

func send(w http.ResponseWriter, reply idempotency.Reply) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(reply.Status)
	_, _ = w.Write(reply.Body)
}

// reject answers with an error the caller caused or must wait out.
func reject(w http.ResponseWriter, status int, code, param, message string) {
	send(w, errorReply(status, errorJSON{Code: code, Param: param, Message: message}))
}

// domainError presents a broken domain rule.
func domainError(err error) errorJSON {
	var perr *psp.Error
	if errors.As(err, &perr) {
		return errorJSON{Code: perr.Code, Param: perr.Param, Message: perr.Message}
	}
	return errorJSON{Code: "invalid_request", Message: err.Error()}
}

// fail answers err: a broken rule as 400, anything else as 500 with the
// details logged, never shown.
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	var perr *psp.Error
	if errors.As(err, &perr) {
		send(w, errorReply(http.StatusBadRequest, domainError(err)))
		return
	}
	a.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	send(w, internalReply())
}

// idempotent makes the idempotent request of a write, or answers the
// request's error and reports false. A key seen before is not looked up
// here: the ledger's write claims the key first and, finding it recorded,
// returns the recorded answer instead of writing (Replayed), so a first-time
// request costs the PSP's database one round trip less.
func (a *api) idempotent(w http.ResponseWriter, r *http.Request, scope, key string, params any) (idempotency.Request, bool) {
	ireq, err := idempotency.NewRequest(scope, key, params)
	if err != nil {
		a.fail(w, r, err)
		return idempotency.Request{}, false
	}
	return ireq, true
}

// replay answers a request whose key was already recorded: with the recorded
// reply if it is the same request, with 409 if the key is being reused for a
// different one.
func (a *api) replay(w http.ResponseWriter, r *http.Request, req idempotency.Request, rec idempotency.Record, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !rec.Matches(req) {
		reject(w, http.StatusConflict, "idempotency_key_reused", "",
			"Keys for idempotent requests can only be used with the same parameters they were first used with. "+
				"Use a new Idempotency-Key for a different request.")
		return
	}
	w.Header().Set(replayedHeader, "true")
	send(w, rec.Reply)
}
