// Package graph is orderflow's public GraphQL API: the schema, the code gqlgen
// generates from it, and the resolvers. Resolvers depend only on the small
// interfaces below, which the gateway implements (command client, Redis read
// models, NATS status feed, the services' dead-letter triage); resolver.go is the one place they are injected.
package graph

import (
	"context"

	"github.com/orderflow/orderflow/graph/model"
)

// Commands sends commands to the order service, the source of truth.
type Commands interface {
	CreateOrder(ctx context.Context, in model.CreateOrderInput) (*model.Order, error)
	CancelOrder(ctx context.Context, id string, reason *string) (*model.Order, error)
	// Order reads an order from the source of truth, without its payment;
	// (nil, nil) for an unknown id. Ownership checks use it where the read
	// model may lag.
	Order(ctx context.Context, id string) (*model.Order, error)
}

// Orders reads the read models. Order returns (nil, nil) for an unknown id.
type Orders interface {
	Order(ctx context.Context, id string) (*model.Order, error)
	ListOrders(ctx context.Context, q model.ListQuery) (*model.OrderConnection, error)
}

// StatusFeed follows one order: the returned channel first carries the order
// as it is now, then the order after each later status change, in version
// order, without gaps or repeats; it is closed after CANCELLED or when ctx
// ends. An unknown order is a NOT_FOUND *model.Error from Follow itself.
//
// Resume is Follow for a client that was sent the order up to
// afterVersion (Order.version, the order stream's version: each status
// change is one order event, so each order sent has a version of its own):
// it does not send the order as it is first, but the order after each
// status change above afterVersion, in order, then the later ones, and is
// closed after CANCELLED, at once if afterVersion is CANCELLED's. An
// afterVersion below 0 or above the order's version is a BAD_USER_INPUT
// *model.Error from Resume itself.
type StatusFeed interface {
	Follow(ctx context.Context, orderID string) (<-chan *model.Order, error)
	Resume(ctx context.Context, orderID string, afterVersion int) (<-chan *model.Order, error)
}

// Timelines reads an order's saga timeline: every event of the order's,
// its payment's and its compensation's streams, once each, in causal order
// (see model.TimelineEntry). An order with no event yet has an empty
// timeline; the resolver has checked that the order exists and is the
// caller's.
type Timelines interface {
	Timeline(ctx context.Context, orderID string) ([]*model.TimelineEntry, error)
}

// DeadLetters triages the messages the services' Kafka consumers set aside
// (see model.DeadLetter), over every service that has them. The resolvers
// have checked that the caller is an admin, that a ref's or a selection's
// service is one of Services, and the page size. Errors are *model.Error
// where the client can act on them: UNAVAILABLE naming a service that
// cannot be reached, NOT_FOUND for an unknown letter, CONFLICT for one
// whose state does not allow what was asked.
type DeadLetters interface {
	// Services names the services with letters, as ids and the service
	// argument name them.
	Services() []string
	// List returns the page of letters q selects after q.After, which is
	// a cursor the same List returned (BAD_USER_INPUT if it is not one).
	List(ctx context.Context, q model.DeadLetterQuery) (*model.DeadLetterConnection, error)
	// Get returns one letter with its audit trail, (nil, nil) if its
	// service has no such letter.
	Get(ctx context.Context, ref model.DeadLetterRef) (*model.DeadLetter, error)
	// Replay asks for a letter to be replayed and returns it.
	Replay(ctx context.Context, ref model.DeadLetterRef, actor string) (*model.DeadLetter, error)
	// ReplayAll asks for every waiting letter sel selects to be replayed
	// and returns how many that was.
	ReplayAll(ctx context.Context, sel model.DeadLetterSelection, actor string) (int, error)
	// Discard gives up on a waiting letter, noting why, and returns it.
	Discard(ctx context.Context, ref model.DeadLetterRef, actor, note string) (*model.DeadLetter, error)
}
