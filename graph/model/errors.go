package model

import (
	"errors"
	"fmt"
)

// Error codes, sent as extensions.code.
const (
	CodeBadUserInput = "BAD_USER_INPUT"
	CodeNotFound     = "NOT_FOUND"
	CodeConflict     = "CONFLICT"
	CodeUnavailable  = "UNAVAILABLE"
	CodeInternal     = "INTERNAL"
	// CodeUnauthenticated: no token, or one that is not valid.
	CodeUnauthenticated = "UNAUTHENTICATED"
	// CodeForbidden: a valid token asked for what it may not have.
	CodeForbidden = "FORBIDDEN"
	// CodeRateLimited: the caller sent more requests than its limit.
	CodeRateLimited = "RATE_LIMITED"
)

// Error is an error a client may see: a code and a message a person can act
// on. Any other error reaching the API is reported as INTERNAL with a generic
// message, so no Go, SQL or stack text ever leaks.
type Error struct {
	Code    string
	Message string
	// Field names the input field at fault, if any.
	Field string
}

func (e *Error) Error() string { return e.Message }

// BadInput returns a BAD_USER_INPUT error about field.
func BadInput(field, message string) *Error {
	return &Error{Code: CodeBadUserInput, Message: message, Field: field}
}

// NotFound returns a NOT_FOUND error.
func NotFound(message string) *Error { return &Error{Code: CodeNotFound, Message: message} }

// OrderNotFound is the answer for an unknown order and for another
// customer's, which must not be told apart.
func OrderNotFound(id string) *Error {
	return NotFound(fmt.Sprintf("order %s does not exist", id))
}

// AfterVersionNegative is the answer for a resume cursor below 0.
func AfterVersionNegative(after int) *Error {
	return BadInput("afterVersion", fmt.Sprintf("afterVersion must be 0 or more: the version of the last order "+
		"this subscription sent you (0 to get every status change from PENDING), got %d", after))
}

// AfterVersionAhead is the answer for a resume cursor beyond the order's
// version: not a version this order was ever sent at.
func AfterVersionAhead(id string, after, version int) *Error {
	return BadInput("afterVersion", fmt.Sprintf("afterVersion %d is beyond order %s, which is at version %d: "+
		"pass the version of the last order this subscription sent you, or leave afterVersion out "+
		"to get the order as it is now", after, id, version))
}

// Unavailable returns an UNAVAILABLE error.
func Unavailable(message string) *Error { return &Error{Code: CodeUnavailable, Message: message} }

// Forbidden returns a FORBIDDEN error about field.
func Forbidden(field, message string) *Error {
	return &Error{Code: CodeForbidden, Message: message, Field: field}
}

// AsError returns err as an *Error if it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
