package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/orderflow/orderflow/graph/model"
)

// forward copies orders from in to out until in is closed or ctx is done,
// then closes out (gqlgen completes the subscription) and calls cancel
// (the feed releases whatever it holds). It never blocks on a client that
// has gone away: every send also waits on ctx.
func forward(ctx context.Context, cancel context.CancelFunc, in <-chan *model.Order, out chan<- *model.Order) {
	defer close(out)
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return
		case o, ok := <-in:
			if !ok {
				return
			}
			if o == nil {
				continue // Order! is non-null; a nil would only become an error
			}
			select {
			case out <- o:
			case <-ctx.Done():
				return
			}
		}
	}
}

// plainHTTPKey marks the ctx of a request that came over plain HTTP.
type plainHTTPKey struct{}

// httpSubscriptions rejects subscriptions sent over HTTP POST or GET.
// gqlgen would otherwise run them, wait for the first event, and answer
// with that one event (or a bare null at the timeout).
type httpSubscriptions struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = httpSubscriptions{}

func (httpSubscriptions) ExtensionName() string                   { return "NoHTTPSubscriptions" }
func (httpSubscriptions) Validate(graphql.ExecutableSchema) error { return nil }

func (httpSubscriptions) MutateOperationContext(ctx context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	if opCtx.Operation == nil || opCtx.Operation.Operation != ast.Subscription || ctx.Value(plainHTTPKey{}) == nil {
		return nil
	}
	return &gqlerror.Error{
		Message:    "subscriptions are served over a websocket (graphql-transport-ws or graphql-ws), not over HTTP POST or GET",
		Extensions: map[string]any{"code": CodeBadRequest},
	}
}
