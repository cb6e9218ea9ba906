package compensation_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/compensation"
	"github.com/orderflow/orderflow/platform/envconfig"
	"github.com/orderflow/orderflow/platform/testenv"
)

func load(t *testing.T, env map[string]string) compensation.Config {
	t.Helper()
	cfg := compensation.DefaultConfig()
	require.NoError(t, envconfig.LoadFrom(compensation.EnvPrefix, &cfg, func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}))
	return cfg
}

func TestConfigDefaults(t *testing.T) {
	cfg := load(t, nil)
	require.ErrorContains(t, cfg.Validate(), "SERVICE_TOKEN is required", "the token has no default")
	cfg = load(t, map[string]string{"COMPENSATION_SERVICE_TOKEN": testenv.ServiceToken})

	require.Equal(t, "127.0.0.1:8084", cfg.Service.HTTPAddr)
	require.Equal(t, "postgres://orderflow:orderflow@127.0.0.1:5432/orderflow_compensation?sslmode=disable", cfg.Service.PostgresDSN)
	require.Equal(t, "127.0.0.1:9092", cfg.Service.KafkaBrokers)
	require.Equal(t, 30*time.Second, cfg.PaymentTimeout)
	require.Equal(t, 200*time.Millisecond, cfg.DeadlinePoll)
	require.NoError(t, cfg.Validate())

	logged := map[string]string{}
	for _, attr := range envconfig.Attrs(compensation.EnvPrefix, &cfg) {
		logged[attr.Key] = attr.Value.String()
	}
	require.Contains(t, logged, "COMPENSATION_POSTGRES_DSN")
	require.NotContains(t, logged["COMPENSATION_POSTGRES_DSN"], ":orderflow@", "the password is masked in logs")
	require.Contains(t, logged, "COMPENSATION_SERVICE_TOKEN")
	require.NotContains(t, logged["COMPENSATION_SERVICE_TOKEN"], testenv.ServiceToken, "the token is masked in logs")
}

func TestConfigFromEnvironment(t *testing.T) {
	cfg := load(t, map[string]string{
		"COMPENSATION_HTTP_ADDR":       ":9999",
		"COMPENSATION_POSTGRES_DSN":    "postgres://u:p@db:5432/x",
		"COMPENSATION_TOPIC_PREFIX":    "staging.",
		"COMPENSATION_PAYMENT_TIMEOUT": "2m",
		"COMPENSATION_DEADLINE_POLL":   "1s",
		"COMPENSATION_SERVICE_TOKEN":   testenv.ServiceToken,
	})

	require.Equal(t, ":9999", cfg.Service.HTTPAddr)
	require.Equal(t, "postgres://u:p@db:5432/x", cfg.Service.PostgresDSN)
	require.Equal(t, "staging.", cfg.Service.TopicPrefix)
	require.Equal(t, 2*time.Minute, cfg.PaymentTimeout)
	require.Equal(t, time.Second, cfg.DeadlinePoll)
	require.Equal(t, testenv.ServiceToken, cfg.Service.ServiceToken)
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*compensation.Config)
		wantErr string
	}{
		{"defaults", func(*compensation.Config) {}, ""},
		{"no address", func(c *compensation.Config) { c.Service.HTTPAddr = "" }, "HTTP_ADDR"},
		{"no database", func(c *compensation.Config) { c.Service.PostgresDSN = "" }, "POSTGRES_DSN"},
		{"no payment timeout", func(c *compensation.Config) { c.PaymentTimeout = 0 }, "COMPENSATION_PAYMENT_TIMEOUT"},
		{"negative payment timeout", func(c *compensation.Config) { c.PaymentTimeout = -time.Second }, "COMPENSATION_PAYMENT_TIMEOUT"},
		{"no deadline poll", func(c *compensation.Config) { c.DeadlinePoll = 0 }, "COMPENSATION_DEADLINE_POLL"},
		{"no service token", func(c *compensation.Config) { c.Service.ServiceToken = "" }, "SERVICE_TOKEN is required"},
		{"short service token", func(c *compensation.Config) { c.Service.ServiceToken = "short" }, "SERVICE_TOKEN is too short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := load(t, map[string]string{"COMPENSATION_SERVICE_TOKEN": testenv.ServiceToken})
			tt.change(&cfg)
			err := cfg.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}
