package schema_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/schema"
)

func sampleEvents() []schema.Event {
	order, payment := uuid.NewString(), uuid.NewString()
	return []schema.Event{
		schema.OrderCreated{OrderID: order, CustomerID: uuid.NewString(), Currency: "EUR",
			Items: []schema.OrderItem{{SKU: "sku-1", Quantity: 2, UnitPrice: 1250}}, Total: 2500, PaymentMethod: "tok_visa"},
		schema.OrderPaid{OrderID: order, PaymentID: payment, Amount: 2500},
		schema.OrderCancellationRequested{OrderID: order, Reason: schema.ReasonCustomerRequest, Note: "changed my mind"},
		schema.OrderCancelled{OrderID: order, Reason: schema.ReasonPaymentDeclined},
		schema.PaymentRequested{PaymentID: payment, OrderID: order, Amount: 2500, Currency: "EUR", PaymentMethod: "tok_visa"},
		schema.PaymentCaptured{PaymentID: payment, OrderID: order, Amount: 2500, ChargeID: "ch_1"},
		schema.PaymentDeclined{PaymentID: payment, OrderID: order, Amount: 2500, Code: "card_declined"},
		schema.PaymentFailed{PaymentID: payment, OrderID: order, Amount: 2500, Code: "psp_unavailable", Attempts: 5},
		schema.PaymentRefunded{PaymentID: payment, OrderID: order, Amount: 2500, ChargeID: "ch_1", RefundID: "re_1"},
		schema.SagaStarted{OrderID: order, Amount: 2500, PaymentDeadline: time.Now().UTC().Truncate(time.Millisecond)},
		schema.SagaSettled{OrderID: order},
		schema.CaptureRecorded{OrderID: order, PaymentID: payment, ChargeID: "ch_1", Amount: 2500},
		schema.CancellationDecided{OrderID: order, Reason: schema.ReasonPaymentTimeout},
		schema.CancellationStarted{OrderID: order, Reason: schema.ReasonPaymentTimeout},
		schema.RefundRequested{OrderID: order, PaymentID: payment, ChargeID: "ch_1", Amount: 2500},
		schema.RefundConfirmed{OrderID: order, PaymentID: payment, RefundID: "re_1"},
		schema.CancellationCompleted{OrderID: order, Reason: schema.ReasonCustomerRequest, Refunded: true},
	}
}

func TestCodecRoundTripsEveryEventType(t *testing.T) {
	codec := schema.NewCodec(schema.NewRegistry())
	events := sampleEvents()
	require.Len(t, events, len(codec.Registry().Types()), "every registered type has a sample")

	for _, ev := range events {
		t.Run(ev.EventType(), func(t *testing.T) {
			env := schema.New("order", uuid.NewString(), ev, schema.Cause{CorrelationID: uuid.NewString(), CausationID: uuid.NewString()}, time.Now())
			env.Version = 3
			b, err := codec.Encode(env)
			require.NoError(t, err)

			got, err := codec.Decode(b)
			require.NoError(t, err)
			require.Equal(t, env.ID, got.ID)
			require.Equal(t, env.Type, got.Type)
			require.Equal(t, env.Version, got.Version)
			require.Equal(t, env.CorrelationID, got.CorrelationID)
			require.True(t, env.OccurredAt.Equal(got.OccurredAt))
			require.Equal(t, ev, got.Payload)
		})
	}
}

func TestDecodeRejectsBadInputWithTypedErrors(t *testing.T) {
	codec := schema.NewCodec(schema.NewRegistry())
	valid := func(mutate func(m map[string]any)) []byte {
		env := schema.New("order", uuid.NewString(), sampleEvents()[1], schema.Cause{CorrelationID: uuid.NewString()}, time.Now())
		b, err := codec.Encode(env)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		mutate(m)
		b, err = json.Marshal(m)
		require.NoError(t, err)
		return b
	}

	tests := []struct {
		name    string
		input   []byte
		kind    error
		mention string
	}{
		{"not JSON", []byte("{nope"), schema.ErrMalformed, "invalid character"},
		{"trailing garbage", append(valid(func(map[string]any) {}), []byte("{}")...), schema.ErrMalformed, "trailing"},
		{"unknown type", valid(func(m map[string]any) { m["type"] = "order.exploded.v9" }), schema.ErrUnknownType, "order.exploded.v9"},
		{"missing type", valid(func(m map[string]any) { delete(m, "type") }), schema.ErrInvalid, "type"},
		{"missing data", valid(func(m map[string]any) { delete(m, "data") }), schema.ErrInvalid, "data"},
		{"data of wrong shape", valid(func(m map[string]any) { m["data"] = map[string]any{"amount": "lots"} }), schema.ErrMalformed, "amount"},
		{"missing payload field", valid(func(m map[string]any) { delete(m["data"].(map[string]any), "paymentId") }), schema.ErrInvalid, "paymentId"},
		{"id not a UUID", valid(func(m map[string]any) { m["id"] = "42" }), schema.ErrInvalid, "UUID"},
		{"missing correlation", valid(func(m map[string]any) { delete(m, "correlationId") }), schema.ErrInvalid, "correlationId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := codec.Decode(tt.input)
			require.Error(t, err)
			require.ErrorIs(t, err, tt.kind)
			var de *schema.DecodeError
			require.True(t, errors.As(err, &de))
			require.Contains(t, err.Error(), tt.mention)
		})
	}
}

func TestEncodeRefusesInvalidEvents(t *testing.T) {
	codec := schema.NewCodec(schema.NewRegistry())
	env := schema.New("order", uuid.NewString(), schema.OrderPaid{OrderID: uuid.NewString()}, schema.Cause{CorrelationID: "c"}, time.Now())
	_, err := codec.Encode(env)
	require.ErrorIs(t, err, schema.ErrInvalid)
	require.Contains(t, err.Error(), "paymentId")
}

func TestUpcasterChainReadsOldVersions(t *testing.T) {
	reg := schema.NewRegistry()
	// order.paid.v0 had "payment" instead of "paymentId" and cents as a string.
	reg.RegisterUpcaster("order.paid.v0", func(data json.RawMessage) (string, json.RawMessage, error) {
		var old struct {
			OrderID string `json:"orderId"`
			Payment string `json:"payment"`
			Cents   int64  `json:"cents,string"`
		}
		if err := json.Unmarshal(data, &old); err != nil {
			return "", nil, err
		}
		b, err := json.Marshal(schema.OrderPaid{OrderID: old.OrderID, PaymentID: old.Payment, Amount: old.Cents})
		return schema.TypeOrderPaid, b, err
	})
	typ, ev, err := reg.DecodeData("order.paid.v0", []byte(`{"orderId":"o1","payment":"p1","cents":"990"}`))
	require.NoError(t, err)
	require.Equal(t, schema.TypeOrderPaid, typ)
	require.Equal(t, schema.OrderPaid{OrderID: "o1", PaymentID: "p1", Amount: 990}, ev)

	reg.RegisterUpcaster("loop.v1", func(d json.RawMessage) (string, json.RawMessage, error) { return "loop.v1", d, nil })
	_, _, err = reg.DecodeData("loop.v1", []byte(`{}`))
	require.ErrorIs(t, err, schema.ErrUnknownType)
}
