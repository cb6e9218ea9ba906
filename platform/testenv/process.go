package testenv

import (
	"context"
	"net"
	"testing"
	"time"
)

// Serve runs a service's Run function in the background for this test, as a
// real program would (its own HTTP listener on a free port), and returns its
// base URL. The service is stopped, and its Run awaited, when the test ends;
// stop does the same earlier (e.g. to restart it).
func Serve(t testing.TB, run func(ctx context.Context, ready chan<- net.Addr) error) (baseURL string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, ready) }()

	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("service stopped before it listened: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("service did not listen within 60s")
	}

	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("service stopped with an error: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("service did not stop within 30s")
		}
	}
	t.Cleanup(stop)
	return "http://" + addr.String(), stop
}
