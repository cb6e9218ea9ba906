package graph_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/graph"
	"github.com/orderflow/orderflow/graph/model"
)

// The API layer is the unit under test: these fakes stand in for the
// gateway's command client, read models, status feed and token verifier.

type fakeCommands struct {
	mu         sync.Mutex
	created    []model.CreateOrderInput
	cancelled  []string
	reasons    []*string
	createFunc func(ctx context.Context, in model.CreateOrderInput) (*model.Order, error)
	cancelFunc func(ctx context.Context, id string, reason *string) (*model.Order, error)
	// orderFunc answers Order; without it the order service knows the
	// sample order (orderID, customerID's) and nothing else.
	orderFunc func(ctx context.Context, id string) (*model.Order, error)
}

func (f *fakeCommands) CreateOrder(ctx context.Context, in model.CreateOrderInput) (*model.Order, error) {
	f.mu.Lock()
	f.created = append(f.created, in)
	f.mu.Unlock()
	if f.createFunc != nil {
		return f.createFunc(ctx, in)
	}
	o := sampleOrder(orderID)
	if in.CustomerID != nil {
		o.CustomerID = *in.CustomerID
	}
	o.Currency = in.Currency
	o.Items = nil
	o.Total = 0
	for _, it := range in.Items {
		o.Items = append(o.Items, &model.OrderItem{Sku: it.Sku, Quantity: it.Quantity, UnitPrice: it.UnitPrice})
		o.Total += it.Quantity * it.UnitPrice
	}
	return o, nil
}

func (f *fakeCommands) CancelOrder(ctx context.Context, id string, reason *string) (*model.Order, error) {
	f.mu.Lock()
	f.cancelled = append(f.cancelled, id)
	f.reasons = append(f.reasons, reason)
	f.mu.Unlock()
	if f.cancelFunc != nil {
		return f.cancelFunc(ctx, id, reason)
	}
	o := sampleOrder(id)
	o.Status = model.OrderStatusCancelling
	o.CancellationReason = reason
	return o, nil
}

// Order is the order service's view: the sample order without its payment
// (the source of truth has none), (nil, nil) for any other id.
func (f *fakeCommands) Order(ctx context.Context, id string) (*model.Order, error) {
	if f.orderFunc != nil {
		return f.orderFunc(ctx, id)
	}
	if id != orderID {
		return nil, nil
	}
	o := sampleOrder(id)
	o.Payment = nil
	return o, nil
}

func (f *fakeCommands) createdInputs() []model.CreateOrderInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]model.CreateOrderInput(nil), f.created...)
}

func (f *fakeCommands) cancelledIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.cancelled...)
}

type fakeOrders struct {
	mu        sync.Mutex
	orders    map[string]*model.Order
	queries   []model.ListQuery
	orderFunc func(ctx context.Context, id string) (*model.Order, error)
	listFunc  func(ctx context.Context, q model.ListQuery) (*model.OrderConnection, error)
}

func (f *fakeOrders) Order(ctx context.Context, id string) (*model.Order, error) {
	if f.orderFunc != nil {
		return f.orderFunc(ctx, id)
	}
	return f.orders[id], nil
}

func (f *fakeOrders) ListOrders(ctx context.Context, q model.ListQuery) (*model.OrderConnection, error) {
	f.mu.Lock()
	f.queries = append(f.queries, q)
	f.mu.Unlock()
	if f.listFunc != nil {
		return f.listFunc(ctx, q)
	}
	end := "cursor-1"
	return &model.OrderConnection{
		Edges:    []*model.OrderEdge{{Cursor: end, Node: sampleOrder(orderID)}},
		PageInfo: &model.PageInfo{HasNextPage: true, EndCursor: &end},
	}, nil
}

func (f *fakeOrders) lastQuery() model.ListQuery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queries[len(f.queries)-1]
}

// fakeFeed hands each Follow the channel its test controls and reports
// when the ctx it was given ends.
type fakeFeed struct {
	followFunc func(ctx context.Context, id string) (<-chan *model.Order, error)
	ch         chan *model.Order
	followed   chan string
	released   chan struct{} // closed when Follow's ctx is done
}

func newFakeFeed() *fakeFeed {
	return &fakeFeed{
		ch:       make(chan *model.Order),
		followed: make(chan string, 1),
		released: make(chan struct{}),
	}
}

func (f *fakeFeed) Follow(ctx context.Context, id string) (<-chan *model.Order, error) {
	if f.followFunc != nil {
		return f.followFunc(ctx, id)
	}
	go func() {
		<-ctx.Done()
		close(f.released)
	}()
	f.followed <- id
	return f.ch, nil
}

// fakeTimelines answers the sample order's timeline (sampleTimeline) for
// any id, or what timelineFunc returns; it records the ids it was asked.
type fakeTimelines struct {
	mu           sync.Mutex
	asked        []string
	timelineFunc func(ctx context.Context, orderID string) ([]*model.TimelineEntry, error)
}

func (f *fakeTimelines) Timeline(ctx context.Context, orderID string) ([]*model.TimelineEntry, error) {
	f.mu.Lock()
	f.asked = append(f.asked, orderID)
	f.mu.Unlock()
	if f.timelineFunc != nil {
		return f.timelineFunc(ctx, orderID)
	}
	return sampleTimeline(), nil
}

func (f *fakeTimelines) askedIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.asked...)
}

// fakeAuth stands in for the gateway's JWT verifier. Its tokens say what
// they are:
//
//   - "customer:<uuid>": that customer, no expiry;
//   - "admin:<uuid>": that customer, an admin;
//   - "expires:<uuid>:<RFC 3339 time>": that customer until then (a time
//     already past is refused with "the token expired at <time>");
//
// anything else (including a subject that is not a UUID) is refused with
// "signature does not match", as a forged JWT would be. Like the real
// verifier, its errors never contain the token.
type fakeAuth struct{}

var _ graph.Authenticator = fakeAuth{}

func (fakeAuth) Authenticate(token string) (graph.Principal, error) {
	errForged := errors.New("signature does not match")
	kind, rest, _ := strings.Cut(token, ":")
	subject, rest, _ := strings.Cut(rest, ":")
	id, err := uuid.Parse(subject)
	if err != nil || len(subject) != 36 {
		return graph.Principal{}, errForged
	}
	p := graph.Principal{Customer: id.String()}
	switch {
	case kind == "customer" && rest == "":
	case kind == "admin" && rest == "":
		p.Admin = true
	case kind == "expires":
		exp, err := time.Parse(time.RFC3339, rest)
		if err != nil {
			return graph.Principal{}, errForged
		}
		if !exp.After(time.Now()) {
			return graph.Principal{}, errors.New("the token expired at " + exp.UTC().Format(time.RFC3339))
		}
		p.Expires = exp
	default:
		return graph.Principal{}, errForged
	}
	return p, nil
}

const (
	orderID    = "5b1f6b0e-7d5c-4c47-9b8a-3f0f9d6f6a11"
	customerID = "0c5e3a8e-2f0d-4b8e-9b6a-1d2c3e4f5a6b" // the sample order's, and the tests' default caller
	// otherCustomerID owns nothing the fakes know.
	otherCustomerID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	// adminID is an admin's customer id (it owns no order either).
	adminID = "ad000000-0000-4000-8000-0000000000ad"
)

// Authorization values for the fake authenticator.
func asCustomer(id string) string { return "Bearer customer:" + id }
func asAdmin(id string) string    { return "Bearer admin:" + id }
func expiringAt(id string, t time.Time) string {
	return "Bearer expires:" + id + ":" + t.UTC().Format(time.RFC3339Nano)
}

func sampleOrder(id string) *model.Order {
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	failure := "card_declined"
	return &model.Order{
		ID:         id,
		CustomerID: customerID,
		Status:     model.OrderStatusPending,
		Currency:   "EUR",
		Total:      2500,
		Items:      []*model.OrderItem{{Sku: "SKU-1", Quantity: 2, UnitPrice: 1250}},
		Payment:    &model.Payment{ID: "7e0c9a52-4e0b-4f6f-8d9e-0a1b2c3d4e5f", Status: model.PaymentStatusDeclined, Amount: 2500, FailureCode: &failure},
		Version:    1,
		CreatedAt:  created,
		UpdatedAt:  created.Add(time.Second),
		History:    []*model.OrderEvent{{Type: "order.created.v1", Version: 1, OccurredAt: created}},
	}
}

// sampleTimeline is the start of a declined order's saga: the order's
// creation (caused by a request), then the payment it caused.
func sampleTimeline() []*model.TimelineEntry {
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	request, createdID := "req-1", "e1000000-0000-4000-8000-000000000001"
	trace := "4bf92f3577b34da6a3ce929d0e0e4736"
	gap := 12.5
	return []*model.TimelineEntry{
		{EventID: createdID, Service: "order", Type: "order.created.v1", Version: 1, OccurredAt: created,
			CausationID: &request, TraceID: &trace},
		{EventID: "e1000000-0000-4000-8000-000000000002", Service: "payment", Type: "payment.requested.v1", Version: 1,
			OccurredAt: created.Add(12500 * time.Microsecond), CausationID: &createdID, TraceID: &trace, SincePreviousMs: &gap},
	}
}

// notInReadModel empties the read model: only the order service knows the
// orders (one placed a moment ago).
func notInReadModel(a *api) { a.orders.orders = nil }

// ownedBy makes every order the order service knows customer's, and none
// known to the read model.
func ownedBy(customer string) func(*api) {
	return func(a *api) {
		a.orders.orders = nil
		a.cmds.orderFunc = func(_ context.Context, id string) (*model.Order, error) {
			o := sampleOrder(id)
			o.CustomerID = customer
			return o, nil
		}
	}
}
