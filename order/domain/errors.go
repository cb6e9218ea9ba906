package domain

import (
	"errors"
	"fmt"
	"strings"
)

// Code classifies an error for the edges (HTTP, GraphQL), wtf-style.
type Code string

// Error codes.
const (
	CodeInvalid  Code = "invalid"   // the input breaks a rule; fix it and retry
	CodeNotFound Code = "not_found" // no such order
	CodeConflict Code = "conflict"  // the request conflicts with what is stored
	CodeInternal Code = "internal"
)

// Error is an error with a code and a message a person can act on.
type Error struct {
	Code    Code
	Message string
	// Problems lists each broken rule of an invalid input, by field.
	Problems []Problem
}

// Problem is one broken input rule.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// ErrorCode returns the code of err, CodeInternal if it has none.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Errorf returns an *Error with code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func invalid(problems []Problem) *Error {
	parts := make([]string, len(problems))
	for i, p := range problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return &Error{Code: CodeInvalid, Message: "invalid order: " + strings.Join(parts, "; "), Problems: problems}
}

// ErrIllegalTransition means a command does not apply to the order's status.
// Events that would make such a transition are refused, never applied.
var ErrIllegalTransition = errors.New("illegal status transition")
