package service_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/platform/service"
	"github.com/orderflow/orderflow/platform/testenv"
)

func TestValidateWantsTheServiceToken(t *testing.T) {
	cfg := service.Config{HTTPAddr: ":8081", PostgresDSN: "postgres://x", KafkaBrokers: "k:9092", PoolSize: 2,
		ServiceToken: testenv.ServiceToken, ParkAfter: time.Minute, ParkAfterAttempts: 10}
	require.NoError(t, cfg.Validate())

	cfg.ServiceToken = ""
	require.ErrorContains(t, cfg.Validate(), "SERVICE_TOKEN is required: the service token must be at least 16 characters")
	cfg.ServiceToken = "too-short"
	require.ErrorContains(t, cfg.Validate(), "SERVICE_TOKEN is too short")
}

func TestValidateWantsARetryBudget(t *testing.T) {
	cfg := service.Config{HTTPAddr: ":8081", PostgresDSN: "postgres://x", KafkaBrokers: "k:9092", PoolSize: 2,
		ServiceToken: testenv.ServiceToken}
	err := cfg.Validate()
	require.ErrorContains(t, err, "PARK_AFTER must be a positive duration")
	require.ErrorContains(t, err, "PARK_AFTER_ATTEMPTS must be at least 1")
}
