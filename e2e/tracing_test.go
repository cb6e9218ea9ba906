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

	// Spans reach Jaeger as each process exports them, so the trace is read
	// until it is whole: every service in it, every span's parent in it but
	// for the one root, and the hops that cross Kafka and HTTP there.
	wantServices := []string{"compensation", "gateway", "order", "payment", "paymentgateway"}
	wantRoots := []string{"gateway: POST /graphql"}
	wantOperations := []string{"order: POST /v1/orders", "paymentgateway: POST /v1/charges", "payment: consume order.created.v1",
		"compensation: consume order.created.v1", "order: consume payment.captured.v1", "order: publish order.created.v1"}
	var services, roots, operations []string
	testenv.Eventually(t, 30*time.Second, func() error {
		tr, err := fetchTrace(traceID)
		if err != nil {
			return err
		}
		services, roots, operations = describeTrace(tr)
		if !slices.Equal(services, wantServices) {
			return fmt.Errorf("trace %s has spans of %v, waiting for %v", traceID, services, wantServices)
		}
		if !slices.Equal(roots, wantRoots) {
			return fmt.Errorf("trace %s has spans without their parent in it: %v (the root must be %v alone)", traceID, roots, wantRoots)
		}
		for _, op := range wantOperations {
			if !slices.Contains(operations, op) {
				return fmt.Errorf("trace %s has no span %q yet", traceID, op)
			}
		}
		return nil
	})
	t.Logf("trace %s:\n  %s", traceID, strings.Join(operations, "\n  "))
}

// describeTrace lists a trace's services, its spans whose parent is not in
// it (the roots), and every span as "service: operation", each sorted.
func describeTrace(tr jaegerTrace) (services, roots, operations []string) {
	ids := map[string]bool{}
	for _, span := range tr.Spans {
		ids[span.SpanID] = true
	}
	for _, span := range tr.Spans {
		service := tr.Processes[span.ProcessID].ServiceName
		services = append(services, service)
		operations = append(operations, service+": "+span.OperationName)
		parented := false
		for _, ref := range span.References {
			parented = parented || (ref.RefType == "CHILD_OF" && ids[ref.SpanID])
		}
		if !parented {
			roots = append(roots, service+": "+span.OperationName)
		}
	}
	slices.Sort(services)
	sort.Strings(roots)
	sort.Strings(operations)
	return slices.Compact(services), roots, operations
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
