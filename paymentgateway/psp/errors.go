package psp

import (
	"errors"
	"fmt"
)

// Error codes a caller can act on. They travel to the client unchanged, so
// their meaning must never change.
const (
	CodeParameterMissing      = "parameter_missing"
	CodeParameterInvalid      = "parameter_invalid"
	CodeAmountTooLarge        = "amount_too_large"
	CodeChargeNotRefundable   = "charge_not_refundable"
	CodeChargeAlreadyRefunded = "charge_already_refunded"
	CodeResourceMissing       = "resource_missing"
)

// ErrNotFound is returned by stores when a charge (or a list cursor) does not
// exist.
var ErrNotFound = errors.New("not found")

// Error is a broken rule, named by a code and, when it concerns one request
// field, by that field (Param), with a message saying what to fix.
type Error struct {
	Code    string
	Param   string
	Message string
}

func (e *Error) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("%s (%s): %s", e.Code, e.Param, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func missing(param, message string) *Error {
	return &Error{Code: CodeParameterMissing, Param: param, Message: message}
}

func invalid(param, message string) *Error {
	return &Error{Code: CodeParameterInvalid, Param: param, Message: message}
}
