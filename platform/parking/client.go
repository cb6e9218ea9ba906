package parking

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("new request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return &Error{ErrorDetail: ErrorDetail{Code: CodeUnavailable,
			Message: "the " + c.service + " service is unreachable: " + err.Error()}}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return &Error{StatusCode: resp.StatusCode, ErrorDetail: ErrorDetail{Code: CodeUnavailable,
			Message: "reading the " + c.service + " service's answer: " + err.Error()}}
	}
	if resp.StatusCode >= 300 {
		var eb ErrorBody
		if json.Unmarshal(b, &eb) != nil || eb.Error.Code == "" {
			code := CodeInternal
			if resp.StatusCode >= 500 {
				code = CodeUnavailable
			}
			eb.Error = ErrorDetail{Code: code, Message: fmt.Sprintf("the %s service answered %d", c.service, resp.StatusCode)}
		}
		return &Error{StatusCode: resp.StatusCode, ErrorDetail: eb.Error}
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode the %s service's answer: %w", c.service, err)
	}
	return nil
}
