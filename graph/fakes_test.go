package graph_test

import (
	"context"
	"sync"
	"time"

	"github.com/orderflow/orderflow/graph/model"
)

// The API layer is the unit under test: these fakes stand in for the
// gateway's command client, read models and status feed.

type fakeCommands struct {
	mu         sync.Mutex
	created    []model.CreateOrderInput
	cancelled  []string
	reasons    []*string
	createFunc func(ctx context.Context, in model.CreateOrderInput) (*model.Order, error)
	cancelFunc func(ctx context.Context, id string, reason *string) (*model.Order, error)
}

func (f *fakeCommands) CreateOrder(ctx context.Context, in model.CreateOrderInput) (*model.Order, error) {
	f.mu.Lock()
	f.created = append(f.created, in)
	f.mu.Unlock()
	if f.createFunc != nil {
		return f.createFunc(ctx, in)
	}
	o := sampleOrder(orderID)
	o.CustomerID = in.CustomerID
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

const (
	orderID    = "5b1f6b0e-7d5c-4c47-9b8a-3f0f9d6f6a11"
	customerID = "0c5e3a8e-2f0d-4b8e-9b6a-1d2c3e4f5a6b"
)

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
