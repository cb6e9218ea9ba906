package graph

import (
	"context"
	"net/http"

	"github.com/google/uuid"
)

type requestIDKey struct{}

// requestIDFrom returns the request id NewHandler put in ctx, or "unknown"
// when the presenter runs outside it (e.g. in a test of the presenter).
func requestIDFrom(ctx context.Context) string {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		return id
	}
	return "unknown"
}

// requestID picks the request's id: the gateway's, a well-formed
// X-Request-Id header, or a new UUID.
func requestID(r *http.Request, fromCtx func(context.Context) string) string {
	if fromCtx != nil {
		if id := fromCtx(r.Context()); id != "" {
			return id
		}
	}
	if id := r.Header.Get("X-Request-Id"); wellFormedID(id) {
		return id
	}
	return uuid.NewString()
}

// wellFormedID accepts short ids of safe characters only: the id is echoed
// in a header, in error messages and in logs.
func wellFormedID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}
