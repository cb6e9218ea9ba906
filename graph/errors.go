package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/orderflow/orderflow/graph/model"
)

// Codes of errors about the request itself rather than about an operation
// (model.Code* are the codes of the API's own errors).
const (
	// CodeBadRequest: the body is not a GraphQL request (broken JSON, wrong
	// content type, bad persisted-query data).
	CodeBadRequest = "BAD_REQUEST"
	// CodePayloadTooLarge: the body is larger than Options.MaxBodyBytes.
	CodePayloadTooLarge = "PAYLOAD_TOO_LARGE"
)

// isInputRule reports whether a failure of the named validation rule means
// a bad argument value rather than a bad query: a wrong enum value or type,
// or a missing required argument. They are reported as BAD_USER_INPUT, like
// bad variable values.
func isInputRule(rule string) bool {
	return rule == "ValuesOfCorrectType" || rule == "ProvidedRequiredArguments"
}

// ErrorPresenter returns the one place where errors become what clients
// see. Every error that reaches a client passes through it:
//
//   - *model.Error (from resolvers and the gateway's adapters): its message
//     as is, extensions.code and, if set, extensions.field.
//   - gqlgen and gqlparser errors (parse, validation, limits): their message
//     and code (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED,
//     COMPLEXITY_LIMIT_EXCEEDED, QUERY_TOO_DEEP, …), except that bad
//     argument and variable values (wrong enum, missing required argument,
//     wrong type) become BAD_USER_INPUT; one without a code is BAD_REQUEST.
//   - a deadline: UNAVAILABLE, "the request took too long".
//   - anything else: INTERNAL with a generic message naming the request id,
//     and the real error goes to log, never to the client.
func ErrorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		return present(ctx, log, err)
	}
}

func present(ctx context.Context, log *slog.Logger, err error) *gqlerror.Error {
	if err == nil {
		return nil
	}
	// The wrapper gqlgen puts around a resolver error carries the path and
	// location; the client-facing message and code come from err.
	var wrapper *gqlerror.Error
	errors.As(err, &wrapper)
	out := &gqlerror.Error{}
	if wrapper != nil {
		out.Path, out.Locations = wrapper.Path, wrapper.Locations
	}
	if out.Path == nil {
		out.Path = graphql.GetPath(ctx)
	}

	if me, ok := model.AsError(err); ok {
		out.Message = me.Message
		out.Extensions = map[string]any{"code": me.Code}
		if me.Field != "" {
			out.Extensions["field"] = me.Field
		}
		return out
	}

	// An error made by gqlgen or gqlparser themselves (not wrapping a Go
	// error) is meant for the client.
	if wrapper != nil && wrapper.Err == nil {
		return presentGraphQLError(wrapper)
	}

	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		log.WarnContext(ctx, "graphql: request timed out", "request_id", requestIDFrom(ctx), "path", out.Path.String(), "err", err)
		out.Message = "the request took too long; try again later"
		out.Extensions = map[string]any{"code": model.CodeUnavailable}
		return out
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		// The client went away; nobody will read this.
		out.Message = "the request was cancelled"
		out.Extensions = map[string]any{"code": model.CodeUnavailable}
		return out
	}

	if field, cause, ok := argumentError(ctx, wrapper); ok {
		// gqlgen could not turn an argument into its Go type although it
		// passed validation (an enum variable in the wrong case, an Int
		// beyond 32 bits): the text comes from the unmarshaler and describes
		// the client's value.
		out.Path = graphql.GetPath(ctx)
		out.Message = fmt.Sprintf("%s: %s", field, cause)
		out.Extensions = map[string]any{"code": model.CodeBadUserInput, "field": field}
		return out
	}

	id := requestIDFrom(ctx)
	log.ErrorContext(ctx, "graphql: internal error", "request_id", id, "path", out.Path.String(), "err", err)
	out.Message = internalMessage(id)
	out.Extensions = map[string]any{"code": model.CodeInternal}
	return out
}

// presentGraphQLError keeps a gqlgen/gqlparser error, recoding bad input
// values as BAD_USER_INPUT. It copies: gqlgen may still look at the
// original's code to pick the HTTP status.
func presentGraphQLError(e *gqlerror.Error) *gqlerror.Error {
	out := *e
	out.Extensions = make(map[string]any, len(e.Extensions)+1)
	for k, v := range e.Extensions {
		out.Extensions[k] = v
	}
	code, _ := out.Extensions["code"].(string)
	switch {
	case code == errcode.ValidationFailed && isVariablePath(e.Path):
		// gqlparser's text ("must be defined", "cannot use string as Int")
		// does not say which variable; the path does.
		out.Message = fmt.Sprintf("variable $%s: %s", argumentPath(e.Path[1:]), e.Message)
		out.Extensions["code"] = model.CodeBadUserInput
	case code == errcode.ValidationFailed && isInputRule(e.Rule):
		out.Extensions["code"] = model.CodeBadUserInput
	case code == "":
		out.Message, code = cleanTransportMessage(out.Message)
		out.Extensions["code"] = code
	}
	return &out
}

// isVariablePath reports whether path points into the variables, which is
// where gqlparser reports values that cannot be coerced to their type.
func isVariablePath(p ast.Path) bool {
	if len(p) == 0 {
		return false
	}
	name, ok := p[0].(ast.PathName)
	return ok && name == "variable"
}

// cleanTransportMessage rewrites gqlgen's message about an undecodable body,
// which ends with a copy of the whole body, to one that ends at the reason.
func cleanTransportMessage(msg string) (string, string) {
	const prefix = "json request body could not be decoded: "
	if rest, ok := strings.CutPrefix(msg, prefix); ok {
		if i := strings.Index(rest, " body:"); i >= 0 {
			rest = rest[:i]
		}
		return "the request body is not a valid GraphQL request (a JSON object with \"query\", and optionally \"variables\" and \"operationName\"): " + rest, CodeBadRequest
	}
	return msg, CodeBadRequest
}

// argumentError reports whether err came from turning the current field's
// arguments into Go values, and if so which argument (input.items[0].sku)
// and why. gqlgen reports that with the field context whose Args it failed
// to set; a field that has arguments and a resolver error always has them
// set.
func argumentError(ctx context.Context, wrapper *gqlerror.Error) (field, cause string, ok bool) {
	fc := graphql.GetFieldContext(ctx)
	if wrapper == nil || fc == nil || fc.Args != nil || fc.Field.Definition == nil || len(fc.Field.Definition.Arguments) == 0 {
		return "", "", false
	}
	// The innermost gqlerror has the full path (the field's path, then the
	// argument's) and wraps the unmarshaler's error.
	inner := wrapper
	for {
		var next *gqlerror.Error
		if inner.Err == nil || !errors.As(inner.Err, &next) {
			break
		}
		inner = next
	}
	fieldPath := fc.Path()
	if len(inner.Path) <= len(fieldPath) {
		return "", "", false
	}
	cause = inner.Message
	if inner.Err != nil {
		cause = inner.Err.Error()
	}
	return argumentPath(inner.Path[len(fieldPath):]), cause, true
}

// argumentPath renders an argument path as input.items[0].sku.
func argumentPath(p ast.Path) string {
	var b strings.Builder
	for _, e := range p {
		switch e := e.(type) {
		case ast.PathName:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(e))
		case ast.PathIndex:
			fmt.Fprintf(&b, "[%d]", int(e))
		}
	}
	return b.String()
}

func internalMessage(requestID string) string {
	return "internal error; the request id is " + requestID
}

// RecoverFunc returns gqlgen's panic handler: it logs the panic with its
// stack and turns it into an INTERNAL error (which ErrorPresenter keeps).
func RecoverFunc(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		id := requestIDFrom(ctx)
		log.ErrorContext(ctx, "graphql: panic", "request_id", id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return &gqlerror.Error{
			Message:    internalMessage(id),
			Extensions: map[string]any{"code": model.CodeInternal},
		}
	}
}
