package eventtest

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/orderflow/orderflow/platform/testenv"
)

// Redis returns a client of the local Redis, closed when the test ends.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr()})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis at %s does not answer (start it with `make infra`): %v", testenv.RedisAddr(), err)
	}
	return rdb
}

// RedisPrefix returns a fresh key prefix whose keys are deleted when the
// test ends.
func RedisPrefix(t testing.TB, rdb *redis.Client) string {
	t.Helper()
	prefix := testenv.UniqueName("gwtest") + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Unlink(ctx, iter.Val())
		}
	})
	return prefix
}

// NATS connects to the local NATS server, reconnecting forever (tests restart
// it), and returns the connection and its JetStream context. The connection
// is closed when the test ends.
func NATS(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(testenv.NATSURL(), nats.MaxReconnects(-1), nats.ReconnectWait(200*time.Millisecond))
	if err != nil {
		t.Fatalf("nats at %s does not answer (start it with `make infra`): %v", testenv.NATSURL(), err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return nc, js
}

// StreamNames returns a fresh stream name and subject prefix; the stream is
// deleted when the test ends.
func StreamNames(t testing.TB, js jetstream.JetStream) (stream, subjectPrefix string) {
	t.Helper()
	name := testenv.UniqueName("GWTEST")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = js.DeleteStream(ctx, name)
	})
	return name, name + "."
}

// lockNATS takes the machine-wide lock that separates tests which restart
// NATS from tests which need it up; go test runs packages in parallel.
func lockNATS(t testing.TB, how int) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "orderflow-gateway-nats-tests.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("nats test lock: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		t.Fatalf("nats test lock: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	})
}

// UsesNATS marks a test that needs NATS up throughout: it does not overlap
// with a test that restarts NATS (RestartsNATS) in another package.
func UsesNATS(t testing.TB) { lockNATS(t, syscall.LOCK_SH) }

// RestartsNATS marks a test that stops and starts NATS: it runs alone among
// the tests that use NATS.
func RestartsNATS(t testing.TB) { lockNATS(t, syscall.LOCK_EX) }
