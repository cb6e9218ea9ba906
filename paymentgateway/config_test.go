package paymentgateway_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/paymentgateway"
	"github.com/orderflow/orderflow/platform/envconfig"
	"github.com/orderflow/orderflow/platform/testenv"
)

func TestConfigDefaults(t *testing.T) {
	var cfg paymentgateway.Config
	require.NoError(t, envconfig.LoadFrom(paymentgateway.EnvPrefix, &cfg, func(string) (string, bool) { return "", false }))
	require.ErrorContains(t, cfg.Validate(), "PAYMENTGATEWAY_SERVICE_TOKEN is required", "the token has no default")
	cfg.ServiceToken = testenv.ServiceToken
	require.Equal(t, paymentgateway.Config{
		HTTPAddr:        "127.0.0.1:8083",
		PostgresDSN:     "postgres://orderflow:orderflow@127.0.0.1:5432/orderflow_paymentgateway?sslmode=disable",
		Latency:         0,
		DeclineRate:     0,
		SlowDelay:       3 * time.Second,
		FlakyFailures:   2,
		ShutdownTimeout: 10 * time.Second,
		ServiceToken:    testenv.ServiceToken,
	}, cfg)
	require.NoError(t, cfg.Validate())

	for _, attr := range envconfig.Attrs(paymentgateway.EnvPrefix, &cfg) {
		if attr.Key == "PAYMENTGATEWAY_POSTGRES_DSN" {
			require.NotContains(t, attr.Value.String(), ":orderflow@", "the password is masked in logs")
		}
		if attr.Key == "PAYMENTGATEWAY_SERVICE_TOKEN" {
			require.NotContains(t, attr.Value.String(), testenv.ServiceToken, "the token is masked in logs")
		}
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	env := map[string]string{
		"PAYMENTGATEWAY_HTTP_ADDR":      ":9999",
		"PAYMENTGATEWAY_LATENCY":        "50ms",
		"PAYMENTGATEWAY_DECLINE_RATE":   "0.25",
		"PAYMENTGATEWAY_SLOW_DELAY":     "500ms",
		"PAYMENTGATEWAY_FLAKY_FAILURES": "5",
		"PAYMENTGATEWAY_SERVICE_TOKEN":  testenv.ServiceToken,
	}
	var cfg paymentgateway.Config
	require.NoError(t, envconfig.LoadFrom(paymentgateway.EnvPrefix, &cfg, func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}))
	require.Equal(t, ":9999", cfg.HTTPAddr)
	require.Equal(t, 50*time.Millisecond, cfg.Latency)
	require.Equal(t, 0.25, cfg.DeclineRate)
	require.Equal(t, 500*time.Millisecond, cfg.SlowDelay)
	require.Equal(t, 5, cfg.FlakyFailures)
	require.Equal(t, testenv.ServiceToken, cfg.ServiceToken)
}

func TestConfigValidate(t *testing.T) {
	valid := func() paymentgateway.Config {
		return paymentgateway.Config{HTTPAddr: ":8083", PostgresDSN: "postgres://x", SlowDelay: time.Second, FlakyFailures: 2, ShutdownTimeout: time.Second,
			ServiceToken: testenv.ServiceToken}
	}
	tests := []struct {
		name    string
		change  func(*paymentgateway.Config)
		wantErr string
	}{
		{"valid", func(*paymentgateway.Config) {}, ""},
		{"no address", func(c *paymentgateway.Config) { c.HTTPAddr = "" }, "HTTP_ADDR"},
		{"no DSN", func(c *paymentgateway.Config) { c.PostgresDSN = "" }, "POSTGRES_DSN"},
		{"negative latency", func(c *paymentgateway.Config) { c.Latency = -time.Second }, "LATENCY"},
		{"decline rate above 1", func(c *paymentgateway.Config) { c.DeclineRate = 1.5 }, "DECLINE_RATE"},
		{"negative decline rate", func(c *paymentgateway.Config) { c.DeclineRate = -0.1 }, "DECLINE_RATE"},
		{"negative slow delay", func(c *paymentgateway.Config) { c.SlowDelay = -1 }, "SLOW_DELAY"},
		{"negative flaky failures", func(c *paymentgateway.Config) { c.FlakyFailures = -1 }, "FLAKY_FAILURES"},
		{"no shutdown timeout", func(c *paymentgateway.Config) { c.ShutdownTimeout = 0 }, "SHUTDOWN_TIMEOUT"},
		{"no service token", func(c *paymentgateway.Config) { c.ServiceToken = "" }, "PAYMENTGATEWAY_SERVICE_TOKEN is required"},
		{"short service token", func(c *paymentgateway.Config) { c.ServiceToken = "short" }, "PAYMENTGATEWAY_SERVICE_TOKEN is too short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
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
