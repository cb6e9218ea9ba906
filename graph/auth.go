package graph

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/google/uuid"

	"github.com/orderflow/orderflow/graph/model"
)

// Principal is who a request speaks for: a customer, perhaps an admin.
type Principal struct {
	// Customer is the customer id (a UUID), the token's subject. The
	// handler uses it in canonical form and refuses a principal whose
	// Customer is not a UUID.
	Customer string
	// Admin may read any customer's orders.
	Admin bool
	// Expires is when the token stops being valid; a websocket opened with
	// it is closed then.
	Expires time.Time
}

// Authenticator verifies a bearer token (the part after "Bearer "). The
// message of its error is shown to the client, so it must say what is wrong
// with the token and must not contain it.
type Authenticator interface {
	Authenticate(token string) (Principal, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(token string) (Principal, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(token string) (Principal, error) { return f(token) }

// Close codes of a websocket refused or ended by authentication, in the
// 4000–4999 range the graphql-transport-ws protocol leaves to applications
// (4403 is the one it names for a refused connection_init).
const (
	closeBadRequest  = 4400
	closeForbidden   = 4403
	closeRateLimited = 4429
)

type principalKey struct{}

func withPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// caller returns the request's principal. Every operation has one: the
// handler refuses requests without a valid token before gqlgen sees them.
func caller(ctx context.Context) (Principal, error) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	if !ok {
		return Principal{}, &model.Error{Code: model.CodeUnauthenticated, Message: "this request is not authenticated"}
	}
	return p, nil
}

// authenticate checks an Authorization value ("Bearer <token>").
func authenticate(a Authenticator, header string) (Principal, *model.Error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return Principal{}, unauthenticated("this API needs a token: send the header Authorization: Bearer <token> " +
			"(on a websocket, in the connection_init payload); `bin/token -customer <uuid>` prints one for `make run`")
	}
	scheme, token, _ := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return Principal{}, unauthenticated(`the Authorization header must be "Bearer <token>"`)
	}
	p, err := a.Authenticate(token)
	if err != nil {
		return Principal{}, unauthenticated("the token was refused: " + err.Error())
	}
	// Ownership compares ids as strings, in the canonical form they are
	// stored in; a principal without a customer would own nothing and
	// list the orders of customer "".
	id, err := uuid.Parse(p.Customer)
	if err != nil {
		return Principal{}, unauthenticated("the token was refused: its subject is not a customer id (a UUID)")
	}
	p.Customer = id.String()
	return p, nil
}

func unauthenticated(message string) *model.Error {
	return &model.Error{Code: model.CodeUnauthenticated, Message: message}
}

// connState is what the handler knows about one websocket connection: the
// connection itself (to close it when its token expires) and how many
// subscriptions it runs.
type connState struct {
	maxSubs int32
	subs    atomic.Int32
	// initialised is set once the connection_init reached initConnection.
	initialised atomic.Bool

	mu     sync.Mutex
	conn   transport.WebsocketConn
	closed bool
}

type connStateKey struct{}

func connStateFrom(ctx context.Context) *connState {
	s, _ := ctx.Value(connStateKey{}).(*connState)
	return s
}

// close ends the connection with a close code and reason (at most the 123
// bytes a close frame carries).
func (s *connState) close(code int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil || s.closed {
		return
	}
	s.closed = true
	_ = s.conn.WriteClose(code, clip(reason, 123))
	_ = s.conn.Close()
}

// closeUninitialised closes the connection if gqlgen gave up on it before
// its connection_init reached initConnection: gqlgen returns and leaves the
// socket open when the payload is not a JSON object. (Every other way it
// gives up, it has closed the connection already; closing again does
// nothing.)
func (s *connState) closeUninitialised() {
	if !s.initialised.Load() {
		s.close(closeBadRequest, CodeBadRequest+`: the connection_init payload must be a JSON object, such as {"Authorization": "Bearer <token>"}`)
	}
}

// clip shortens s to at most n bytes without splitting a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// trackingWebsocket is coder/websocket's implementation that also hands the
// accepted connection to the request's connState.
type trackingWebsocket struct {
	transport.CoderWebsocketImplementation
}

func (t trackingWebsocket) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	conn, err := t.CoderWebsocketImplementation.Accept(w, r, opts)
	if err == nil {
		if s := connStateFrom(r.Context()); s != nil {
			s.mu.Lock()
			s.conn = conn
			s.mu.Unlock()
		}
	}
	return conn, err
}

// initConnection authenticates a websocket's connection_init: its payload
// carries the Authorization value as an HTTP request does its header. A
// refused one is closed with 4403 and the reason. An accepted connection is
// closed with 4403 when its token expires.
func (h *httpHandler) initConnection(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	s := connStateFrom(ctx)
	if s != nil {
		s.initialised.Store(true)
	}
	p, merr := authenticate(h.opts.Auth, payload.Authorization())
	if merr != nil {
		return refuseConnection(ctx, closeForbidden, merr)
	}
	if wait, ok := h.limits.allow(p.Customer); !ok {
		return refuseConnection(ctx, closeRateLimited, rateLimited(wait))
	}
	if s != nil && !p.Expires.IsZero() {
		expiry := time.AfterFunc(time.Until(p.Expires), func() {
			s.close(closeForbidden, model.CodeUnauthenticated+": the token expired; reconnect with a new one")
		})
		context.AfterFunc(ctx, func() { expiry.Stop() })
	}
	return withPrincipal(ctx, p), nil, nil
}

func refuseConnection(ctx context.Context, code int, err *model.Error) (context.Context, *transport.InitPayload, error) {
	ctx = transport.WithWebsocketCloseCode(ctx, code)
	ctx = transport.AppendCloseReason(ctx, clip(err.Code+": "+err.Message, 123))
	return ctx, nil, err
}

// acquireSubscription counts a subscription against its connection's cap
// and returns the function that releases it. A subscription outside a
// websocket has no cap (the handler refuses those anyway).
func acquireSubscription(ctx context.Context) (release func(), err error) {
	s := connStateFrom(ctx)
	if s == nil {
		return func() {}, nil
	}
	if n := s.subs.Add(1); n > s.maxSubs {
		s.subs.Add(-1)
		plural := "s"
		if s.maxSubs == 1 {
			plural = ""
		}
		return nil, &model.Error{Code: model.CodeRateLimited, Message: fmt.Sprintf(
			"this connection already runs %d subscription%s, the most allowed; complete one or open another connection", s.maxSubs, plural)}
	}
	var once sync.Once
	return func() { once.Do(func() { s.subs.Add(-1) }) }, nil
}
