package statusfeed

import (
	"context"

	"github.com/orderflow/orderflow/graph/model"
)

// Resume is Follow for a client that was sent the order up to version
// afterVersion before, by this feed or another replica's: the order's own
// stream version (Order.version), which every status change moves, so each
// order a subscription sends has a version of its own. The channel does not
// carry the order as it is first: it carries the order after each status
// change above afterVersion, in order, as it was right after that change,
// then the order after each later one, and is closed after CANCELLED (at
// once if afterVersion is CANCELLED's), when ctx ends, or if the stream
// cannot be read any more. afterVersion 0 replays every status change from
// PENDING on.
//
// An afterVersion below 0 or above the order's version is a BAD_USER_INPUT
// *model.Error, an order nobody knows a NOT_FOUND one.
//
// A resume at the version the hub holds the whole order at (nothing was
// missed) is served from memory. Any other is folded from the order's
// history, read before Resume returns so that the cursor is checked against
// the stream itself: a version another replica sent is in the stream even
// while this hub has not read that far.
func (f *Feed) Resume(ctx context.Context, orderID string, afterVersion int) (<-chan *model.Order, error) {
	if afterVersion < 0 {
		return nil, model.AfterVersionNegative(afterVersion)
	}
	s, j, err := f.join(ctx, orderID)
	if err != nil {
		return nil, err
	}
	st := state{live: true, resumed: true, after: afterVersion}
	if (j.complete || j.recorded) && j.fold.order.Version == afterVersion {
		st.fold = j.fold // every later event reaches s
	} else if err := f.catchUp(ctx, orderID, j.recorded, &st); err != nil {
		f.hub.leave(s)
		return nil, err
	}
	out := make(chan *model.Order)
	go f.follow(ctx, s, st, nil, out)
	return out, nil
}

// catchUp folds the order's history into st, which queues the status changes
// above its cursor, and checks the cursor against the order's version.
// recorded: the order was created through this gateway, so it exists even if
// the stream has nothing of it yet.
func (f *Feed) catchUp(ctx context.Context, orderID string, recorded bool, st *state) error {
	cons, err := f.openHistory(ctx, orderID)
	if err == nil {
		err = f.readHistory(ctx, cons, st)
	}
	if err != nil {
		f.log.WarnContext(ctx, "cannot read the order's history", "order_id", orderID, "err", err)
		return unavailable()
	}
	if st.fold.empty() && !recorded {
		if err := f.exists(ctx, orderID); err != nil {
			return err
		}
	}
	if v := st.fold.order.Version; st.after > v {
		return model.AfterVersionAhead(orderID, st.after, v)
	}
	return nil
}
