package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// noIntrospection rejects operations that select __schema or __type when
// introspection is off. Without it gqlgen would run the operation and fail
// the field with a plain Go error, which the presenter (rightly) hides as
// INTERNAL; this way the client is told what happened, before anything runs.
type noIntrospection struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = noIntrospection{}

func (noIntrospection) ExtensionName() string                   { return "NoIntrospection" }
func (noIntrospection) Validate(graphql.ExecutableSchema) error { return nil }

func (noIntrospection) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	if opCtx.Operation == nil || !selectsIntrospection(opCtx.Doc, opCtx.Operation.SelectionSet, map[string]bool{}) {
		return nil
	}
	err := &gqlerror.Error{Message: "introspection is disabled on this server; __schema and __type cannot be queried"}
	errcode.Set(err, errcode.ValidationFailed)
	return err
}

// selectsIntrospection looks at the root fields (through fragments): only
// the query root has __schema and __type.
func selectsIntrospection(doc *ast.QueryDocument, set ast.SelectionSet, seen map[string]bool) bool {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name == "__schema" || s.Name == "__type" {
				return true
			}
		case *ast.InlineFragment:
			if selectsIntrospection(doc, s.SelectionSet, seen) {
				return true
			}
		case *ast.FragmentSpread:
			if seen[s.Name] {
				continue
			}
			seen[s.Name] = true
			def := s.Definition
			if def == nil && doc != nil {
				def = doc.Fragments.ForName(s.Name)
			}
			if def != nil && selectsIntrospection(doc, def.SelectionSet, seen) {
				return true
			}
		}
	}
	return false
}
