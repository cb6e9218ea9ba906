package graph_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/graph"
	"github.com/orderflow/orderflow/graph/model"
)

// The API layer is the unit under test: these fakes stand in for the
// gateway's command client, read models, status feed, dead-letter triage
// and token verifier.

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

// fakeFeed hands each Follow and Resume the channel its test controls and
// reports when the ctx it was given ends. Resume also reports its cursor
// (on resumed, before followed).
type fakeFeed struct {
	followFunc func(ctx context.Context, id string) (<-chan *model.Order, error)
	resumeFunc func(ctx context.Context, id string, afterVersion int) (<-chan *model.Order, error)
	ch         chan *model.Order
	followed   chan string
	resumed    chan int
	released   chan struct{} // closed when Follow's or Resume's ctx is done
}

func newFakeFeed() *fakeFeed {
	return &fakeFeed{
		ch:       make(chan *model.Order),
		followed: make(chan string, 1),
		resumed:  make(chan int, 1),
		released: make(chan struct{}),
	}
}

func (f *fakeFeed) Follow(ctx context.Context, id string) (<-chan *model.Order, error) {
	if f.followFunc != nil {
		return f.followFunc(ctx, id)
	}
	return f.serve(ctx, id)
}

func (f *fakeFeed) Resume(ctx context.Context, id string, afterVersion int) (<-chan *model.Order, error) {
	if f.resumeFunc != nil {
		return f.resumeFunc(ctx, id, afterVersion)
	}
	f.resumed <- afterVersion
	return f.serve(ctx, id)
}

func (f *fakeFeed) serve(ctx context.Context, id string) (<-chan *model.Order, error) {
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

// fakeDeadLetters stands in for the gateway's fan-out over the services'
// triage APIs: it holds letters in the merged order, and its cursor is the
// position after a letter in that order ("at:<n>"). It records every call
// as a line ("replay payment:42 by <actor>").
type fakeDeadLetters struct {
	mu      sync.Mutex
	letters []*model.DeadLetter
	calls   []string
	queries []model.DeadLetterQuery
	// err, if set, is what every call returns.
	err error
}

func newFakeDeadLetters(letters ...*model.DeadLetter) *fakeDeadLetters {
	return &fakeDeadLetters{letters: letters}
}

func (f *fakeDeadLetters) Services() []string { return []string{"order", "payment", "compensation"} }

func (f *fakeDeadLetters) record(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	return f.err
}

func (f *fakeDeadLetters) List(_ context.Context, q model.DeadLetterQuery) (*model.DeadLetterConnection, error) {
	f.mu.Lock()
	f.queries = append(f.queries, q)
	f.mu.Unlock()
	if err := f.record("list"); err != nil {
		return nil, err
	}
	start := 0
	if q.After != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(q.After, "at:"))
		if err != nil || !strings.HasPrefix(q.After, "at:") {
			return nil, model.BadInput("after", "after must be a cursor of deadLetters")
		}
		start = n
	}
	conn := &model.DeadLetterConnection{Edges: []*model.DeadLetterEdge{}, PageInfo: &model.PageInfo{}}
	i := start
	for ; i < len(f.letters) && len(conn.Edges) < q.First; i++ {
		l := f.letters[i]
		if q.Service != "" && l.Service != q.Service || q.State != "" && l.State != q.State {
			continue
		}
		copied := *l
		copied.Audit = nil // a list's letters come without their trail
		conn.Edges = append(conn.Edges, &model.DeadLetterEdge{Cursor: "at:" + strconv.Itoa(i+1), Node: &copied})
	}
	conn.PageInfo.HasNextPage = i < len(f.letters)
	if len(conn.Edges) > 0 {
		conn.PageInfo.EndCursor = &conn.Edges[len(conn.Edges)-1].Cursor
	}
	return conn, nil
}

func (f *fakeDeadLetters) find(ref model.DeadLetterRef) *model.DeadLetter {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.letters {
		if l.Ref() == ref {
			return l
		}
	}
	return nil
}

func (f *fakeDeadLetters) Get(_ context.Context, ref model.DeadLetterRef) (*model.DeadLetter, error) {
	if err := f.record("get " + ref.String()); err != nil {
		return nil, err
	}
	return f.find(ref), nil
}

func (f *fakeDeadLetters) Replay(_ context.Context, ref model.DeadLetterRef, actor string) (*model.DeadLetter, error) {
	if err := f.record("replay " + ref.String() + " by " + actor); err != nil {
		return nil, err
	}
	l := f.find(ref)
	if l == nil {
		return nil, model.NotFound("dead letter " + ref.String() + " does not exist")
	}
	copied := *l
	copied.State = model.DeadLetterStateReplaying
	copied.Audit = nil // as if the service's answer had no trail
	return &copied, nil
}

func (f *fakeDeadLetters) ReplayAll(_ context.Context, sel model.DeadLetterSelection, actor string) (int, error) {
	if err := f.record(fmt.Sprintf("replay all %+v by %s", sel, actor)); err != nil {
		return 0, err
	}
	return 3, nil
}

func (f *fakeDeadLetters) Discard(_ context.Context, ref model.DeadLetterRef, actor, note string) (*model.DeadLetter, error) {
	if err := f.record("discard " + ref.String() + " by " + actor + ": " + note); err != nil {
		return nil, err
	}
	l := f.find(ref)
	if l == nil {
		return nil, model.NotFound("dead letter " + ref.String() + " does not exist")
	}
	copied := *l
	copied.State = model.DeadLetterStateDiscarded
	return &copied, nil
}

func (f *fakeDeadLetters) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeDeadLetters) lastQuery() model.DeadLetterQuery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queries[len(f.queries)-1]
}

// sampleDeadLetters are three letters of the three services, in the
// merged order: an event the payment service parked because the PSP timed
// out, one the order service parked behind an earlier one of the same
// order, and a discarded compensation dead letter that is not JSON.
func sampleDeadLetters() []*model.DeadLetter {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	text := func(s string) *string { return &s }
	order := orderID
	return []*model.DeadLetter{
		{
			ID: "payment:7", Service: "payment", Number: 7, Kind: model.DeadLetterKindParked, State: model.DeadLetterStateWaiting,
			Reason: "psp: timeout after 3 attempts", Attempts: 3, ConsumerGroup: "payment", Topic: "orders", Partition: 1,
			Offset: "4294967301", Key: orderID, OrderID: &order, EventID: text("e1000000-0000-4000-8000-000000000001"),
			EventType: text("order.created.v1"), Event: text(`{"type":"order.created.v1"}`), ParkedAt: at, UpdatedAt: at,
			Audit: []*model.DeadLetterAuditEntry{{At: at, Action: "parked", Actor: "payment"}},
		},
		{
			ID: "order:3", Service: "order", Number: 3, Kind: model.DeadLetterKindParked, State: model.DeadLetterStateWaiting,
			Reason: "waits behind parked message 2", Attempts: 0, ConsumerGroup: "order", Topic: "payments", Partition: 0,
			Offset: "12", Key: orderID, OrderID: &order, ParkedAt: at.Add(time.Second), UpdatedAt: at.Add(time.Second),
			Audit: []*model.DeadLetterAuditEntry{{At: at.Add(time.Second), Action: "parked", Actor: "order"}},
		},
		{
			ID: "compensation:1", Service: "compensation", Number: 1, Kind: model.DeadLetterKindDeadLetter,
			State: model.DeadLetterStateDiscarded, Reason: "decode: not an envelope", Attempts: 1, ConsumerGroup: "compensation",
			Topic: "payments", Partition: 2, Offset: "0", Value: text("garbage"), ParkedAt: at.Add(2 * time.Second),
			UpdatedAt: at.Add(time.Hour),
			Audit: []*model.DeadLetterAuditEntry{
				{At: at.Add(2 * time.Second), Action: "dead_lettered", Actor: "compensation"},
				{At: at.Add(time.Hour), Action: "discarded", Actor: adminID, Note: text("a test message")},
			},
		},
	}
}
