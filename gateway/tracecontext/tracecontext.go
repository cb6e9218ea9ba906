// Package tracecontext carries W3C trace contexts (the traceparent header,
// https://www.w3.org/TR/trace-context/) through the gateway: a GraphQL
// request's trace continues into the order service, and a request without
// one starts a new trace there. The order service records the traceparent
// in the events it appends, and every service's reaction inherits it, so
// all the events of one saga share a trace id (see gateway/timeline).
package tracecontext

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
)

// Header is the W3C trace context header.
const Header = "traceparent"

// Parent is a parsed traceparent: version 00's four fields.
type Parent struct {
	TraceID  string // 32 lowercase hex digits, not all zero
	ParentID string // 16 lowercase hex digits, not all zero
	Flags    string // 2 hex digits
}

// String is the traceparent value, version 00.
func (p Parent) String() string { return "00-" + p.TraceID + "-" + p.ParentID + "-" + p.Flags }

// Parse reads a traceparent value: version-traceid-parentid-flags. A
// version other than 00 is read as 00, ignoring what may follow the flags
// (as the specification asks); version ff, a wrong length, upper-case or
// non-hex digits, and an all-zero trace or parent id are invalid.
func Parse(s string) (Parent, bool) {
	s = strings.TrimSpace(s)
	parts := strings.Split(s, "-")
	if len(parts) < 4 || !isHex(parts[0], 2) || parts[0] == "ff" || (parts[0] == "00" && len(parts) != 4) {
		return Parent{}, false
	}
	p := Parent{TraceID: parts[1], ParentID: parts[2], Flags: parts[3]}
	if !isHex(p.TraceID, 32) || !isHex(p.ParentID, 16) || !isHex(p.Flags, 2) ||
		isZero(p.TraceID) || isZero(p.ParentID) {
		return Parent{}, false
	}
	return p, true
}

// TraceID returns the trace id of a traceparent value, and whether the
// value is a valid traceparent.
func TraceID(traceparent string) (string, bool) {
	p, ok := Parse(traceparent)
	return p.TraceID, ok
}

// New starts a trace: a random trace id and parent id, sampled.
func New() Parent {
	return Parent{TraceID: randomHex(16), ParentID: randomHex(8), Flags: "01"}
}

// Child is the context of a call made within p's trace: the same trace id
// and flags, a new parent id (the caller's span).
func (p Parent) Child() Parent {
	p.ParentID = randomHex(8)
	return p
}

type parentKey struct{}

// WithParent returns ctx carrying p.
func WithParent(ctx context.Context, p Parent) context.Context {
	return context.WithValue(ctx, parentKey{}, p)
}

// FromContext returns the trace context ctx carries, if any.
func FromContext(ctx context.Context) (Parent, bool) {
	p, ok := ctx.Value(parentKey{}).(Parent)
	return p, ok
}

// Middleware puts a request's valid traceparent into its context, for
// Transport. A websocket's upgrade request is passed on as it is: the
// operations on the connection are separate requests, not part of the
// upgrade's trace.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := Parse(r.Header.Get(Header)); ok && r.Header.Get("Upgrade") == "" {
			r = r.WithContext(WithParent(r.Context(), p))
		}
		next.ServeHTTP(w, r)
	})
}

// Transport sends a traceparent with every request that has no valid one
// yet (an instrumented client may have set its own span's): a child of the
// trace in the request's context, or else a new trace.
func Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper{next: next}
}

type roundTripper struct{ next http.RoundTripper }

func (t roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	if _, ok := Parse(r.Header.Get(Header)); ok {
		return t.next.RoundTrip(r)
	}
	p, ok := FromContext(r.Context())
	if ok {
		p = p.Child()
	} else {
		p = New()
	}
	r = r.Clone(r.Context()) // a RoundTripper must not change the caller's request
	r.Header.Set(Header, p.String())
	return t.next.RoundTrip(r)
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func isZero(s string) bool { return strings.Trim(s, "0") == "" }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	s := hex.EncodeToString(b)
	if isZero(s) {
		return randomHex(n) // all zeros is invalid; 2^-64 at worst
	}
	return s
}
