package model

import "errors"

// Error codes, sent as extensions.code.
const (
	CodeBadUserInput = "BAD_USER_INPUT"
	CodeNotFound     = "NOT_FOUND"
	CodeConflict     = "CONFLICT"
	CodeUnavailable  = "UNAVAILABLE"
	CodeInternal     = "INTERNAL"
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

// Unavailable returns an UNAVAILABLE error.
func Unavailable(message string) *Error { return &Error{Code: CodeUnavailable, Message: message} }

// AsError returns err as an *Error if it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
