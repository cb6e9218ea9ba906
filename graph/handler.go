package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/orderflow/orderflow/graph/generated"
	"github.com/orderflow/orderflow/graph/model"
)

// Cache sizes: parsed and validated queries, and automatic persisted
// queries (hash → query text).
const (
	queryCacheSize = 1000
	apqCacheSize   = 100
)

// NewHandler returns the GraphQL endpoint: queries and mutations over HTTP
// POST (and GET for queries), subscriptions over websocket with either the
// graphql-transport-ws or the legacy graphql-ws protocol. opts' zero fields
// get their defaults (see Options). log receives internal errors, panics
// and websocket failures; nil discards them.
func NewHandler(r *Resolver, opts Options, log *slog.Logger) http.Handler {
	opts.setDefaults()
	if opts.Auth == nil {
		panic("graph: Options.Auth is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &httpHandler{opts: opts, limits: newLimiters(opts.RateLimit, opts.RateBurst)}

	cfg := generated.Config{Resolvers: r}
	cfg.Complexity.Query.Orders = ordersComplexity
	cfg.Complexity.Query.OrderTimeline = timelineComplexity
	srv := handler.New(generated.NewExecutableSchema(cfg))
	srv.AddTransport(websocketTransport(opts, h.initConnection, log))
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})

	srv.SetQueryCache(lru.New[*ast.QueryDocument](queryCacheSize))
	srv.SetErrorPresenter(ErrorPresenter(log))
	srv.SetRecoverFunc(RecoverFunc(log))
	srv.SetParserTokenLimit(opts.MaxTokens)

	if opts.Introspection {
		srv.Use(extension.Introspection{})
	} else {
		srv.Use(noIntrospection{})
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](apqCacheSize)})
	srv.Use(httpSubscriptions{})
	srv.Use(depthLimit{max: opts.MaxDepth})
	srv.Use(extension.FixedComplexityLimit(opts.MaxComplexity))
	for _, e := range opts.Extensions {
		srv.Use(e)
	}

	h.srv = srv
	return h
}

// ordersComplexity is the cost of Query.orders for the complexity limit:
// its selection is paid once per order of the page, so a page of 100 costs
// 100 times a page of one (gqlgen would count it once). first is clamped to
// the page sizes pageSize accepts: an out-of-range value is refused by the
// resolver, and must not make the cost overflow or go negative here.
func ordersComplexity(childComplexity int, _ *string, _ *model.OrderStatus, first *int, _ *string) int {
	n := defaultPageSize
	if first != nil {
		n = min(max(*first, 1), maxPageSize)
	}
	return 1 + n*childComplexity
}

// timelineCost is how many entries Query.orderTimeline is priced at: an
// order's saga has about ten events, and a long one (many cancels and
// refunds) a few dozen.
const timelineCost = 20

// timelineComplexity is the cost of Query.orderTimeline: like a page of
// timelineCost orders, its selection is paid once per entry.
func timelineComplexity(childComplexity int, _ string) int {
	return 1 + timelineCost*childComplexity
}

// httpHandler does what has to happen before gqlgen sees a request: the
// request id, authentication and the rate limit, the websocket origin check
// and connection cap, the body limit and the timeout.
type httpHandler struct {
	srv    *handler.Server
	opts   Options
	limits *limiters
	conns  atomic.Int64 // open websockets
}

func (h *httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := requestID(r, h.opts.RequestID)
	w.Header().Set("X-Request-Id", id)
	ctx := context.WithValue(r.Context(), requestIDKey{}, id)

	if r.Header.Get("Upgrade") != "" { // gqlgen's websocket transport takes these
		if err := checkOrigin(r, h.opts.AllowedOrigins); err != nil {
			writeError(w, r, http.StatusForbidden, model.CodeForbidden, err.Error())
			return
		}
		if n := h.conns.Add(1); n > int64(h.opts.MaxConnections) {
			h.conns.Add(-1)
			w.Header().Set("Retry-After", "5")
			writeError(w, r, http.StatusServiceUnavailable, model.CodeUnavailable,
				fmt.Sprintf("this gateway already serves %d websocket connections, the most it takes; retry later or elsewhere", h.opts.MaxConnections))
			return
		}
		defer h.conns.Add(-1)
		// The connection authenticates in its connection_init
		// (initConnection). No timeout: a subscription lives as long as its
		// client wants, so the server's read and write deadlines are lifted.
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Time{})
		state := &connState{maxSubs: int32(h.opts.MaxSubscriptionsPerConnection)}
		ctx = context.WithValue(ctx, connStateKey{}, state)
		h.srv.ServeHTTP(w, r.WithContext(ctx))
		state.closeUninitialised()
		return
	}
	if r.Method == http.MethodOptions {
		h.srv.ServeHTTP(w, r.WithContext(ctx))
		return
	}

	p, merr := authenticate(h.opts.Auth, r.Header.Get("Authorization"))
	if merr != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="orderflow"`)
		writeError(w, r, http.StatusUnauthorized, merr.Code, merr.Message)
		return
	}
	if wait, ok := h.limits.allow(p.Customer); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
		merr := rateLimited(wait)
		writeError(w, r, http.StatusTooManyRequests, merr.Code, merr.Message)
		return
	}
	ctx = withPrincipal(ctx, p)

	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		if !isJSON(r.Header.Get("Content-Type")) {
			writeError(w, r, http.StatusUnsupportedMediaType, CodeBadRequest,
				"the Content-Type of a GraphQL POST must be application/json")
			return
		}
		body, err := readBody(w, r, h.opts.MaxBodyBytes)
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				writeError(w, r, http.StatusRequestEntityTooLarge, CodePayloadTooLarge,
					fmt.Sprintf("the request body is larger than the limit of %d bytes", tooLarge.Limit))
				return
			}
			writeError(w, r, http.StatusBadRequest, CodeBadRequest, "the request body could not be read")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	default:
		w.Header().Set("Allow", "OPTIONS, GET, POST")
		writeError(w, r, http.StatusMethodNotAllowed, CodeBadRequest,
			fmt.Sprintf("method %s is not allowed; send queries and mutations with POST", r.Method))
		return
	}

	ctx = context.WithValue(ctx, plainHTTPKey{}, true)
	ctx, cancel := context.WithTimeout(ctx, h.opts.Timeout)
	defer cancel()
	h.srv.ServeHTTP(w, r.WithContext(ctx))
}

// readBody reads the whole body, at most limit bytes. A declared
// Content-Length over the limit is refused before reading anything.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
}

func isJSON(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	return err == nil && mediaType == "application/json"
}

// writeError writes a GraphQL-shaped error response for a request that
// never reached gqlgen: errors and no data (nothing was executed), in the
// media type the client accepts, as gqlgen's own answers are (GraphQL over
// HTTP: application/graphql-response+json when the Accept header asks for
// it before application/json, else application/json).
func writeError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	b, err := json.Marshal(struct {
		Errors gqlerror.List `json:"errors"`
	}{gqlerror.List{{Message: message, Extensions: map[string]any{"code": code}}}})
	if err != nil { // cannot happen: strings only
		http.Error(w, message, status)
		return
	}
	w.Header().Set("Content-Type", responseMediaType(r))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// responseMediaType is the first of the two GraphQL response media types
// the Accept header names, application/json if it names neither.
func responseMediaType(r *http.Request) string {
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		mediaType, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && (mediaType == "application/json" || mediaType == graphQLResponseJSON) {
			return mediaType
		}
	}
	return "application/json"
}

// graphQLResponseJSON is the GraphQL-over-HTTP response media type.
const graphQLResponseJSON = "application/graphql-response+json"
