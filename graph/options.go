package graph

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// Options are the limits and switches of the GraphQL handler. Start from
// DefaultOptions: a zero field gets its default, except Introspection,
// which a zero Options leaves off.
type Options struct {
	// MaxDepth is the deepest nesting of fields an operation may select
	// (introspection fields do not count). Default 12.
	MaxDepth int
	// MaxComplexity is gqlgen's complexity limit: every field costs 1 plus
	// its children, except orders, whose children are paid once per order
	// of the page (first, default 20). Default 1000.
	MaxComplexity int
	// MaxBodyBytes is the largest HTTP request body, and the largest
	// websocket message, accepted. Default 1 MiB.
	MaxBodyBytes int64
	// MaxTokens bounds how many tokens the parser reads from one query, so
	// a large body of garbage cannot make parsing itself expensive.
	// Default 15000 (GraphiQL's introspection query has about 300).
	MaxTokens int
	// Timeout bounds each query and mutation (one HTTP request); it does not
	// apply to subscriptions, which live as long as the client wants.
	// Default 10s.
	Timeout time.Duration
	// Introspection enables __schema and __type (GraphiQL needs it).
	// DefaultOptions turns it on.
	Introspection bool
	// KeepAlive is how often the server sends a keep-alive on a websocket:
	// "ka" on graphql-ws, "ping" on graphql-transport-ws (a client that does
	// not answer a ping with a pong within two intervals is disconnected).
	// Default 10s.
	KeepAlive time.Duration
	// InitTimeout is how long a websocket client has to send
	// connection_init after connecting. Default 10s.
	InitTimeout time.Duration
	// AllowedOrigins are extra browser origins allowed to open a websocket,
	// as host patterns ("app.example.com", "*.example.com") or, with a
	// scheme, origin patterns ("https://app.example.com"). The request's own
	// host and localhost (any port) are always allowed, and so are clients
	// that send no Origin (non-browsers).
	AllowedOrigins []string
	// RequestID returns the id the gateway gave the request, if any (for
	// example from its request-id middleware). If it is nil or returns "",
	// the handler uses a well-formed X-Request-Id request header or makes a
	// new id. The id is in the X-Request-Id response header, in the message
	// of every INTERNAL error and in the log line about it.
	RequestID func(ctx context.Context) string

	// Auth verifies the callers' bearer tokens. It is required: every
	// operation runs for a customer (NewHandler panics without it).
	Auth Authenticator
	// MaxConnections bounds the websocket connections open at once; more
	// are refused with 503. Default 10000.
	MaxConnections int
	// MaxSubscriptionsPerConnection bounds the subscriptions one websocket
	// runs at once. Default 100.
	MaxSubscriptionsPerConnection int
	// RateLimit is how many requests per second each customer may send on
	// average (an HTTP request or a websocket connection_init is one),
	// with bursts of RateBurst; more are refused with RATE_LIMITED (HTTP
	// 429 with Retry-After). Defaults 50 and 100.
	RateLimit float64
	RateBurst int

	// Extensions are gqlgen handler extensions added after the handler's
	// own: the gateway's metrics of operations, for one.
	Extensions []graphql.HandlerExtension
}

// DefaultOptions returns the defaults: depth 12, complexity 1000, 1 MiB
// bodies, 15000 tokens, 10s timeout, introspection on, 10s keep-alive, 10s
// websocket init timeout, 10000 websockets of 100 subscriptions each, 50
// requests per second per customer in bursts of 100. Auth has no default.
func DefaultOptions() Options {
	o := Options{Introspection: true}
	o.setDefaults()
	return o
}

func (o *Options) setDefaults() {
	if o.MaxDepth <= 0 {
		o.MaxDepth = 12
	}
	if o.MaxComplexity <= 0 {
		o.MaxComplexity = 1000
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.MaxTokens <= 0 {
		o.MaxTokens = 15000
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = 10 * time.Second
	}
	if o.InitTimeout <= 0 {
		o.InitTimeout = 10 * time.Second
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = 10000
	}
	if o.MaxSubscriptionsPerConnection <= 0 {
		o.MaxSubscriptionsPerConnection = 100
	}
	if o.RateLimit <= 0 {
		o.RateLimit = 50
	}
	if o.RateBurst <= 0 {
		o.RateBurst = 100
	}
}
