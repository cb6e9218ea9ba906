// Package service assembles what every event-sourced orderflow service runs:
// a Postgres pool with its migrations applied, the event store, the outbox
// relay, an optional Kafka consumer with bounded retries and parking, and an
// HTTP server with /healthz, /readyz, the Prometheus metrics at /metrics and
// the triage API of parked and dead-lettered messages at /v1/deadletters. A service's main wires its own domain into a Service and calls
// Run; the plumbing is the same everywhere and lives here once.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/orderflow/orderflow/platform/auth"
	"github.com/orderflow/orderflow/platform/broker"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/health"
	"github.com/orderflow/orderflow/platform/httpserver"
	"github.com/orderflow/orderflow/platform/inbox"
	"github.com/orderflow/orderflow/platform/metrics"
	"github.com/orderflow/orderflow/platform/outbox"
	"github.com/orderflow/orderflow/platform/parking"
	"github.com/orderflow/orderflow/platform/pgmigrate"
	"github.com/orderflow/orderflow/platform/tracing"
	"github.com/orderflow/orderflow/schema"
)

// Config is the part of a service's configuration the plumbing needs. A
// service embeds it in its own Config struct, so the environment variables
// are PREFIX_HTTP_ADDR, PREFIX_POSTGRES_DSN and so on.
type Config struct {
	// HTTPAddr is where the service's HTTP API listens; every service's
	// default is a loopback address. Every route but /healthz, /readyz and
	// /metrics needs the service token as well.
	HTTPAddr     string `env:"HTTP_ADDR"`
	PostgresDSN  string `env:"POSTGRES_DSN" secret:"true"`
	KafkaBrokers string `env:"KAFKA_BROKERS" default:"127.0.0.1:9092"`
	PoolSize     int    `env:"POSTGRES_POOL_SIZE" default:"20"`
	// TopicPrefix is put in front of every topic name, so that several
	// deployments or test runs can share one Kafka.
	TopicPrefix string `env:"TOPIC_PREFIX"`
	// TopicPartitions is used when the service creates a missing topic.
	TopicPartitions int `env:"TOPIC_PARTITIONS" default:"6"`
	// ConsumerGroup defaults to the topic prefix followed by the service's
	// name, so deployments sharing a Kafka never share a group.
	ConsumerGroup string        `env:"CONSUMER_GROUP"`
	ShutdownWait  time.Duration `env:"SHUTDOWN_TIMEOUT" default:"10s"`
	// Profiling mounts Go's profiles at /debug/pprof/ (off by default).
	Profiling bool `env:"PPROF" default:"false"`
	// ServiceToken is the secret the deployment's services share: every
	// request but /healthz, /readyz and /metrics must carry it as a bearer token
	// (auth.RequireServiceToken), and the service sends it on its own calls
	// to the others. `make run` generates one in .data/auth/service-token.
	ServiceToken string `env:"SERVICE_TOKEN" secret:"true"`
	// ParkAfter and ParkAfterAttempts are a consumed message's retry
	// budget: a message still failing transiently after that long, or that
	// many attempts, is parked (platform/parking) and its partition moves
	// on, its order's later messages parked behind it.
	ParkAfter         time.Duration `env:"PARK_AFTER" default:"1m"`
	ParkAfterAttempts int           `env:"PARK_AFTER_ATTEMPTS" default:"10"`
}

// Validate reports a missing setting.
func (c Config) Validate() error {
	var errs []error
	if c.HTTPAddr == "" {
		errs = append(errs, errors.New("HTTP_ADDR is required"))
	}
	if c.PostgresDSN == "" {
		errs = append(errs, errors.New("POSTGRES_DSN is required"))
	}
	if c.KafkaBrokers == "" {
		errs = append(errs, errors.New("KAFKA_BROKERS is required"))
	}
	if c.ParkAfter <= 0 {
		errs = append(errs, errors.New("PARK_AFTER must be a positive duration, e.g. 1m"))
	}
	if c.ParkAfterAttempts < 1 {
		errs = append(errs, errors.New("PARK_AFTER_ATTEMPTS must be at least 1"))
	}
	if c.PoolSize < 2 {
		errs = append(errs, errors.New("POSTGRES_POOL_SIZE must be at least 2"))
	}
	if err := auth.CheckServiceToken(c.ServiceToken); err != nil {
		what := "is too short"
		if c.ServiceToken == "" {
			what = "is required"
		}
		errs = append(errs, fmt.Errorf("SERVICE_TOKEN %s: %w", what, err))
	}
	return errors.Join(errs...)
}

// Service is an event-sourced service's running plumbing.
type Service struct {
	Name   string
	Log    *slog.Logger
	Pool   *pgxpool.Pool
	Store  *eventstore.Store
	Codec  *schema.Codec
	Health *health.Checker
	// Topics are the topic names of this deployment.
	Topics schema.Topics
	// Mux serves /healthz, /readyz and /metrics; a service adds its own
	// routes. Run serves it behind the service token, bar those three.
	Mux *http.ServeMux
	// Metrics is the process's registry, served at GET /metrics: it holds
	// the HTTP, outbox and consumer series, and a service adds its own.
	Metrics *metrics.Registry
	// Parking keeps the messages the service's consumers set aside; its
	// triage API is served at /v1/deadletters.
	Parking *parking.Store

	cfg             Config
	relay           *outbox.Relay
	consumers       []*consumer.Consumer
	consumerMetrics *consumer.Metrics
	httpMetrics     *metrics.HTTP
}

// Open connects to Postgres, applies the event store's and inbox's
// migrations followed by the service's own, and returns the Service.
func Open(ctx context.Context, name string, cfg Config, log *slog.Logger, migrations ...pgmigrate.Set) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	poolCfg, err := pgxpool.ParseConfig(cfg.PostgresDSN)
	if err != nil {
		return nil, fmt.Errorf("parse postgres dsn: %w", err)
	}
	poolCfg.MaxConns = int32(cfg.PoolSize)
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	sets := append([]pgmigrate.Set{eventstore.Migrations(), inbox.Migrations(), parking.Migrations()}, migrations...)
	if err := pgmigrate.Run(ctx, pool, sets...); err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}

	codec := schema.NewCodec(schema.NewRegistry())
	topics := schema.TopicsWithPrefix(cfg.TopicPrefix)
	reg := metrics.New()
	relay := outbox.New(outbox.Config{Brokers: cfg.KafkaBrokers, Metrics: outbox.NewMetrics(reg)}, pool, log)
	s := &Service{
		Name:    name,
		Log:     log,
		Pool:    pool,
		Store:   eventstore.New(pool, codec, eventstore.WithTopics(topics.For), eventstore.WithLocalRelay(relay)),
		Topics:  topics,
		Codec:   codec,
		Health:  health.New(2 * time.Second),
		Mux:     http.NewServeMux(),
		Metrics: reg,
		Parking: parking.NewStore(pool),
		cfg:     cfg,
		relay:   relay,

		consumerMetrics: consumer.NewMetrics(reg),
		httpMetrics:     metrics.NewHTTP(reg),
	}
	if err := s.ensureTopics(ctx); err != nil {
		// Not fatal: the relay and consumers wait for Kafka and its topics.
		log.Warn("could not make sure the topics exist", "err", err)
	}
	s.Health.Add("postgres", pool.Ping)
	s.Health.Add("kafka", func(ctx context.Context) error { return broker.Ping(ctx, cfg.KafkaBrokers) })
	s.Health.Register(s.Mux)
	s.Mux.Handle("GET /metrics", reg.Handler())
	parking.Routes(s.Mux, s.Parking, s.wakeReplays)
	if cfg.Profiling {
		httpserver.MountProfiling(s.Mux)
	}
	return s, nil
}

// Consume adds a consumer group member that runs with the service. The group
// is named after the service unless configured; handlers get each message
// once, inside an inbox transaction, when they are wrapped with inbox.Handler.
func (s *Service) Consume(topics []string, handler consumer.Handler, opts ...ConsumeOption) error {
	group := s.cfg.ConsumerGroup
	if group == "" {
		group = s.cfg.TopicPrefix + s.Name
	}
	cfg := consumer.Config{
		Brokers:         s.cfg.KafkaBrokers,
		Group:           group,
		Topics:          topics,
		DeadLetterTopic: s.Topics.DeadLetter,
		Metrics:         s.consumerMetrics,

		Parking:           s.Parking,
		ParkAfter:         s.cfg.ParkAfter,
		ParkAfterAttempts: s.cfg.ParkAfterAttempts,
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	c, err := consumer.New(cfg, s.Codec, handler, s.Log)
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	s.consumers = append(s.consumers, c)
	return nil
}

// wakeReplays makes the service's consumers look for due replays now.
func (s *Service) wakeReplays() {
	for _, c := range s.consumers {
		c.WakeReplays()
	}
}

// Task is a background loop that runs until ctx is done.
type Task func(ctx context.Context) error

// ConsumeOption adjusts the consumer Consume starts.
type ConsumeOption func(*consumer.Config)

// OnlyTypes gives the handler only events of types: the others are passed
// over by their type header, without being decoded (consumer.Config.Types).
func OnlyTypes(types ...string) ConsumeOption {
	return func(c *consumer.Config) { c.Types = types }
}

// RetryFrom starts the backoff of a transiently failing message at d
// instead of the consumer's default, for failures that usually clear in
// milliseconds (consumer.Config.RetryInitial).
func RetryFrom(d time.Duration) ConsumeOption {
	return func(c *consumer.Config) { c.RetryInitial = d }
}

// Run serves HTTP, relays the outbox, runs the consumers and tasks until ctx
// is done or one of them fails, then stops them all and closes the pool.
// ready, if not nil, receives the HTTP listener's address.
func (s *Service) Run(ctx context.Context, ready chan<- net.Addr, tasks ...Task) error {
	defer s.Pool.Close()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		// /metrics is open like the health checks, so that Prometheus
		// scrapes it without the service token: it holds counts and
		// timings, no secret and no order's data.
		handler := auth.RequireServiceToken(s.cfg.ServiceToken, s.Mux, "/healthz", "/readyz", "/metrics")
		return httpserver.Serve(ctx, s.Log, s.cfg.HTTPAddr, s.httpMetrics.Wrap(tracing.Handler(handler)), s.cfg.ShutdownWait, ready)
	})
	g.Go(func() error { return s.relay.Run(ctx) })
	g.Go(func() error { return s.Store.RunNotifier(ctx) })
	for _, c := range s.consumers {
		g.Go(func() error { return c.Run(ctx) })
	}
	for _, task := range tasks {
		g.Go(func() error { return task(ctx) })
	}
	s.Log.Info("service started")
	err := g.Wait()
	s.Log.Info("service stopped", "err", err)
	return err
}

// ensureTopics creates this deployment's topics if they are missing, so a
// fresh Kafka (or a new topic prefix) works without a separate step.
func (s *Service) ensureTopics(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	specs := []broker.TopicSpec{{Name: s.Topics.DeadLetter, Partitions: 3}}
	for _, t := range s.Topics.Events() {
		specs = append(specs, broker.TopicSpec{Name: t, Partitions: s.cfg.TopicPartitions})
	}
	return broker.EnsureTopics(ctx, s.cfg.KafkaBrokers, specs...)
}
