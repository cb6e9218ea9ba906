package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/e2e/harness"
	"github.com/orderflow/orderflow/platform/testenv"
)

// jaegerTrace is what Jaeger's query API answers for one trace.
type jaegerTrace struct {
	Spans []struct {
		SpanID        string `json:"spanID"`
		OperationName string `json:"operationName"`
		ProcessID     string `json:"processID"`
		References    []struct {
			RefType string `json:"refType"`
			SpanID  string `json:"spanID"`
		} `json:"references"`
	} `json:"spans"`
	Processes map[string]struct {
		ServiceName string `json:"serviceName"`
	} `json:"processes"`
}

// TestOneOrderIsOneTraceInJaeger: with OTLP export on, a paid order's trace
// in Jaeger holds spans of every service — gateway, order, payment, the
// PSP and compensation — each parented inside the trace across Kafka and
// HTTP, but for the one root.
func TestOneOrderIsOneTraceInJaeger(t *testing.T) {
	sys := harness.Start(t, binDir, harness.Options{Env: []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + testenv.OTLPEndpoint(),
		"OTEL_BSP_SCHEDULE_DELAY=100", // export within a tenth of a second
		"OTEL_RESOURCE_ATTRIBUTES=deployment.environment=e2e",
	}})
	customer := uuid.NewString()
	g := gqlAPI(sys, "gateway", customer)
	o := createViaAPI(t, g, orderInput(customer, "tok_visa"))
	waitViaAPI(t, g, o.ID, "PAID", "CAPTURED")

	var traceID string // the order's, from its timeline (the mirror may be a moment behind)
	testenv.Eventually(t, settle, func() error {
		var timeline struct {
			OrderTimeline []struct {
				TraceID *string `json:"traceId"`
			} `json:"orderTimeline"`
		}
		r, err := g.Do(context.Background(), `query($id: ID!) { orderTimeline(id: $id) { traceId } }`, map[string]any{"id": o.ID}, &timeline)
		if err != nil {
			return err
		}
		if err := r.Err(); err != nil {
			return err
		}
		if len(timeline.OrderTimeline) == 0 || timeline.OrderTimeline[0].TraceID == nil {
			return fmt.Errorf("order %s has no timeline with a trace id yet", o.ID)
		}
		traceID = *timeline.OrderTimeline[0].TraceID
		return nil
	})

	want := []string{"compensation", "gateway", "order", "payment", "paymentgateway"}
	var got jaegerTrace
	testenv.Eventually(t, 30*time.Second, func() error {
		tr, err := fetchTrace(traceID)
		if err != nil {
			return err
		}
		var services []string
		for _, span := range tr.Spans {
			services = append(services, tr.Processes[span.ProcessID].ServiceName)
		}
		slices.Sort(services)
		services = slices.Compact(services)
		if !slices.Equal(services, want) {
			return fmt.Errorf("trace %s has spans of %v, waiting for %v", traceID, services, want)
		}
		got = tr
		return nil
	})

	ids := map[string]bool{}
	for _, span := range got.Spans {
		ids[span.SpanID] = true
	}
	var roots, operations []string
	for _, span := range got.Spans {
		service := got.Processes[span.ProcessID].ServiceName
		operations = append(operations, service+": "+span.OperationName)
		parented := false
		for _, ref := range span.References {
			parented = parented || (ref.RefType == "CHILD_OF" && ids[ref.SpanID])
		}
		if !parented {
			roots = append(roots, service+": "+span.OperationName)
		}
	}
	sort.Strings(operations)
	t.Logf("trace %s:\n  %s", traceID, strings.Join(operations, "\n  "))
	require.Equal(t, []string{"gateway: POST /graphql"}, roots, "one root, the GraphQL request; every other span's parent is in the trace")
	for _, op := range []string{"order: POST /v1/orders", "paymentgateway: POST /v1/charges", "payment: consume order.created.v1",
		"compensation: consume order.created.v1", "order: consume payment.captured.v1", "order: publish order.created.v1"} {
		require.Contains(t, operations, op)
	}
}

func fetchTrace(traceID string) (jaegerTrace, error) {
	resp, err := http.Get(testenv.JaegerQueryURL() + "/api/traces/" + traceID)
	if err != nil {
		return jaegerTrace{}, fmt.Errorf("jaeger query API (is Jaeger up? make infra starts it): %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return jaegerTrace{}, fmt.Errorf("trace %s not in Jaeger yet", traceID)
	}
	if resp.StatusCode != http.StatusOK {
		return jaegerTrace{}, fmt.Errorf("jaeger answered %s", resp.Status)
	}
	var body struct {
		Data []jaegerTrace `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return jaegerTrace{}, err
	}
	if len(body.Data) == 0 {
		return jaegerTrace{}, fmt.Errorf("trace %s not in Jaeger yet", traceID)
	}
	return body.Data[0], nil
}
