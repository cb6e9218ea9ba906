package compensation

import (
	"errors"
	"fmt"
	"time"

	"github.com/orderflow/orderflow/platform/service"
)

// EnvPrefix prefixes every environment variable of the compensation service.
const EnvPrefix = "COMPENSATION_"

// Config is the compensation service's configuration, read from
// COMPENSATION_* variables: COMPENSATION_HTTP_ADDR, COMPENSATION_POSTGRES_DSN
// and the rest of service.Config, plus the saga's own settings.
type Config struct {
	Service service.Config
	// PaymentTimeout is how long after its creation an order may wait for
	// its payment to be captured before it is cancelled (PAYMENT_TIMEOUT).
	PaymentTimeout time.Duration `env:"PAYMENT_TIMEOUT" default:"30s"`
	// DeadlinePoll is how often due payment deadlines are looked for: the
	// most a deadline fires late while the service runs.
	DeadlinePoll time.Duration `env:"DEADLINE_POLL" default:"200ms"`
}

// DefaultConfig returns the defaults that work with `make infra`; load the
// environment over it. The listen address and database are set here rather
// than in tags because service.Config is shared by every service and cannot
// carry one service's defaults; the other fields' defaults are in the tags.
func DefaultConfig() Config {
	return Config{Service: service.Config{
		HTTPAddr:    "127.0.0.1:8084",
		PostgresDSN: "postgres://orderflow:orderflow@127.0.0.1:5432/orderflow_compensation?sslmode=disable",
	}}
}

// Validate reports every missing or wrong setting.
func (c Config) Validate() error {
	var errs []error
	if err := c.Service.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("service settings (%s*): %w", EnvPrefix, err))
	}
	if c.PaymentTimeout <= 0 {
		errs = append(errs, errors.New(EnvPrefix+"PAYMENT_TIMEOUT must be positive"))
	}
	if c.DeadlinePoll <= 0 {
		errs = append(errs, errors.New(EnvPrefix+"DEADLINE_POLL must be positive"))
	}
	return errors.Join(errs...)
}
