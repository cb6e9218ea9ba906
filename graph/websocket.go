package graph

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
)

// websocketTransport is gqlgen's websocket transport, which speaks both
// graphql-transport-ws and the legacy graphql-ws (chosen by the client's
// Sec-WebSocket-Protocol; graphql-ws if it names neither).
// Every connection authenticates in its connection_init (initFunc).
func websocketTransport(opts Options, initFunc transport.WebsocketInitFunc, log *slog.Logger) transport.Websocket {
	return transport.Websocket{
		// gqlgen ≥ 0.17.9x builds on coder/websocket, not gorilla (so there
		// is no Upgrader.CheckOrigin): the origin patterns below play that
		// role, and checkOrigin applies the same rule first so a refused
		// browser gets a JSON 403 instead of a bare one.
		Implementation: trackingWebsocket{transport.CoderWebsocketImplementation{
			AcceptOptions: websocket.AcceptOptions{OriginPatterns: originPatterns(opts.AllowedOrigins)},
		}},
		InitFunc:    initFunc,
		InitTimeout: opts.InitTimeout,
		// The body limit applies to each websocket message too.
		PayloadReadLimit: &opts.MaxBodyBytes,
		// graphql-ws: a "ka" message every interval.
		KeepAlivePingInterval: opts.KeepAlive,
		// graphql-transport-ws: a "ping" every interval; a client must answer
		// "pong" within two intervals or it is taken for dead and dropped.
		PingPongInterval: opts.KeepAlive,
		ErrorFunc: func(ctx context.Context, err error) {
			log.DebugContext(ctx, "graphql: websocket", "request_id", requestIDFrom(ctx), "err", err)
		},
	}
}

// originPatterns are the allowed origins besides the request's own host:
// localhost on any port (developers run GraphiQL and front ends on their
// own machine against any gateway) and the configured ones.
func originPatterns(extra []string) []string {
	local := []string{"localhost", "localhost:*", "127.0.0.1", "127.0.0.1:*", "[::1]", "[::1]:*"}
	return append(local, extra...)
}

// checkOrigin lets a websocket be opened by a non-browser (no Origin), a
// page of the same host, a page on localhost, or an allowed origin. It is
// the check coder/websocket makes with the same patterns (browsers do not
// apply CORS to websockets, so without it any site could subscribe with
// its visitor's credentials).
func checkOrigin(r *http.Request, allowed []string) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return fmt.Errorf("websocket connections need a valid Origin, got %q", origin)
	}
	if strings.EqualFold(u.Host, r.Host) {
		return nil
	}
	for _, pattern := range originPatterns(allowed) {
		target := u.Host
		if strings.Contains(pattern, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, err := path.Match(strings.ToLower(pattern), strings.ToLower(target)); err == nil && ok {
			return nil
		}
	}
	host := u.Host
	if h, _, err := net.SplitHostPort(u.Host); err == nil {
		host = h
	}
	return fmt.Errorf("websocket connections from origin %q are not allowed (host %s)", origin, host)
}
