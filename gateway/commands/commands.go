// Package commands sends the gateway's mutations to the order service — the
// source of truth — and maps its answers to the API's model and its errors to
// the API's codes, with messages a person can act on.
package commands

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/order/api"
	orderclient "github.com/orderflow/orderflow/order/client"
)

// Client implements graph.Commands over the order service's command API.
type Client struct {
	orders *orderclient.Client
}

// New returns a client of the order service at baseURL. An hc without a
// Transport gets a keep-alive pool sized for concurrent mutations
// (orderclient.NewTransport), so a burst of them does not open a TCP
// connection each.
func New(baseURL string, hc *http.Client) *Client {
	return &Client{orders: orderclient.New(baseURL, hc)}
}

// CreateOrder places an order and returns it as the order service stored it.
func (c *Client) CreateOrder(ctx context.Context, in model.CreateOrderInput) (*model.Order, error) {
	req := api.CreateOrderRequest{
		Currency: in.Currency, PaymentMethod: in.PaymentMethod, Items: make([]api.Item, len(in.Items)),
	}
	if in.CustomerID != nil {
		req.CustomerID = *in.CustomerID
	}
	for i, it := range in.Items {
		req.Items[i] = api.Item{SKU: it.Sku, Quantity: it.Quantity, UnitPrice: int64(it.UnitPrice)}
	}
	if in.IdempotencyKey != nil {
		req.IdempotencyKey = *in.IdempotencyKey
	}
	o, err := c.orders.CreateOrder(ctx, req)
	if err != nil {
		return nil, mapError(err, "input.")
	}
	return ToModel(o), nil
}

// CancelOrder asks for an order to be cancelled and returns it.
func (c *Client) CancelOrder(ctx context.Context, id string, reason *string) (*model.Order, error) {
	var req api.CancelOrderRequest
	if reason != nil {
		req.Reason = *reason
	}
	o, err := c.orders.CancelOrder(ctx, id, req)
	if err != nil {
		return nil, mapError(err, "")
	}
	return ToModel(o), nil
}

// Order reads the order from the order service, (nil, nil) if it does not
// know it: the fallback of ownership checks and of the status feed for an
// order created a moment ago that the read model and the mirror have not
// seen yet.
func (c *Client) Order(ctx context.Context, id string) (*model.Order, error) {
	o, err := c.orders.GetOrder(ctx, id)
	switch orderclient.Code(err) {
	case "":
		if err != nil {
			return nil, mapError(err, "")
		}
		return ToModel(o), nil
	case api.CodeNotFound, api.CodeInvalid:
		return nil, nil
	default:
		return nil, mapError(err, "")
	}
}

// Exists reports whether the order service knows the order.
func (c *Client) Exists(ctx context.Context, id string) (bool, error) {
	o, err := c.Order(ctx, id)
	return o != nil, err
}

// mapError turns the order service's error into the API's; fieldPrefix
// places the service's field names in the GraphQL input ("input.items[0]…").
func mapError(err error, fieldPrefix string) error {
	var ce *orderclient.Error
	if !errors.As(err, &ce) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return model.Unavailable("the order service did not answer in time; retry (with the same idempotencyKey)")
		}
		return err // presented as INTERNAL, the text is logged, not shown
	}
	switch ce.Code {
	case api.CodeInvalid:
		e := model.BadInput("", ce.Message)
		if len(ce.Problems) > 0 {
			parts := make([]string, len(ce.Problems))
			for i, p := range ce.Problems {
				parts[i] = fieldPrefix + p.Field + ": " + p.Message
			}
			e.Message = "invalid input: " + strings.Join(parts, "; ")
			e.Field = fieldPrefix + ce.Problems[0].Field
		}
		return e
	case api.CodeNotFound:
		return model.NotFound(ce.Message)
	case api.CodeConflict:
		return &model.Error{Code: model.CodeConflict, Message: ce.Message}
	default:
		return model.Unavailable("the order service is unavailable; retry (with the same idempotencyKey)")
	}
}

// ToModel converts the order service's view to the API's. The payment is not
// the order service's to tell: it comes from the read model.
func ToModel(o api.Order) *model.Order {
	out := &model.Order{
		ID: o.ID, CustomerID: o.CustomerID, Status: model.OrderStatus(o.Status), Currency: o.Currency,
		Total: int(o.Total), Version: o.Version, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
		Items: make([]*model.OrderItem, len(o.Items)), History: make([]*model.OrderEvent, len(o.History)),
	}
	if o.CancellationReason != "" {
		reason := o.CancellationReason
		out.CancellationReason = &reason
	}
	for i, it := range o.Items {
		out.Items[i] = &model.OrderItem{Sku: it.SKU, Quantity: it.Quantity, UnitPrice: int(it.UnitPrice)}
	}
	for i, h := range o.History {
		out.History[i] = &model.OrderEvent{Type: h.Type, Version: h.Version, OccurredAt: h.OccurredAt}
	}
	return out
}
