// Package gateway is the GraphQL gateway process: it serves the API of the
// graph module over HTTP and websockets with GraphiQL at /, sends mutations
// to the order service, answers queries from the Redis read models that its
// projector builds from Kafka, mirrors every event into NATS JetStream, and
// serves subscriptions from that mirror — so any number of gateway replicas
// can run side by side. Admins triage the messages the services' consumers
// set aside through the same API (package deadletters).
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/orderflow/orderflow/gateway/commands"
	"github.com/orderflow/orderflow/gateway/deadletters"
	"github.com/orderflow/orderflow/gateway/graphiql"
	"github.com/orderflow/orderflow/gateway/mirror"
	"github.com/orderflow/orderflow/gateway/readmodel"
	"github.com/orderflow/orderflow/gateway/statusfeed"
	"github.com/orderflow/orderflow/gateway/timeline"
	"github.com/orderflow/orderflow/graph"
	orderclient "github.com/orderflow/orderflow/order/client"
	"github.com/orderflow/orderflow/platform/auth"
	"github.com/orderflow/orderflow/platform/broker"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/envconfig"
	"github.com/orderflow/orderflow/platform/health"
	"github.com/orderflow/orderflow/platform/httpserver"
	"github.com/orderflow/orderflow/platform/parking"
	"github.com/orderflow/orderflow/platform/tracing"
	"github.com/orderflow/orderflow/schema"
)

// EnvPrefix prefixes every environment variable of the gateway.
const EnvPrefix = "GATEWAY_"

// Config is the gateway's configuration.
type Config struct {
	// HTTPAddr is loopback by default; set 0.0.0.0:8080 (or a host's
	// address) to serve other machines.
	HTTPAddr string `env:"HTTP_ADDR" default:"127.0.0.1:8080"`
	OrderURL string `env:"ORDER_URL" default:"http://127.0.0.1:8081"`
	// PaymentURL and CompensationURL, with OrderURL, are the services
	// whose dead letters the gateway triages (each serves its own).
	PaymentURL      string `env:"PAYMENT_URL" default:"http://127.0.0.1:8082"`
	CompensationURL string `env:"COMPENSATION_URL" default:"http://127.0.0.1:8084"`
	KafkaBrokers    string `env:"KAFKA_BROKERS" default:"127.0.0.1:9092"`
	TopicPrefix     string `env:"TOPIC_PREFIX"`
	RedisAddr       string `env:"REDIS_ADDR" default:"127.0.0.1:6379"`
	RedisPrefix     string `env:"REDIS_PREFIX" default:"orderflow:"`
	NATSURL         string `env:"NATS_URL" default:"nats://127.0.0.1:4222"`
	NATSStream      string `env:"NATS_STREAM" default:"ORDERFLOW_EVENTS"`
	// NATSSubjectPrefix isolates a deployment's subjects on a shared NATS.
	NATSSubjectPrefix string `env:"NATS_SUBJECT_PREFIX"`

	// Projector and Mirror run the Kafka consumers that feed Redis and
	// JetStream. Every replica may run them (the consumer groups share the
	// work); a replica that only serves the API can turn them off.
	Projector bool `env:"PROJECTOR" default:"true"`
	Mirror    bool `env:"MIRROR" default:"true"`
	// OneGroup runs the projector inside the mirror's consumer group when
	// both are on: half the gateway's Kafka fetches, but a NATS outage then
	// also pauses the read models (see package mirror). Off by default, so
	// that queries stay fresh while NATS is down.
	OneGroup bool `env:"ONE_GROUP" default:"false"`

	// AuthJWKS is the key set that signs customer tokens: a JWKS file or
	// an http(s) URL (refreshed in the background). make run points it at
	// the development issuer's, .data/auth/jwks.json.
	AuthJWKS     string `env:"AUTH_JWKS"`
	AuthIssuer   string `env:"AUTH_ISSUER" default:"orderflow-dev"`
	AuthAudience string `env:"AUTH_AUDIENCE" default:"orderflow"`
	// AuthLeeway tolerates clock skew between the issuer and the gateway.
	AuthLeeway time.Duration `env:"AUTH_LEEWAY" default:"30s"`
	// ServiceToken is the internal services' shared token, sent to the
	// order service and to the services' dead-letter triage.
	ServiceToken string `env:"SERVICE_TOKEN" secret:"true"`

	// Per-customer rate limit (requests per second, burst), and the caps
	// of websockets (connections, subscriptions per connection).
	RateLimit        float64 `env:"RATE_LIMIT" default:"50"`
	RateBurst        int     `env:"RATE_BURST" default:"100"`
	MaxConnections   int     `env:"MAX_CONNECTIONS" default:"10000"`
	MaxSubscriptions int     `env:"MAX_SUBSCRIPTIONS_PER_CONNECTION" default:"100"`

	// GraphiQL and introspection are off unless enabled: make run enables
	// both for development.
	GraphiQL bool `env:"GRAPHIQL" default:"false"`
	// GraphiQLToken, if set, prefills GraphiQL's headers pane with
	// "Authorization: Bearer <it>" — a demo customer's token in development
	// (make run). Anyone who can load the page can use it.
	GraphiQLToken   string        `env:"GRAPHIQL_TOKEN" secret:"true"`
	Introspection   bool          `env:"INTROSPECTION" default:"false"`
	MaxDepth        int           `env:"MAX_DEPTH" default:"12"`
	MaxComplexity   int           `env:"MAX_COMPLEXITY" default:"1000"`
	MaxBodyBytes    int64         `env:"MAX_BODY_BYTES" default:"1048576"`
	QueryTimeout    time.Duration `env:"QUERY_TIMEOUT" default:"10s"`
	KeepAlive       time.Duration `env:"WS_KEEPALIVE" default:"10s"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" default:"10s"`
	// Profiling mounts Go's profiles at /debug/pprof/ (off by default).
	Profiling bool `env:"PPROF" default:"false"`
}

// DefaultConfig returns the defaults, which work with `make run`.
func DefaultConfig() Config {
	var cfg Config
	_ = envconfig.Defaults(&cfg) // the tags are constants: checked by the tests
	return cfg
}

// Validate reports a missing or wrong setting.
func (c Config) Validate() error {
	var errs []error
	for name, v := range map[string]string{"HTTP_ADDR": c.HTTPAddr, "ORDER_URL": c.OrderURL,
		"PAYMENT_URL": c.PaymentURL, "COMPENSATION_URL": c.CompensationURL,
		"KAFKA_BROKERS": c.KafkaBrokers, "REDIS_ADDR": c.RedisAddr, "NATS_URL": c.NATSURL, "NATS_STREAM": c.NATSStream} {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s%s is required", EnvPrefix, name))
		}
	}
	if c.RedisPrefix == "" {
		errs = append(errs, errors.New(EnvPrefix+"REDIS_PREFIX must not be empty (it scopes the read models' keys)"))
	}
	if c.MaxDepth < 1 || c.MaxComplexity < 1 || c.MaxBodyBytes < 1024 {
		errs = append(errs, errors.New(EnvPrefix+"MAX_DEPTH and MAX_COMPLEXITY must be positive, MAX_BODY_BYTES at least 1024"))
	}
	if c.AuthJWKS == "" {
		errs = append(errs, errors.New(EnvPrefix+"AUTH_JWKS is required: the JWKS file or URL of the keys that sign customer tokens "+
			"(make run uses the development issuer's, "+auth.DefaultDir+"/"+auth.JWKSFile+")"))
	}
	if c.AuthIssuer == "" || c.AuthAudience == "" {
		errs = append(errs, errors.New(EnvPrefix+"AUTH_ISSUER and "+EnvPrefix+"AUTH_AUDIENCE must not be empty"))
	}
	if err := auth.CheckServiceToken(c.ServiceToken); err != nil {
		errs = append(errs, fmt.Errorf("%sSERVICE_TOKEN: %w", EnvPrefix, err))
	}
	if c.RateLimit <= 0 || c.RateBurst < 1 || c.MaxConnections < 1 || c.MaxSubscriptions < 1 {
		errs = append(errs, errors.New(EnvPrefix+"RATE_LIMIT, RATE_BURST, MAX_CONNECTIONS and MAX_SUBSCRIPTIONS_PER_CONNECTION must be positive"))
	}
	return errors.Join(errs...)
}

// Run serves the gateway until ctx is done. ready, if not nil, receives the
// HTTP address once it listens.
func Run(ctx context.Context, cfg Config, log *slog.Logger, ready chan<- net.Addr) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	verifier, err := auth.NewVerifier(ctx, auth.VerifierConfig{
		JWKS: cfg.AuthJWKS, Issuer: cfg.AuthIssuer, Audience: cfg.AuthAudience, Leeway: cfg.AuthLeeway,
	})
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr})
	defer rdb.Close()

	nc, err := nats.Connect(cfg.NATSURL, nats.Name("orderflow-gateway"), nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true), nats.ReconnectWait(500*time.Millisecond))
	if err != nil {
		return fmt.Errorf("connect nats: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}

	stream := mirror.Stream{Name: cfg.NATSStream, SubjectPrefix: cfg.NATSSubjectPrefix}
	store := readmodel.NewStore(rdb, cfg.RedisPrefix)
	cmds := commands.New(cfg.OrderURL, &http.Client{
		Timeout:   cfg.QueryTimeout,
		Transport: tracing.Transport(auth.ServiceTransport(cfg.ServiceToken, orderclient.NewTransport())),
	})
	known := statusfeed.ExistsFunc(func(ctx context.Context, id string) (bool, error) {
		if ok, err := store.Exists(ctx, id); err == nil && ok {
			return true, nil
		}
		return cmds.Exists(ctx, id) // the read model may not have it yet
	})
	feed := statusfeed.New(js, known, statusfeed.Config{Stream: cfg.NATSStream, SubjectPrefix: cfg.NATSSubjectPrefix}, log)
	metrics := newMetrics(feed)

	timelines := timeline.New(js, timeline.Config{Stream: cfg.NATSStream, SubjectPrefix: cfg.NATSSubjectPrefix}, log)
	triage := newTriage(cfg)

	api := graph.NewHandler(graph.NewResolver(feed.RecordCreates(cmds), store, feed, timelines, triage), graph.Options{
		MaxDepth: cfg.MaxDepth, MaxComplexity: cfg.MaxComplexity, MaxBodyBytes: cfg.MaxBodyBytes,
		Timeout: cfg.QueryTimeout, Introspection: cfg.Introspection, KeepAlive: cfg.KeepAlive,
		Auth: authenticator(verifier), RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst,
		MaxConnections: cfg.MaxConnections, MaxSubscriptionsPerConnection: cfg.MaxSubscriptions,
		Extensions: metrics.graphQL(),
	}, log)

	checks := health.New(2 * time.Second)
	checks.Add("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
	checks.Add("nats", func(context.Context) error {
		if !nc.IsConnected() {
			return fmt.Errorf("nats: %s", nc.Status())
		}
		return nil
	})
	checks.Add("kafka", func(ctx context.Context) error { return broker.Ping(ctx, cfg.KafkaBrokers) })
	checks.Add("order-service", func(ctx context.Context) error { return ping(ctx, cfg.OrderURL+"/healthz") })

	mux := http.NewServeMux()
	checks.Register(mux)
	if cfg.Profiling {
		httpserver.MountProfiling(mux)
	}
	mux.Handle("/graphql", api)
	mux.Handle("GET /metrics", metrics.handler())
	if cfg.GraphiQL {
		if !graphiql.Built() {
			log.Warn("GraphiQL assets are not built: / answers 503 until `make graphiql` runs")
		}
		var headers map[string]string
		if cfg.GraphiQLToken != "" {
			headers = map[string]string{"Authorization": "Bearer " + cfg.GraphiQLToken}
		}
		mux.Handle("/", graphiql.Handler(headers))
	}

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return httpserver.Serve(ctx, log, cfg.HTTPAddr, metrics.http.Wrap(tracing.Handler(mux)), cfg.ShutdownTimeout, ready)
	})
	g.Go(func() error { return feed.Run(ctx) })
	var project consumer.Handler
	if cfg.Projector {
		project = readmodel.NewProjector(rdb, cfg.RedisPrefix).Handle
	}
	if cfg.Projector && !(cfg.Mirror && cfg.OneGroup) {
		kafka := readmodel.Kafka{Brokers: cfg.KafkaBrokers, TopicPrefix: cfg.TopicPrefix}
		pcfg := kafka.ConsumerConfig()
		pcfg.Metrics = metrics.consumers
		projector, err := consumer.New(pcfg, schema.NewCodec(schema.NewRegistry()),
			project, log.With("component", "projector"))
		if err != nil {
			return fmt.Errorf("projector: %w", err)
		}
		g.Go(func() error { return projector.Run(ctx) })
	}
	if cfg.Mirror {
		mcfg := mirror.Config{Brokers: cfg.KafkaBrokers, TopicPrefix: cfg.TopicPrefix, Stream: stream,
			Metrics: metrics.consumers}
		if cfg.OneGroup {
			mcfg.Then = project // one group mirrors each batch, then projects it
		}
		m, err := mirror.New(mcfg, js, log)
		if err != nil {
			return fmt.Errorf("mirror: %w", err)
		}
		defer m.Close()
		lag := newLagWatch(m, metrics, log)
		checks.AddDetail("mirrorLag", lag.value)
		g.Go(func() error { return m.Run(ctx) })
		g.Go(func() error { return lag.run(ctx) })
	}
	log.Info("gateway started", "graphiql", cfg.GraphiQL, "projector", cfg.Projector, "mirror", cfg.Mirror)
	err = g.Wait()
	log.Info("gateway stopped", "err", err)
	return err
}

// newTriage returns the dead-letter triage over the services that have
// dead letters. It is not a readiness check: the API serves orders while
// one of them is down, and a list then says which one.
func newTriage(cfg Config) *deadletters.Triage {
	hc := &http.Client{
		Timeout:   cfg.QueryTimeout,
		Transport: tracing.Transport(auth.ServiceTransport(cfg.ServiceToken, nil)),
	}
	return deadletters.New(
		parking.NewClient("order", cfg.OrderURL, hc),
		parking.NewClient("payment", cfg.PaymentURL, hc),
		parking.NewClient("compensation", cfg.CompensationURL, hc),
	)
}

// authenticator lets the API check customer tokens with v.
func authenticator(v *auth.Verifier) graph.Authenticator {
	return graph.AuthenticatorFunc(func(token string) (graph.Principal, error) {
		p, err := v.Verify(token)
		if err != nil {
			return graph.Principal{}, err
		}
		return graph.Principal{Customer: p.Customer, Admin: p.Admin, Expires: p.Expires}, nil
	})
}

func ping(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return nil
}
