// Package client is the Go client of the payment gateway, for the services
// that charge and refund through it. It keeps the three outcomes a caller must
// tell apart distinct: a declined card is not an error but a Charge with
// Status "failed"; a request the gateway refused is an *Error with a code; and
// a gateway that could not be reached or answered 5xx is an *Error whose
// Temporary method says to retry with the same idempotency key.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Charge statuses.
const (
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// maxResponse bounds how much of an answer is read.
const maxResponse = 4 << 20

// ChargeRequest asks to charge a card. Amount is in minor units.
type ChargeRequest struct {
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Source      string `json:"source"`
	Reference   string `json:"reference,omitempty"`
	Description string `json:"description,omitempty"`
}

// Charge is a charge as the gateway keeps it. A declined charge has Status
// "failed" and a FailureCode (card_declined, insufficient_funds,
// invalid_payment_method).
type Charge struct {
	ID             string    `json:"id"`
	Amount         int64     `json:"amount"`
	Currency       string    `json:"currency"`
	Source         string    `json:"source"`
	Reference      string    `json:"reference"`
	Description    string    `json:"description"`
	Status         string    `json:"status"`
	FailureCode    string    `json:"failure_code"`
	FailureMessage string    `json:"failure_message"`
	AmountRefunded int64     `json:"amount_refunded"`
	Refunded       bool      `json:"refunded"`
	Refunds        []Refund  `json:"refunds"`
	Created        time.Time `json:"created"`
}

// RefundRequest asks to refund a charge. A zero Amount refunds all that is
// left.
type RefundRequest struct {
	Charge string `json:"charge"`
	Amount int64  `json:"amount,omitempty"`
}

// Refund is money given back on a charge.
type Refund struct {
	ID       string    `json:"id"`
	Charge   string    `json:"charge"`
	Amount   int64     `json:"amount"`
	Currency string    `json:"currency"`
	Status   string    `json:"status"`
	Created  time.Time `json:"created"`
}

// ListParams selects a page of charges, oldest first. A zero Limit lets the
// gateway choose (10); at most 100.
type ListParams struct {
	Reference     string
	Limit         int
	StartingAfter string
}

// ChargeList is one page of charges.
type ChargeList struct {
	Data    []Charge `json:"data"`
	HasMore bool     `json:"has_more"`
}

// Client calls one payment gateway.
type Client struct {
	base string
	hc   *http.Client
}

// New returns a client of the gateway at baseURL (e.g. http://127.0.0.1:8083).
// A nil hc gets a client of its own. Give each call a deadline through its
// context: the gateway may answer late on purpose.
func New(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// CreateCharge charges a card. Reuse idempotencyKey when retrying the same
// charge: the gateway then returns the first charge instead of making
// another. A decline returns the declined charge and a nil error.
func (c *Client) CreateCharge(ctx context.Context, idempotencyKey string, req ChargeRequest) (Charge, error) {
	var out struct {
		Charge
		Declined *Charge `json:"charge"`
	}
	status, err := c.do(ctx, http.MethodPost, "/v1/charges", idempotencyKey, req, &out, http.StatusPaymentRequired)
	if err != nil {
		return Charge{}, fmt.Errorf("create charge: %w", err)
	}
	if status == http.StatusPaymentRequired {
		if out.Declined == nil {
			return Charge{}, fmt.Errorf("create charge: %w", &Error{StatusCode: status, Code: "invalid_response",
				Message: "402 answer without the declined charge"})
		}
		return *out.Declined, nil
	}
	return out.Charge, nil
}

// CreateRefund gives money back on a charge. Reuse idempotencyKey when
// retrying the same refund.
func (c *Client) CreateRefund(ctx context.Context, idempotencyKey string, req RefundRequest) (Refund, error) {
	var out Refund
	if _, err := c.do(ctx, http.MethodPost, "/v1/refunds", idempotencyKey, req, &out); err != nil {
		return Refund{}, fmt.Errorf("create refund: %w", err)
	}
	return out, nil
}

// GetCharge returns a charge with its refunds. An unknown id is an *Error
// with StatusCode 404 and Code "resource_missing".
func (c *Client) GetCharge(ctx context.Context, id string) (Charge, error) {
	var out Charge
	if _, err := c.do(ctx, http.MethodGet, "/v1/charges/"+url.PathEscape(id), "", nil, &out); err != nil {
		return Charge{}, fmt.Errorf("get charge: %w", err)
	}
	return out, nil
}

// ListCharges returns one page of the ledger, oldest first.
func (c *Client) ListCharges(ctx context.Context, p ListParams) (ChargeList, error) {
	q := url.Values{}
	if p.Reference != "" {
		q.Set("reference", p.Reference)
	}
	if p.Limit != 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.StartingAfter != "" {
		q.Set("starting_after", p.StartingAfter)
	}
	path := "/v1/charges"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out ChargeList
	if _, err := c.do(ctx, http.MethodGet, path, "", nil, &out); err != nil {
		return ChargeList{}, fmt.Errorf("list charges: %w", err)
	}
	return out, nil
}

// AllCharges walks every charge selected by p (from p.StartingAfter on),
// page after page. It stops at the first error, which it yields.
func (c *Client) AllCharges(ctx context.Context, p ListParams) iter.Seq2[Charge, error] {
	return func(yield func(Charge, error) bool) {
		for {
			page, err := c.ListCharges(ctx, p)
			if err != nil {
				yield(Charge{}, err)
				return
			}
			for _, ch := range page.Data {
				if !yield(ch, nil) {
					return
				}
			}
			if !page.HasMore || len(page.Data) == 0 {
				return
			}
			p.StartingAfter = page.Data[len(page.Data)-1].ID
		}
	}
}

// do sends one request and decodes a 2xx answer (or one of the also
// statuses) into out. Any other answer, and any failure to get one, is an
// *Error.
func (c *Client) do(ctx context.Context, method, path, key string, in, out any, also ...int) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("encode: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, &Error{Code: CodeNetwork, Message: "the payment gateway could not be reached", Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return resp.StatusCode, &Error{StatusCode: resp.StatusCode, Code: CodeNetwork,
			Message: "the answer of the payment gateway was cut off", Err: err}
	}

	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	for _, s := range also {
		ok = ok || resp.StatusCode == s
	}
	if !ok {
		return resp.StatusCode, parseError(resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return resp.StatusCode, &Error{StatusCode: resp.StatusCode, Code: CodeInvalidResponse,
			Message: "the answer of the payment gateway is not the expected JSON", Err: err}
	}
	return resp.StatusCode, nil
}

func parseError(status int, raw []byte) *Error {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Param   string `json:"param"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &body); err != nil || body.Error.Code == "" {
		// Not the gateway's own answer (a proxy's, say): keep what is known.
		return &Error{StatusCode: status, Code: "http_" + strconv.Itoa(status), Message: http.StatusText(status)}
	}
	return &Error{StatusCode: status, Code: body.Error.Code, Param: body.Error.Param, Message: body.Error.Message}
}
