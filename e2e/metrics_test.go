package e2e_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/e2e/harness"
	"github.com/orderflow/orderflow/platform/metrics/metricstest"
)

// requireMetrics scrapes every service of sys as Prometheus would — no
// credentials, the text format — after the saga paths ran through them,
// and checks that each shows its part of the traffic.
func requireMetrics(t *testing.T, sys *harness.System) {
	t.Helper()
	exposed := map[string]bool{}
	for _, name := range []string{"order", "payment", "compensation", "paymentgateway", "gateway"} {
		s := metricstest.Get(t, sys.URL(name))
		for family := range s {
			exposed[family] = true
		}
		s.Require(t, 1, "go_goroutines")
		s.Require(t, 0, "process_cpu_seconds_total")
		s.Require(t, 1, "orderflow_http_requests_total", "route", "GET /readyz", "code", "200")
	}

	order := metricstest.Get(t, sys.URL("order"))
	order.Require(t, 6, "orderflow_http_requests_total", "route", "POST /v1/orders")
	order.Require(t, 6, "orderflow_outbox_published_total")
	order.Require(t, 1, "orderflow_outbox_relay_leader")
	order.Require(t, 1, "orderflow_consumer_messages_total", "outcome", "ok")

	payment := metricstest.Get(t, sys.URL("payment"))
	psp := "orderflow_payment_psp_request_duration_seconds"
	payment.Require(t, 3, psp, "call", "charge", "outcome", "captured")
	payment.Require(t, 1, psp, "call", "charge", "outcome", "declined")
	payment.Require(t, 1, psp, "call", "charge", "outcome", "unavailable")
	payment.Require(t, 1, psp, "call", "refund", "outcome", "refunded")

	compensation := metricstest.Get(t, sys.URL("compensation"))
	compensation.Require(t, 0, "orderflow_compensation_sagas_past_deadline")
	compensation.Require(t, 1, "orderflow_consumer_messages_total", "outcome", "ok")

	gateway := metricstest.Get(t, sys.URL("gateway"))
	ops := "orderflow_gateway_graphql_operations_total"
	gateway.Require(t, 6, ops, "operation", "mutation", "code", "none")
	gateway.Require(t, 1, ops, "operation", "mutation", "code", "CONFLICT")
	gateway.Require(t, 1, ops, "operation", "query", "code", "none")
	gateway.Require(t, 6, "orderflow_gateway_graphql_operation_duration_seconds", "operation", "mutation")
	gateway.Require(t, 6, "orderflow_http_requests_total", "method", "POST", "route", "/graphql", "code", "200")
	gateway.Require(t, 0, "orderflow_gateway_subscriptions_active")
	gateway.Require(t, 1, "orderflow_gateway_mirror_published_total")
	gateway.Require(t, 0, "orderflow_gateway_mirror_duplicates_total")
	gateway.Require(t, 0, "orderflow_gateway_mirror_lag_events")
	gateway.Require(t, 1, "orderflow_consumer_messages_total", "outcome", "ok")
	gateway.Require(t, 0, "orderflow_consumer_lag_messages")

	requireDeployedSeriesExist(t, exposed)
}

// requireDeployedSeriesExist checks that every orderflow series the
// dashboard and the alert rules of deploy/ query is one the services
// expose, so that a renamed series cannot leave a panel or an alert
// silently empty. Series with labels appear with their first sample: those
// the saga paths may not produce (dead letters, retries) are named here.
func requireDeployedSeriesExist(t *testing.T, exposed map[string]bool) {
	t.Helper()
	firstOnEvent := map[string]bool{
		"orderflow_consumer_dead_letters_total": true,
		"orderflow_consumer_retries_total":      true,
	}
	name := regexp.MustCompile(`\borderflow_[a-z_]+`)
	for _, file := range []string{"../deploy/grafana/orderflow.json", "../deploy/prometheus/alerts.yml"} {
		b, err := os.ReadFile(file)
		require.NoError(t, err)
		found := name.FindAllString(string(b), -1)
		require.NotEmpty(t, found, file)
		for _, series := range found {
			for _, suffix := range []string{"_bucket", "_count", "_sum"} {
				if base := strings.TrimSuffix(series, suffix); exposed[base] {
					series = base
				}
			}
			require.Truef(t, exposed[series] || firstOnEvent[series], "%s queries %s, which no service exposes", file, series)
		}
	}
}
