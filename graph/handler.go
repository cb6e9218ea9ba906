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

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/orderflow/orderflow/graph/generated"
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
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	srv := handler.New(generated.NewExecutableSchema(generated.Config{Resolvers: r}))
	srv.AddTransport(websocketTransport(opts, log))
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

	return &httpHandler{srv: srv, opts: opts}
}

// httpHandler does what has to happen before gqlgen sees a request: the
// request id, the websocket origin check, the body limit and the timeout.
type httpHandler struct {
	srv  *handler.Server
	opts Options
}

func (h *httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := requestID(r, h.opts.RequestID)
	w.Header().Set("X-Request-Id", id)
	ctx := context.WithValue(r.Context(), requestIDKey{}, id)

	if r.Header.Get("Upgrade") != "" { // gqlgen's websocket transport takes these
		if err := checkOrigin(r, h.opts.AllowedOrigins); err != nil {
			writeError(w, http.StatusForbidden, CodeForbidden, err.Error())
			return
		}
		// No timeout: a subscription lives as long as its client wants.
		h.srv.ServeHTTP(w, r.WithContext(ctx))
		return
	}

	switch r.Method {
	case http.MethodGet, http.MethodOptions, http.MethodHead:
	case http.MethodPost:
		if !isJSON(r.Header.Get("Content-Type")) {
			writeError(w, http.StatusUnsupportedMediaType, CodeBadRequest,
				"the Content-Type of a GraphQL POST must be application/json")
			return
		}
		body, err := readBody(w, r, h.opts.MaxBodyBytes)
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				writeError(w, http.StatusRequestEntityTooLarge, CodePayloadTooLarge,
					fmt.Sprintf("the request body is larger than the limit of %d bytes", tooLarge.Limit))
				return
			}
			writeError(w, http.StatusBadRequest, CodeBadRequest, "the request body could not be read")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	default:
		w.Header().Set("Allow", "OPTIONS, GET, POST")
		writeError(w, http.StatusMethodNotAllowed, CodeBadRequest,
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
// never reached gqlgen.
func writeError(w http.ResponseWriter, status int, code, message string) {
	b, err := json.Marshal(graphql.Response{Errors: gqlerror.List{{
		Message:    message,
		Extensions: map[string]any{"code": code},
	}}})
	if err != nil { // cannot happen: strings only
		http.Error(w, message, status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
