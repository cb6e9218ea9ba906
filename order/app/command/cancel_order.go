package command

import (
	"context"

	"github.com/orderflow/orderflow/order/domain"
	"github.com/orderflow/orderflow/schema"
)

// CancelOrder is a customer's request to cancel an order.
type CancelOrder struct {
	OrderID     string
	Note        string
	RequestID   string
	TraceParent string
}

// CancelOrdersHandler moves a PENDING or PAID order to CANCELLING; the
// compensation service takes it to CANCELLED, refunding what was captured.
// Cancelling a cancelling or cancelled order changes nothing and returns it.
type CancelOrdersHandler struct{ now Clock }

// NewCancelOrdersHandler returns the handler; now stamps recorded events.
func NewCancelOrdersHandler(now Clock) CancelOrdersHandler { return CancelOrdersHandler{now: now} }

// Handle decides on each of cmds in orders, in order, and returns one
// result per command: the order after it, or the command's own error (no
// such order). An error return means the batch must not commit.
func (h CancelOrdersHandler) Handle(ctx context.Context, orders Orders, cmds []CancelOrder) ([]Result, error) {
	ids := make([]string, len(cmds))
	for i, cmd := range cmds {
		ids[i] = cmd.OrderID
	}
	if err := orders.Load(ctx, ids...); err != nil {
		return nil, err
	}
	out := make([]Result, len(cmds))
	for i, cmd := range cmds {
		o, err := h.cancel(ctx, orders, cmd)
		if err != nil && domain.ErrorCode(err) == domain.CodeInternal {
			return nil, err
		}
		out[i] = Result{Value: o, Err: err}
	}
	return out, nil
}

func (h CancelOrdersHandler) cancel(ctx context.Context, orders Orders, cmd CancelOrder) (domain.Order, error) {
	cause := schema.Cause{CausationID: cmd.RequestID, TraceParent: cmd.TraceParent}
	return decide(ctx, orders, cmd.OrderID, cause, h.now, func(o domain.Order) ([]schema.Event, error) {
		return o.RequestCancellation(schema.ReasonCustomerRequest, cmd.Note)
	})
}
