package parking

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/orderflow/orderflow/platform/apiclient"
)

// Error is an error answer of a service's triage API, or CodeUnavailable
// when the service could not be reached.
type Error struct {
	StatusCode int
	ErrorDetail
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Code returns the code of an error from this package, "" for others.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Client calls one service's triage API (the routes Routes mounts). The
// caller's http.Client carries the service token (auth.ServiceTransport).
type Client struct {
	service string
	base    string
	hc      *http.Client
}

// NewClient returns a client of the service called service at baseURL.
func NewClient(service, baseURL string, hc *http.Client) *Client {
	return &Client{service: service, base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// Service is the name the client was made with.
func (c *Client) Service() string { return c.service }

// List returns the letters after the id after that f selects, oldest first,
// at most first of them (MaxPage if first is 0).
func (c *Client) List(ctx context.Context, f Filter, first int, after int64) (Page, error) {
	q := url.Values{}
	if first > 0 {
		q.Set("first", strconv.Itoa(first))
	}
	if after > 0 {
		q.Set("after", strconv.FormatInt(after, 10))
	}
	for k, v := range map[string]string{"topic": f.Topic, "reason": f.Reason, "kind": f.Kind, "state": f.State} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out Page
	err := c.do(ctx, http.MethodGet, "/v1/deadletters?"+q.Encode(), nil, &out)
	return out, err
}

// Get returns one letter with its audit trail.
func (c *Client) Get(ctx context.Context, id int64) (Letter, error) {
	var out Letter
	err := c.do(ctx, http.MethodGet, "/v1/deadletters/"+strconv.FormatInt(id, 10), nil, &out)
	return out, err
}

// Replay asks for one letter to be replayed (with the messages of its key
// parked behind it) and returns it as it is then.
func (c *Client) Replay(ctx context.Context, id int64, actor string) (Letter, error) {
	var out Letter
	err := c.do(ctx, http.MethodPost, "/v1/deadletters/"+strconv.FormatInt(id, 10)+"/replay", ReplayRequest{Actor: actor}, &out)
	return out, err
}

// ReplayAll asks for every waiting letter f selects to be replayed.
func (c *Client) ReplayAll(ctx context.Context, f Filter, actor string) (ReplayResult, error) {
	var out ReplayResult
	err := c.do(ctx, http.MethodPost, "/v1/deadletters/replay", ReplayRequest{Actor: actor, Filter: f}, &out)
	return out, err
}

// Discard gives up on a waiting letter, saying why, and returns it.
func (c *Client) Discard(ctx context.Context, id int64, actor, note string) (Letter, error) {
	var out Letter
	err := c.do(ctx, http.MethodPost, "/v1/deadletters/"+strconv.FormatInt(id, 10)+"/discard", DiscardRequest{Actor: actor, Note: note}, &out)
	return out, err
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	err := apiclient.Call(ctx, c.hc, c.service, method, c.base+path, body, out)
	var ae *apiclient.Error
	if errors.As(err, &ae) {
		return &Error{StatusCode: ae.StatusCode, ErrorDetail: ErrorDetail{Code: ae.Code, Message: ae.Message}}
	}
	return err
}
