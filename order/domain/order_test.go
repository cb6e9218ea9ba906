package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/order/domain"
	"github.com/orderflow/orderflow/schema"
)

func validOrder() domain.NewOrder {
	return domain.NewOrder{
		CustomerID: uuid.NewString(), Currency: "EUR", PaymentMethod: "tok_visa",
		Items: []domain.Item{{SKU: "book", Quantity: 2, UnitPrice: 1250}, {SKU: "pen", Quantity: 1, UnitPrice: 199}},
	}
}

func TestValidateComputesTheTotal(t *testing.T) {
	total, err := validOrder().Validate()
	require.NoError(t, err)
	require.EqualValues(t, 2699, total)
}

func TestValidateRejectsEachBrokenRule(t *testing.T) {
	manyItems := make([]domain.Item, domain.MaxItems+1)
	for i := range manyItems {
		manyItems[i] = domain.Item{SKU: "x", Quantity: 1, UnitPrice: 1}
	}
	tests := []struct {
		name   string
		mutate func(*domain.NewOrder)
		field  string
	}{
		{"customer not a UUID", func(n *domain.NewOrder) { n.CustomerID = "bob" }, "customerId"},
		{"unknown currency", func(n *domain.NewOrder) { n.Currency = "XYZ" }, "currency"},
		{"lower-case currency", func(n *domain.NewOrder) { n.Currency = "eur" }, "currency"},
		{"empty payment method", func(n *domain.NewOrder) { n.PaymentMethod = "  " }, "paymentMethod"},
		{"no items", func(n *domain.NewOrder) { n.Items = nil }, "items"},
		{"too many items", func(n *domain.NewOrder) { n.Items = manyItems }, "items"},
		{"quantity zero", func(n *domain.NewOrder) { n.Items[0].Quantity = 0 }, "items[0].quantity"},
		{"quantity too large", func(n *domain.NewOrder) { n.Items[1].Quantity = 1001 }, "items[1].quantity"},
		{"unit price zero", func(n *domain.NewOrder) { n.Items[0].UnitPrice = 0 }, "items[0].unitPrice"},
		{"unit price huge", func(n *domain.NewOrder) { n.Items[0].UnitPrice = 1 << 62 }, "items[0].unitPrice"},
		{"empty sku", func(n *domain.NewOrder) { n.Items[0].SKU = "" }, "items[0].sku"},
		{"total too large", func(n *domain.NewOrder) {
			n.Items = []domain.Item{{SKU: "car", Quantity: 1000, UnitPrice: 100_001}}
		}, "items"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := validOrder()
			tt.mutate(&n)
			_, err := n.Validate()
			require.Error(t, err)
			require.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
			var de *domain.Error
			require.ErrorAs(t, err, &de)
			require.Equal(t, tt.field, de.Problems[0].Field)
			require.Contains(t, err.Error(), tt.field)
		})
	}
}

func TestValidateListsEveryProblemAtOnce(t *testing.T) {
	_, err := domain.NewOrder{Currency: "??"}.Validate()
	var de *domain.Error
	require.ErrorAs(t, err, &de)
	require.Len(t, de.Problems, 4) // customerId, currency, paymentMethod, items
}

// build folds the given events (payloads) into an order, as the store would.
func build(t *testing.T, payloads ...schema.Event) *domain.Order {
	t.Helper()
	o := &domain.Order{}
	for i, p := range payloads {
		env := schema.New(schema.AggregateOrder, "o1", p, schema.Cause{CorrelationID: "o1"}, time.Now())
		env.Version = i + 1
		require.NoError(t, o.Apply(env))
	}
	return o
}

func TestStatusTransitions(t *testing.T) {
	created, err := domain.Create("o1", validOrder())
	require.NoError(t, err)
	paid := schema.OrderPaid{OrderID: "o1", PaymentID: "p1", Amount: 2699}
	requested := schema.OrderCancellationRequested{OrderID: "o1", Reason: schema.ReasonCustomerRequest}
	cancelled := schema.OrderCancelled{OrderID: "o1", Reason: schema.ReasonCustomerRequest}

	pending := func() *domain.Order { return build(t, created) }
	paidOrder := func() *domain.Order { return build(t, created, paid) }
	cancelling := func() *domain.Order { return build(t, created, requested) }
	cancelledOrder := func() *domain.Order { return build(t, created, requested, cancelled) }

	tests := []struct {
		name    string
		order   func() *domain.Order
		command func(o *domain.Order) ([]schema.Event, error)
		want    []string // event types recorded
		illegal bool
	}{
		{"pending is paid", pending, func(o *domain.Order) ([]schema.Event, error) { return o.MarkPaid("p1", 2699) }, []string{schema.TypeOrderPaid}, false},
		{"paid again by the same payment: nothing", paidOrder, func(o *domain.Order) ([]schema.Event, error) { return o.MarkPaid("p1", 2699) }, nil, false},
		{"paid by another payment: refused", paidOrder, func(o *domain.Order) ([]schema.Event, error) { return o.MarkPaid("p2", 2699) }, nil, true},
		{"capture while cancelling: left to compensation", cancelling, func(o *domain.Order) ([]schema.Event, error) { return o.MarkPaid("p1", 2699) }, nil, false},
		{"customer cancels pending", pending, func(o *domain.Order) ([]schema.Event, error) {
			return o.RequestCancellation(schema.ReasonCustomerRequest, "")
		}, []string{schema.TypeOrderCancellationRequested}, false},
		{"customer cancels paid", paidOrder, func(o *domain.Order) ([]schema.Event, error) {
			return o.RequestCancellation(schema.ReasonCustomerRequest, "")
		}, []string{schema.TypeOrderCancellationRequested}, false},
		{"cancel a cancelled order: nothing", cancelledOrder, func(o *domain.Order) ([]schema.Event, error) {
			return o.RequestCancellation(schema.ReasonCustomerRequest, "")
		}, nil, false},
		{"timeout on pending cancels", pending, func(o *domain.Order) ([]schema.Event, error) {
			return o.DecideCancellation(schema.ReasonPaymentTimeout)
		}, []string{schema.TypeOrderCancellationRequested}, false},
		{"timeout on paid: stays paid", paidOrder, func(o *domain.Order) ([]schema.Event, error) {
			return o.DecideCancellation(schema.ReasonPaymentTimeout)
		}, nil, false},
		{"complete a cancelling order", cancelling, func(o *domain.Order) ([]schema.Event, error) {
			return o.CompleteCancellation(schema.ReasonCustomerRequest, false)
		}, []string{schema.TypeOrderCancelled}, false},
		{"complete twice: nothing", cancelledOrder, func(o *domain.Order) ([]schema.Event, error) {
			return o.CompleteCancellation(schema.ReasonCustomerRequest, false)
		}, nil, false},
		{"complete without a request: refused", pending, func(o *domain.Order) ([]schema.Event, error) {
			return o.CompleteCancellation(schema.ReasonCustomerRequest, false)
		}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.order()
			before := *o
			events, err := tt.command(o)
			if tt.illegal {
				require.ErrorIs(t, err, domain.ErrIllegalTransition)
			} else {
				require.NoError(t, err)
			}
			var types []string
			for _, e := range events {
				types = append(types, e.EventType())
			}
			require.Equal(t, tt.want, types)
			require.Equal(t, before.Status, o.Status, "a command does not change state by itself")
		})
	}
}

func TestApplyRefusesIllegalEvents(t *testing.T) {
	created, err := domain.Create("o1", validOrder())
	require.NoError(t, err)
	o := build(t, created)
	env := schema.New(schema.AggregateOrder, "o1", schema.OrderCancelled{OrderID: "o1", Reason: "X"}, schema.Cause{CorrelationID: "o1"}, time.Now())
	env.Version = 2
	err = o.Apply(env)
	require.ErrorIs(t, err, domain.ErrIllegalTransition)
	require.Equal(t, domain.StatusPending, o.Status)
	require.True(t, strings.Contains(err.Error(), "PENDING"))
}
