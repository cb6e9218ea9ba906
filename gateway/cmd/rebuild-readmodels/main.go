// Command rebuild-readmodels wipes the gateway's Redis read models (only the
// keys under its prefix) and rebuilds them by replaying the order and payment
// topics from the beginning. Stop the gateways' projectors while it runs; they
// resume from their own offsets afterwards.
//
// It relies on the event topics keeping every event (retention.ms=-1).
//
// Configuration (environment):
//
//	GATEWAY_REDIS_ADDR      Redis address                 (127.0.0.1:6379)
//	GATEWAY_KAFKA_BROKERS   Kafka bootstrap servers       (127.0.0.1:9092)
//	GATEWAY_TOPIC_PREFIX    the deployment's topic prefix ("")
//	GATEWAY_REDIS_PREFIX    the read models' key prefix   (orderflow:)
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/orderflow/orderflow/gateway/readmodel"
	"github.com/orderflow/orderflow/platform/envconfig"
	"github.com/orderflow/orderflow/platform/logging"
)

const envPrefix = "GATEWAY_"

type config struct {
	RedisAddr    string `env:"REDIS_ADDR" default:"127.0.0.1:6379"`
	KafkaBrokers string `env:"KAFKA_BROKERS" default:"127.0.0.1:9092"`
	TopicPrefix  string `env:"TOPIC_PREFIX" default:""`
	RedisPrefix  string `env:"REDIS_PREFIX" default:"orderflow:"`
}

func main() {
	log := logging.New(os.Stderr, "rebuild-readmodels", slog.LevelInfo)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log); err != nil {
		log.Error("rebuild failed", "err", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger) error {
	var cfg config
	if err := envconfig.Load(envPrefix, &cfg); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log.LogAttrs(ctx, slog.LevelInfo, "config", envconfig.Attrs(envPrefix, &cfg)...)

	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr})
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis at %s: %w", cfg.RedisAddr, err)
	}
	rep, err := readmodel.Rebuild(ctx, rdb, cfg.RedisPrefix,
		readmodel.Kafka{Brokers: cfg.KafkaBrokers, TopicPrefix: cfg.TopicPrefix}, log)
	if err != nil {
		return err
	}
	fmt.Printf("deleted %d keys under %q\n", rep.DeletedKeys, cfg.RedisPrefix)
	fmt.Printf("replayed %d events from %d partitions (%d changed a read model; undecodable messages dead-lettered)\n",
		rep.Events, rep.Partitions, rep.Changed)
	fmt.Printf("%d order documents in the read model, rebuilt in %s\n", rep.Orders, rep.Took.Round(time.Millisecond))
	return nil
}
