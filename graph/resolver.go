package graph

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/graph/model"
)

// Resolver is the root resolver. This is the one place its dependencies are
// injected; the per-field resolvers in schema.resolvers.go only use them.
type Resolver struct {
	cmds        Commands
	orders      Orders
	feed        StatusFeed
	timelines   Timelines
	deadLetters DeadLetters
}

// NewResolver returns the root resolver over the gateway's command client,
// read models, status feed, saga timelines and dead-letter triage.
func NewResolver(cmds Commands, orders Orders, feed StatusFeed, timelines Timelines, deadLetters DeadLetters) *Resolver {
	return &Resolver{cmds: cmds, orders: orders, feed: feed, timelines: timelines, deadLetters: deadLetters}
}

// owns reports whether p may read o: its own order, or any as an admin. A
// nil order is nobody's.
func owns(p Principal, o *model.Order) bool {
	return o != nil && (p.Admin || o.CustomerID == p.Customer)
}

// ownCustomer resolves an optional customerId argument: the caller's own
// when omitted; when given it must be the caller's (or, where adminReads,
// anyone's for an admin).
func ownCustomer(p Principal, field string, given *string, adminReads bool) (string, error) {
	if given == nil {
		return p.Customer, nil
	}
	id, err := parseID(field, *given)
	if err != nil {
		return "", err
	}
	if id != p.Customer && !(adminReads && p.Admin) {
		return "", model.Forbidden(field, fmt.Sprintf("%s must be your own customer id (your token's subject, %s), or left out", field, p.Customer))
	}
	return id, nil
}

// mayRead checks that the caller may follow an order or read its timeline:
// the read model knows its owner, or else (an order placed a moment ago)
// the order service does. Another customer's order is NOT_FOUND, worded as
// an unknown one.
func (r *Resolver) mayRead(ctx context.Context, id string) error {
	p, err := caller(ctx)
	if err != nil {
		return err
	}
	o, err := r.orders.Order(ctx, id)
	if err == nil && o == nil {
		o, err = r.cmds.Order(ctx, id)
	}
	if err != nil {
		return err
	}
	if !owns(p, o) {
		return model.OrderNotFound(id)
	}
	return nil
}

// Page sizes of Query.orders.
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

// parseID checks that the argument named field is a UUID and returns it in
// canonical (lowercase, hyphenated) form, which is how ids are stored. Only
// the canonical 36-character form is accepted, so "{…}", "urn:uuid:…" and
// hex without hyphens are rejected rather than silently rewritten.
func parseID(field, s string) (string, error) {
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return "", model.BadInput(field, fmt.Sprintf("%s must be a UUID such as 1b4e28ba-2fa1-11d2-883f-0016d3cca427, got %q", field, truncate(s, 64)))
	}
	return id.String(), nil
}

// pageSize applies the default and the bounds of the orders page size.
func pageSize(first *int) (int, error) {
	if first == nil {
		return defaultPageSize, nil
	}
	if *first < 1 || *first > maxPageSize {
		return 0, model.BadInput("first", fmt.Sprintf("first must be between 1 and %d, got %d", maxPageSize, *first))
	}
	return *first, nil
}

// truncate keeps error messages short when a client sends a huge value.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
