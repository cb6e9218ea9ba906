package statusfeed

import (
	"context"

	"github.com/orderflow/orderflow/graph/model"
)

// Commands is the gateway's command client (graph.Commands).
type Commands interface {
	CreateOrder(ctx context.Context, in model.CreateOrderInput) (*model.Order, error)
	CancelOrder(ctx context.Context, id string, reason *string) (*model.Order, error)
}

// RecordCreates returns cmds telling the feed about every order they create
// (Created), so that its subscribers here start without a lookup.
func (f *Feed) RecordCreates(cmds Commands) Commands { return recording{Commands: cmds, feed: f} }

type recording struct {
	Commands
	feed *Feed
}

func (r recording) CreateOrder(ctx context.Context, in model.CreateOrderInput) (*model.Order, error) {
	o, err := r.Commands.CreateOrder(ctx, in)
	if err == nil && o != nil {
		r.feed.Created(o.ID, o.CreatedAt)
	}
	return o, err
}
