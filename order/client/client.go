// Package client calls the order service's command API. The gateway uses it;
// errors come back as *Error with the service's code, so the caller can map
// them (invalid input, not found, conflict, unavailable) without parsing text.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/orderflow/orderflow/order/api"
	"github.com/orderflow/orderflow/platform/apiclient"
)

// Error is an error answer of the order service, or CodeUnavailable when it
// could not be reached.
type Error struct {
	StatusCode int
	api.ErrorDetail
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Client talks to one order service.
type Client struct {
	base string
	hc   *http.Client
}

// New returns a client for the service at baseURL (e.g. http://127.0.0.1:8081).
// If hc has no Transport, the client uses NewTransport's pool.
func New(baseURL string, hc *http.Client) *Client {
	if hc.Transport == nil {
		pooled := *hc
		pooled.Transport = NewTransport()
		hc = &pooled
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// MaxIdleConnsPerHost is how many idle keep-alive connections NewTransport
// keeps to the order service: as many as concurrent commands are expected
// (the gateway's mutations, group-committed by the service), so a burst
// reuses connections instead of opening and closing TCP connections — the
// default transport keeps 2.
const MaxIdleConnsPerHost = 128

// NewTransport returns the default transport with a keep-alive pool sized
// for concurrent calls to one service.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 2 * MaxIdleConnsPerHost
	t.MaxIdleConnsPerHost = MaxIdleConnsPerHost
	return t
}

// CreateOrder places an order and returns it as stored.
func (c *Client) CreateOrder(ctx context.Context, req api.CreateOrderRequest) (api.Order, error) {
	var out api.Order
	err := c.do(ctx, http.MethodPost, "/v1/orders", req, &out)
	return out, err
}

// CancelOrder asks for an order to be cancelled and returns it.
func (c *Client) CancelOrder(ctx context.Context, id string, req api.CancelOrderRequest) (api.Order, error) {
	var out api.Order
	err := c.do(ctx, http.MethodPost, "/v1/orders/"+url.PathEscape(id)+"/cancel", req, &out)
	return out, err
}

// GetOrder returns an order from its event stream.
func (c *Client) GetOrder(ctx context.Context, id string) (api.Order, error) {
	var out api.Order
	err := c.do(ctx, http.MethodGet, "/v1/orders/"+url.PathEscape(id), nil, &out)
	return out, err
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	err := apiclient.Call(ctx, c.hc, "order", method, c.base+path, body, out)
	var ae *apiclient.Error
	if errors.As(err, &ae) {
		detail := api.ErrorDetail{Code: ae.Code, Message: ae.Message}
		if ae.Detail != nil {
			_ = json.Unmarshal(ae.Detail, &detail) // its field problems; code and message are read already
		}
		return &Error{StatusCode: ae.StatusCode, ErrorDetail: detail}
	}
	return err
}

// Code returns the code of an error from this package, "" for others.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
