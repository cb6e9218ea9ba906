// Package testenv gives integration tests the real servers that `make infra`
// starts. Addresses come from the environment (as `make test` sets them) with
// the local defaults as fallback. A server that does not answer fails the test
// with a message saying how to start it: integration tests never skip.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Default addresses, the same as scripts/infra.sh starts.
const (
	defaultPostgresDSN = "postgres://orderflow:orderflow@127.0.0.1:5432/postgres?sslmode=disable"
	defaultKafka       = "127.0.0.1:9092"
	defaultRedis       = "127.0.0.1:6379"
	defaultNATS        = "nats://127.0.0.1:4222"
	defaultJaegerQuery = "http://127.0.0.1:16686"
	defaultOTLP        = "http://127.0.0.1:4318"
)

// ServiceToken is the service token of the services tests start in-process:
// their configurations set it, and the clients the tests build send it
// (auth.ServiceTransport).
const ServiceToken = "test-service-token-0123456789"

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// PostgresAdminDSN is the DSN of a role that may create databases.
func PostgresAdminDSN() string { return env("PG_ADMIN_DSN", defaultPostgresDSN) }

// KafkaBrokers is the bootstrap list of the local Kafka.
func KafkaBrokers() string { return env("KAFKA_BROKERS", defaultKafka) }

// RedisAddr is the address of the local Redis.
func RedisAddr() string { return env("REDIS_ADDR", defaultRedis) }

// NATSURL is the URL of the local NATS server.
func NATSURL() string { return env("NATS_URL", defaultNATS) }

// JaegerQueryURL is the base URL of the local Jaeger's query API.
func JaegerQueryURL() string { return env("JAEGER_QUERY_URL", defaultJaegerQuery) }

// OTLPEndpoint is where processes under test export their spans (the
// local Jaeger's OTLP/HTTP receiver).
func OTLPEndpoint() string { return env("OTEL_EXPORTER_OTLP_ENDPOINT", defaultOTLP) }

// UniqueName returns prefix followed by a random suffix: a fresh name for a
// database, topic or consumer group that no other test run shares.
func UniqueName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

// PostgresDatabase creates an empty database for this test, drops it when the
// test ends, and returns its DSN.
func PostgresDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	admin := PostgresAdminDSN()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("postgres at %s does not answer (start it with `make infra`): %v", redact(admin), err)
	}
	defer conn.Close(ctx)

	name := UniqueName("test")
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})

	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse PG_ADMIN_DSN: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// PostgresPool is PostgresDatabase with a connection pool on it, closed when
// the test ends.
func PostgresPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), PostgresDatabase(t))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparseable DSN)"
	}
	return u.Redacted()
}

// Context returns a context that ends with the test or after d, whichever is first.
func Context(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Eventually polls cond every 50 ms until it returns nil or d passes, then
// fails the test with cond's last error.
func Eventually(t testing.TB, d time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %v", d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
