// Package httpserver runs an http.Server for the lifetime of a context and
// shuts it down gracefully, so that every process stops the same way on
// SIGTERM: stop accepting, finish requests in hand, then return.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Serve listens on addr and serves h until ctx is done, then shuts down within
// grace. It returns the listener's address through ready once it listens
// (useful with ":0" in tests); ready may be nil.
func Serve(ctx context.Context, log *slog.Logger, addr string, h http.Handler, grace time.Duration, ready chan<- net.Addr) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler: h,
		// A slow or stalled client cannot hold a connection: headers within
		// 5 s, the whole request within 30 s, the answer within 60 s (longer
		// than every request timeout and pprof's default profile), and an
		// idle keep-alive connection is closed after 2 minutes. A handler
		// that streams (a websocket) lifts its own deadlines with
		// http.ResponseController.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	log.Info("http server listening", "addr", ln.Addr().String())
	if ready != nil {
		ready <- ln.Addr()
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
