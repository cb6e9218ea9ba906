package graph

import (
	"context"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// CodeQueryTooDeep is the extensions.code of an operation rejected by the
// depth limit. Like gqlgen's COMPLEXITY_LIMIT_EXCEEDED it is a code of its
// own (not BAD_USER_INPUT): the client has to change the query, not a value.
const CodeQueryTooDeep = "QUERY_TOO_DEEP"

// depthLimit rejects operations that nest fields deeper than max. gqlgen
// has complexity but no depth limit. Depth counts fields on the longest
// path: { order { id } } has depth 2. Fragments count where they are
// spread; introspection fields (__schema, __type, __typename) do not count,
// since their depth is fixed by the introspection schema (and gqlparser
// already bounds it) and GraphiQL's own introspection query is deep.
type depthLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext runs after validation, so the document is known to
// be valid (in particular its fragments have no cycles).
func (d depthLimit) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	if opCtx.Operation == nil {
		return nil
	}
	w := depthWalker{doc: opCtx.Doc, memo: map[string]int{}, inPath: map[string]bool{}}
	if depth := w.selectionSet(opCtx.Operation.SelectionSet); depth > d.max {
		return &gqlerror.Error{
			Message:    fmt.Sprintf("query depth %d exceeds the maximum of %d; select fewer nested fields", depth, d.max),
			Extensions: map[string]any{"code": CodeQueryTooDeep},
		}
	}
	return nil
}

// depthWalker measures selection sets. A fragment's depth does not depend
// on where it is spread, so each is measured once (memo): a query cannot
// make the walk exponential by spreading fragments inside fragments.
type depthWalker struct {
	doc    *ast.QueryDocument
	memo   map[string]int
	inPath map[string]bool // guards against cycles should validation ever let one through
}

func (w depthWalker) selectionSet(set ast.SelectionSet) int {
	deepest := 0
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if strings.HasPrefix(s.Name, "__") {
				continue
			}
			d = 1 + w.selectionSet(s.SelectionSet)
		case *ast.InlineFragment:
			d = w.selectionSet(s.SelectionSet)
		case *ast.FragmentSpread:
			d = w.fragment(s)
		}
		deepest = max(deepest, d)
	}
	return deepest
}

func (w depthWalker) fragment(s *ast.FragmentSpread) int {
	if d, ok := w.memo[s.Name]; ok {
		return d
	}
	if w.inPath[s.Name] {
		return 0
	}
	def := s.Definition
	if def == nil && w.doc != nil {
		def = w.doc.Fragments.ForName(s.Name)
	}
	if def == nil {
		return 0
	}
	w.inPath[s.Name] = true
	d := w.selectionSet(def.SelectionSet)
	delete(w.inPath, s.Name)
	w.memo[s.Name] = d
	return d
}
