package consumer

import (
	"context"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderflow/orderflow/platform/tracing"
	"github.com/orderflow/orderflow/schema"
)

// traceParentOf is the trace a message continues: its traceparent header
// (the relay's publish span), else the event's own.
func traceParentOf(msg Message) string {
	for _, hd := range msg.Headers {
		if hd.Key == schema.HeaderTraceParent && hd.Value != "" {
			return hd.Value
		}
	}
	return msg.Envelope.TraceParent
}

// traced wraps h so that each message is handled in a consumer span, the
// child of the span that published it (the traceparent header, else the
// event's own). The message h sees carries that span as its envelope's
// TraceParent, so the events its handling causes (schema.CausedBy) are the
// span's children: one order is one trace across every service. With
// tracing off, h is returned as it is.
func traced(group string, h Handler) Handler {
	if !tracing.On() {
		return h
	}
	tracer := tracing.Tracer("consumer")
	return func(ctx context.Context, msgs []Message) error {
		spanned := make([]Message, len(msgs))
		spans := make([]trace.Span, len(msgs))
		for i, msg := range msgs {
			spanCtx, span := tracer.Start(tracing.WithTraceParent(ctx, traceParentOf(msg)), "consume "+msg.Envelope.Type,
				trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
					attribute.String("messaging.system", "kafka"),
					attribute.String("messaging.destination.name", msg.Topic),
					attribute.String("messaging.consumer.group.name", group),
					attribute.String("messaging.destination.partition.id", strconv.Itoa(int(msg.Partition))),
					attribute.Int64("messaging.kafka.offset", msg.Offset),
					attribute.String("orderflow.event.id", msg.Envelope.ID),
					attribute.String("orderflow.order.id", msg.Envelope.CorrelationID),
				))
			msg.Envelope.TraceParent = tracing.TraceParent(spanCtx)
			spanned[i], spans[i] = msg, span
		}
		err := h(ctx, spanned)
		for _, span := range spans {
			if err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, err.Error())
			}
			span.End()
		}
		return err
	}
}
