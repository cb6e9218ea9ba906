package readmodel_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/gateway/internal/eventtest"
	"github.com/orderflow/orderflow/gateway/readmodel"
	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/logging"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

// The gateway injects a Store as graph.Orders; that wiring checks the
// interface at compile time (importing the graph server here would tie these
// tests to its generated code).
var _ interface {
	Order(ctx context.Context, id string) (*model.Order, error)
	ListOrders(ctx context.Context, q model.ListQuery) (*model.OrderConnection, error)
} = (*readmodel.Store)(nil)

func testLogger() *slog.Logger { return logging.New(os.Stderr, "test", slog.LevelWarn) }

// runProjector runs the projector's consumer group until stop is called or
// the test ends.
func runProjector(t *testing.T, rdb redis.UniversalClient, redisPrefix string, k readmodel.Kafka) (stop func()) {
	t.Helper()
	cfg := k.ConsumerConfig()
	cfg.RetryInitial = 20 * time.Millisecond
	p := readmodel.NewProjector(rdb, redisPrefix)
	c, err := consumer.New(cfg, schema.NewCodec(schema.NewRegistry()), p.Handle, testLogger())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { require.NoError(t, c.Run(ctx)) })
	stop = func() { cancel(); wg.Wait() }
	t.Cleanup(stop)
	select {
	case <-c.Assigned():
	case <-time.After(30 * time.Second):
		t.Fatal("projector got no partitions within 30s")
	}
	return stop
}

// waitProjected waits until the projector's group has handled every message
// produced so far.
func waitProjected(t *testing.T, k readmodel.Kafka) {
	t.Helper()
	cfg := k.ConsumerConfig()
	testenv.Eventually(t, 30*time.Second, func() error {
		if !eventtest.CommittedToEnd(t, cfg.Group, cfg.Topics...) {
			return errors.New("the projector has not committed every partition to its end yet")
		}
		return nil
	})
}

// snapshot returns every key under prefix with its exact content: the bytes
// of a string, the fields of a hash, the members and scores of a sorted set.
func snapshot(t *testing.T, rdb *redis.Client, prefix string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	sort.Strings(keys)
	for _, k := range keys {
		typ, err := rdb.Type(ctx, k).Result()
		require.NoError(t, err)
		switch typ {
		case "string":
			out[k], err = rdb.Get(ctx, k).Result()
			require.NoError(t, err)
		case "hash":
			fields, err := rdb.HGetAll(ctx, k).Result()
			require.NoError(t, err)
			names := make([]string, 0, len(fields))
			for f := range fields {
				names = append(names, f)
			}
			sort.Strings(names)
			s := ""
			for _, f := range names {
				s += f + "=" + fields[f] + " "
			}
			out[k] = s
		case "zset":
			zs, err := rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
			require.NoError(t, err)
			s := ""
			for _, z := range zs {
				s += z.Member.(string) + "=" + formatScore(z.Score) + " "
			}
			out[k] = s
		default:
			t.Fatalf("unexpected key %s of type %s", k, typ)
		}
	}
	return out
}

func formatScore(f float64) string { return time.UnixMilli(int64(f)).UTC().Format(time.RFC3339Nano) }
