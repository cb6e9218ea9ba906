// Package apiclient calls orderflow's internal JSON APIs the way each of
// them answers: a JSON body in, a JSON body out on 2xx, and on an error
// {"error": {"code": …, "message": …}}. The service clients (order/client,
// platform/parking) are thin typed layers over Call; each turns an *Error
// into its own error type.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Codes Call gives an answer that did not carry one: the service could not
// be reached or answered 5xx (unavailable), or answered something else
// without a code (internal). Every service's API uses the same strings.
const (
	CodeUnavailable = "unavailable"
	CodeInternal    = "internal"
)

// Error is an error answer of a service, or CodeUnavailable when it could
// not be reached (StatusCode 0).
type Error struct {
	StatusCode int
	Code       string
	Message    string
	// Detail is the answer's "error" object as it came, for a client whose
	// API says more in it than the code and the message (the order API's
	// field problems); nil when the answer had none.
	Detail json.RawMessage
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// maxAnswer bounds how much of an answer is read.
const maxAnswer = 16 << 20

// Call sends method url with body encoded as JSON (none if nil) and
// decodes a 2xx answer into out. service names the service in messages.
// The context's end is returned as it is.
func Call(ctx context.Context, hc *http.Client, service, method, url string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return fmt.Errorf("new request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return &Error{Code: CodeUnavailable, Message: "the " + service + " service is unreachable: " + err.Error()}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return &Error{StatusCode: resp.StatusCode, Code: CodeUnavailable,
			Message: "reading the " + service + " service's answer: " + err.Error()}
	}
	if resp.StatusCode >= 300 {
		var eb struct {
			Error json.RawMessage `json:"error"`
		}
		var detail struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(b, &eb) != nil || json.Unmarshal(eb.Error, &detail) != nil || detail.Code == "" {
			code := CodeInternal
			if resp.StatusCode >= 500 {
				code = CodeUnavailable
			}
			return &Error{StatusCode: resp.StatusCode, Code: code,
				Message: fmt.Sprintf("the %s service answered %d", service, resp.StatusCode)}
		}
		return &Error{StatusCode: resp.StatusCode, Code: detail.Code, Message: detail.Message, Detail: eb.Error}
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode the %s service's answer: %w", service, err)
	}
	return nil
}
