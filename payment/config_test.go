package payment_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/payment"
	"github.com/orderflow/orderflow/platform/envconfig"
	"github.com/orderflow/orderflow/platform/testenv"
)

func TestDefaultConfigIsValidAndComplete(t *testing.T) {
	cfg := payment.DefaultConfig()
	require.ErrorContains(t, cfg.Validate(), "SERVICE_TOKEN is required", "the token has no default")
	cfg.Service.ServiceToken = testenv.ServiceToken
	require.NoError(t, cfg.Validate())
	require.Equal(t, "127.0.0.1:8082", cfg.Service.HTTPAddr)
	require.Contains(t, cfg.Service.PostgresDSN, "/orderflow_payment")
	require.Equal(t, "127.0.0.1:9092", cfg.Service.KafkaBrokers)
	require.Equal(t, "http://127.0.0.1:8083", cfg.PSP.URL)
	require.Equal(t, time.Second, cfg.PSP.Timeout)
	require.Equal(t, 5, cfg.PSP.Attempts)
	require.Equal(t, 100*time.Millisecond, cfg.PSP.BackoffInitial)
	require.Equal(t, 2*time.Second, cfg.PSP.BackoffMax)
}

func TestConfigFromTheEnvironment(t *testing.T) {
	env := map[string]string{
		"PAYMENT_HTTP_ADDR":           ":9999",
		"PAYMENT_POSTGRES_DSN":        "postgres://u:hunter2@db:5432/pay",
		"PAYMENT_PSP_URL":             "https://psp.example:8443",
		"PAYMENT_PSP_TIMEOUT":         "250ms",
		"PAYMENT_PSP_ATTEMPTS":        "3",
		"PAYMENT_PSP_BACKOFF_INITIAL": "10ms",
		"PAYMENT_PSP_BACKOFF_MAX":     "40ms",
		"PAYMENT_SERVICE_TOKEN":       testenv.ServiceToken,
	}
	cfg := payment.DefaultConfig()
	require.NoError(t, envconfig.LoadFrom(payment.EnvPrefix, &cfg, func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}))
	require.NoError(t, cfg.Validate())
	require.Equal(t, ":9999", cfg.Service.HTTPAddr)
	require.Equal(t, "https://psp.example:8443", cfg.PSP.URL)
	require.Equal(t, 250*time.Millisecond, cfg.PSP.Timeout)
	require.Equal(t, 3, cfg.PSP.Attempts)
	require.Equal(t, testenv.ServiceToken, cfg.Service.ServiceToken)

	logged := map[string]string{}
	for _, a := range envconfig.Attrs(payment.EnvPrefix, &cfg) {
		logged[a.Key] = a.Value.String()
	}
	require.Contains(t, logged, "PAYMENT_PSP_TIMEOUT")
	require.NotContains(t, logged["PAYMENT_POSTGRES_DSN"], "hunter2", "the password is masked")
	require.Contains(t, logged, "PAYMENT_SERVICE_TOKEN")
	require.NotContains(t, logged["PAYMENT_SERVICE_TOKEN"], testenv.ServiceToken, "the token is masked")
}

func TestConfigValidateNamesWhatIsWrong(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(c *payment.Config)
		mention string
	}{
		{"no psp url", func(c *payment.Config) { c.PSP.URL = "" }, "PAYMENT_PSP_URL"},
		{"psp url without scheme", func(c *payment.Config) { c.PSP.URL = "127.0.0.1:8083" }, "PAYMENT_PSP_URL"},
		{"no attempts", func(c *payment.Config) { c.PSP.Attempts = 0 }, "attempts"},
		{"no timeout", func(c *payment.Config) { c.PSP.Timeout = 0 }, "timeout"},
		{"cap below start", func(c *payment.Config) { c.PSP.BackoffMax = time.Millisecond }, "maximum backoff"},
		{"a charge longer than a message may take", func(c *payment.Config) { c.PSP.Attempts = 50 }, "could take"},
		{"no database", func(c *payment.Config) { c.Service.PostgresDSN = "" }, "POSTGRES_DSN"},
		{"no service token", func(c *payment.Config) { c.Service.ServiceToken = "" }, "SERVICE_TOKEN is required"},
		{"short service token", func(c *payment.Config) { c.Service.ServiceToken = "short" }, "SERVICE_TOKEN is too short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := payment.DefaultConfig()
			cfg.Service.ServiceToken = testenv.ServiceToken
			tt.mutate(&cfg)
			err := cfg.Validate()
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.mention)
		})
	}
}
