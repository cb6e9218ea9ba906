package statusfeed

import (
	"context"

	"github.com/orderflow/orderflow/graph"
	"github.com/orderflow/orderflow/graph/model"
)

// RecordCreates returns cmds telling the feed about every order they create
// (Created), so that its subscribers here start without a lookup.
func (f *Feed) RecordCreates(cmds graph.Commands) graph.Commands {
	return recording{Commands: cmds, feed: f}
}

type recording struct {
	graph.Commands
	feed *Feed
}

func (r recording) CreateOrder(ctx context.Context, in model.CreateOrderInput) (*model.Order, error) {
	o, err := r.Commands.CreateOrder(ctx, in)
	if err == nil && o != nil {
		r.feed.Created(o.ID, o.CreatedAt)
	}
	return o, err
}
