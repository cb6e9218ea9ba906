package harness

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/orderflow/orderflow/platform/testenv"
)

// cleanupDerived deletes what the deployment derived outside Postgres: its
// read-model keys in Redis and its JetStream stream. (Databases are dropped
// by testenv; topics keep their unique names and cost nothing.)
func (s *System) cleanupDerived() {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr()})
	defer rdb.Close()
	iter := rdb.Scan(ctx, 0, s.RedisPrefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		rdb.Unlink(ctx, iter.Val())
	}
	if nc, err := nats.Connect(testenv.NATSURL()); err == nil {
		defer nc.Close()
		if js, err := jetstream.New(nc); err == nil {
			_ = js.DeleteStream(ctx, s.NATSStream)
		}
	}
}
