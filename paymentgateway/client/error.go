package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Codes the client itself gives to failures that carry no gateway answer.
const (
	// CodeNetwork: no (complete) answer arrived — refused, reset, timed out.
	CodeNetwork = "network_error"
	// CodeInvalidResponse: an answer arrived that is not what the API promises.
	CodeInvalidResponse = "invalid_response"
)

// Error is a call that did not get the answer it asked for. StatusCode is
// the HTTP status, or 0 when no answer arrived (Code is then CodeNetwork and
// Err holds the cause, so errors.Is(err, context.DeadlineExceeded) works).
type Error struct {
	StatusCode int
	Code       string
	Param      string
	Message    string
	Err        error
}

func (e *Error) Error() string {
	if e.StatusCode == 0 {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	if e.Param != "" {
		return fmt.Sprintf("%d %s (%s): %s", e.StatusCode, e.Code, e.Param, e.Message)
	}
	return fmt.Sprintf("%d %s: %s", e.StatusCode, e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether the same call, with the same idempotency key, may
// succeed later: the gateway answered 5xx or 429, or could not be reached or
// did not answer in time. A call the caller cancelled is not temporary, nor is
// any other 4xx.
func (e *Error) Temporary() bool {
	if e.Code == CodeNetwork {
		// Refused, reset, timed out or cut off: the gateway is down, slow or
		// restarting. Only the caller's own cancel is final.
		return !errors.Is(e.Err, context.Canceled)
	}
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// Temporary reports whether err (from any Client method) is an *Error that is
// Temporary.
func Temporary(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Temporary()
}
