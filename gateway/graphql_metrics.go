package gateway

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/platform/metrics"
)

// operationMetrics is a gqlgen extension that counts and times the API's
// operations by type (query, mutation, subscription; unknown when the
// request did not parse) and error code (the first error's
// extensions.code, none without errors). Codes come from the error
// presenter and gqlgen, never from the client, so they are few.
//
// It sees every answer gqlgen gives, those to requests refused before
// execution (parse, validation, depth, complexity) included. A
// subscription counts once, at its first answer (the order as it is now),
// and its duration is the time to that answer; its later events are not
// operations. Requests the handler refuses before gqlgen (401, 429, 413…)
// are in the HTTP series of route /graphql.
type operationMetrics struct {
	operations *prometheus.CounterVec
	duration   *prometheus.HistogramVec
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
	graphql.ResponseInterceptor
} = (*operationMetrics)(nil)

func newOperationMetrics(reg prometheus.Registerer) *operationMetrics {
	labels := []string{"operation", "code"}
	return &operationMetrics{
		operations: metrics.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: "gateway", Name: "graphql_operations_total",
			Help: "GraphQL operations answered, by operation type and error code (none: no error).",
		}, labels)),
		duration: metrics.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metrics.Namespace, Subsystem: "gateway", Name: "graphql_operation_duration_seconds",
			Help:    "Time from a GraphQL request to its answer (a subscription's first), by operation type and error code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, labels)),
	}
}

// counted marks, in an operation's stats, an operation already counted.
const counted = "OrderflowMetrics"

func (*operationMetrics) ExtensionName() string                   { return "OrderflowMetrics" }
func (*operationMetrics) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptResponse counts the answers that pass gqlgen's response
// middleware: every query's and mutation's, requests refused before
// execution, and a subscription's events (its first one counts).
func (m *operationMetrics) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp != nil { // nil: a subscription's end
		var opCtx *graphql.OperationContext
		if graphql.HasOperationContext(ctx) {
			opCtx = graphql.GetOperationContext(ctx)
		}
		m.count(opCtx, resp)
	}
	return resp
}

// InterceptOperation counts what an operation answers without the response
// middleware: a subscription whose resolver failed at once (NOT_FOUND, say).
func (m *operationMetrics) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	opCtx := graphql.GetOperationContext(ctx)
	h := next(ctx)
	return func(ctx context.Context) *graphql.Response {
		resp := h(ctx)
		if resp != nil {
			m.count(opCtx, resp)
		}
		return resp
	}
}

// count records resp as its operation's answer, once per operation
// (opCtx nil: a request whose body was not JSON).
func (m *operationMetrics) count(opCtx *graphql.OperationContext, resp *graphql.Response) {
	operation, start := "unknown", time.Time{}
	if opCtx != nil {
		if opCtx.Stats.GetExtension(counted) != nil {
			return
		}
		// An operation's answers are given one after another, so the mark
		// needs no lock.
		opCtx.Stats.SetExtension(counted, true)
		if opCtx.Operation != nil {
			operation = string(opCtx.Operation.Operation)
		}
		start = opCtx.Stats.OperationStart
	}
	code := "none"
	if len(resp.Errors) > 0 {
		code = "UNKNOWN"
		if c, ok := resp.Errors[0].Extensions["code"].(string); ok && c != "" {
			code = c
		}
	}
	m.operations.WithLabelValues(operation, code).Inc()
	if !start.IsZero() {
		m.duration.WithLabelValues(operation, code).Observe(time.Since(start).Seconds())
	}
}
