package e2e_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/platform/testenv"
)

// flushRedisPrefix deletes every key of one deployment's read models.
func flushRedisPrefix(t *testing.T, prefix string) {
	t.Helper()
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr()})
	defer rdb.Close()
	iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
	n := 0
	for iter.Next(ctx) {
		require.NoError(t, rdb.Del(ctx, iter.Val()).Err())
		n++
	}
	require.NoError(t, iter.Err())
	require.Positive(t, n, "there were read models to flush")
}
