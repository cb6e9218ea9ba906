package payment

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/orderflow/orderflow/payment/app/command"
	"github.com/orderflow/orderflow/platform/envconfig"
	"github.com/orderflow/orderflow/platform/service"
)

// maxChargeBudget bounds the longest charge the PSP settings allow: a charge
// must settle well within the default sweep grace period and the saga's
// payment deadline, or it would routinely be taken over or time out.
const maxChargeBudget = 45 * time.Second

// EnvPrefix prefixes every environment variable of the payment service.
const EnvPrefix = "PAYMENT_"

// Config is the payment service's configuration, read from PAYMENT_*
// variables: the plumbing's (PAYMENT_HTTP_ADDR, PAYMENT_POSTGRES_DSN,
// PAYMENT_KAFKA_BROKERS, …) and the PSP's.
type Config struct {
	Service service.Config
	PSP     PSPConfig
	Charges ChargesConfig
}

// ChargesConfig says how many charges run at once, how their outcomes are
// batched, and when an interrupted charge is taken over.
type ChargesConfig struct {
	// Concurrency is the most charges (and refunds) under way at once.
	Concurrency int `env:"CHARGE_CONCURRENCY" default:"64"`
	// OutcomeBatch is the most charge outcomes recorded in one transaction.
	OutcomeBatch int `env:"OUTCOME_BATCH" default:"64"`
	// SweepGrace is how long a charge is left to the process that requested
	// it before the sweep charges it again (same idempotency key). Above a
	// charge's budget, a sweep only ever takes over charges that were
	// interrupted; below it, it may also repeat one still under way in
	// another replica, which the PSP answers as a replay.
	SweepGrace time.Duration `env:"SWEEP_GRACE" default:"15s"`
	// SweepInterval is how often the sweep looks for charges owed longer
	// than the grace period.
	SweepInterval time.Duration `env:"SWEEP_INTERVAL" default:"5s"`
}

// PSPConfig says where the card processor is and how hard to insist on it.
type PSPConfig struct {
	URL string `env:"PSP_URL" default:"http://127.0.0.1:8083"`
	// Timeout bounds each call; a later answer counts as none.
	Timeout time.Duration `env:"PSP_TIMEOUT" default:"1s"`
	// Attempts is how many charge calls are made before giving up.
	Attempts int `env:"PSP_ATTEMPTS" default:"5"`
	// BackoffInitial is the wait before the first retry; it doubles up to
	// BackoffMax, with jitter.
	BackoffInitial time.Duration `env:"PSP_BACKOFF_INITIAL" default:"100ms"`
	BackoffMax     time.Duration `env:"PSP_BACKOFF_MAX" default:"2s"`
}

// RetryPolicy returns the charge retry policy the settings describe.
func (c PSPConfig) RetryPolicy() command.RetryPolicy {
	return command.RetryPolicy{Attempts: c.Attempts, Timeout: c.Timeout, Initial: c.BackoffInitial, Max: c.BackoffMax}
}

// DefaultConfig returns the configuration of a payment service on this
// machine: every default, for the environment to override.
func DefaultConfig() Config {
	cfg := Config{Service: service.Config{
		HTTPAddr:    "127.0.0.1:8082",
		PostgresDSN: "postgres://orderflow:orderflow@127.0.0.1:5432/orderflow_payment?sslmode=disable",
	}}
	_ = envconfig.Defaults(&cfg) // the tags are constants: checked by the tests
	return cfg
}

// Validate reports every missing or wrong setting.
func (c Config) Validate() error {
	errs := []error{c.Service.Validate()}
	if u, err := url.Parse(c.PSP.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("%sPSP_URL %q must be an http(s) URL", EnvPrefix, c.PSP.URL))
	}
	if err := c.PSP.RetryPolicy().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%sPSP_*: %w", EnvPrefix, err))
	} else if b := c.PSP.RetryPolicy().Budget(); b > maxChargeBudget {
		errs = append(errs, fmt.Errorf("%sPSP_*: a charge could take %s, more than the %s a message may be handled for; "+
			"lower the attempts, the timeout or the backoff", EnvPrefix, b, maxChargeBudget))
	}
	switch {
	case c.Charges.Concurrency < 1:
		errs = append(errs, fmt.Errorf("%sCHARGE_CONCURRENCY must be at least 1", EnvPrefix))
	case c.Charges.OutcomeBatch < 1:
		errs = append(errs, fmt.Errorf("%sOUTCOME_BATCH must be at least 1", EnvPrefix))
	case c.Charges.SweepGrace <= 0 || c.Charges.SweepInterval <= 0:
		errs = append(errs, fmt.Errorf("%sSWEEP_GRACE and %sSWEEP_INTERVAL must be positive", EnvPrefix, EnvPrefix))
	}
	return errors.Join(errs...)
}
