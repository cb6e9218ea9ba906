package chaos

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/tools/loadbench"
)

// customer is one of the load's customers, with its token from the token
// tool.
type customer struct {
	id, token string
}

// order is one order of the load as its client saw it. The fields below mu
// belong to the order's goroutines.
type order struct {
	i        int
	intended time.Time
	key      string // the idempotency key of every createOrder attempt
	customer customer
	method   string
	cancel   bool // the customer cancels it once it is PAID

	mu       sync.Mutex
	ids      map[string]bool // every id createOrder answered with
	id       string
	acked    time.Time
	attempts int
	final    time.Time // the first PAID or CANCELLED pushed
	status   string    // the last status pushed
	sessions [][]push  // each subscription session's pushes
	resumed  []bool    // whether session i was opened with afterVersion
	subErrs  int
	done     bool // the subscription saw the order's last change
}

// load is the open-loop generator and its clients.
type load struct {
	gw        gateways
	customers []customer
	rate      int
	resume    bool // orderStatusChanged takes afterVersion
	rng       *rand.Rand
	logf      func(format string, args ...any)

	mu     sync.Mutex
	orders []*order
	errs   []clientError
	wg     sync.WaitGroup
	// giveUp is when createOrder retries and subscriptions stop (unix
	// nanoseconds; 0 while the run lasts).
	giveUp atomic.Int64
}

// clientError is one failed call, for the timeline.
type clientError struct {
	At   time.Time
	Op   string // create, cancel, subscribe
	Kind string // transport, a GraphQL code, or a subscription's end
}

func (l *load) recordError(op, kind string) {
	l.mu.Lock()
	l.errs = append(l.errs, clientError{time.Now(), op, kind})
	l.mu.Unlock()
}

// method picks order i's payment method and whether its customer cancels
// it: most are captured, a tenth declined (the compensation path), a tenth
// cancelled once paid (a refund), a twentieth flaky at the PSP.
func (l *load) method() (string, bool) {
	switch r := l.rng.Float64(); {
	case r < 0.10:
		return loadbench.TokenDeclined, false
	case r < 0.20:
		return loadbench.TokenCaptured, true
	case r < 0.25:
		return "tok_flaky", false
	}
	return loadbench.TokenCaptured, false
}

// run offers orders at the rate from start until ctx ends, each on its
// schedule whatever the system does (open loop).
func (l *load) run(ctx context.Context, start time.Time) {
	for i := 0; ; i++ {
		at := loadbench.Arrival(start, l.rate, i)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(at)):
		}
		m, cancel := l.method()
		o := &order{i: i, intended: at, key: uuid.NewString(), customer: l.customers[i%len(l.customers)],
			method: m, cancel: cancel, ids: map[string]bool{}}
		l.mu.Lock()
		l.orders = append(l.orders, o)
		l.mu.Unlock()
		l.wg.Go(func() { l.place(o) })
	}
}

func (l *load) givenUp() bool {
	g := l.giveUp.Load()
	return g != 0 && time.Now().UnixNano() > g
}

// backoff is the pause before retry n (from 0): 200 ms doubling to 2 s.
func backoff(n int) time.Duration { return min(200*time.Millisecond<<min(n, 4), 2*time.Second) }

// place sends createOrder, retrying with the same idempotency key on the
// other gateway after each failure, then follows the order.
func (l *load) place(o *order) {
	input := map[string]any{
		"customerId": o.customer.id, "currency": "EUR", "paymentMethod": o.method, "idempotencyKey": o.key,
		"items": []map[string]any{{"sku": "sku-book", "quantity": 1 + o.i%3, "unitPrice": 1250}, {"sku": "sku-pen", "quantity": 1, "unitPrice": 199}},
	}
	for n := 0; ; n++ {
		if l.givenUp() {
			return
		}
		var out struct {
			CreateOrder orderAnswer `json:"createOrder"`
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		r, err := l.gw.api(o.i+n, o.customer.token).Do(ctx, createOrderMutation, map[string]any{"in": input}, &out)
		cancel()
		o.mu.Lock()
		o.attempts++
		o.mu.Unlock()
		if kind := errorKind(r, err); kind != "" {
			l.recordError("create", kind)
			if kind == "BAD_USER_INPUT" {
				l.logf("order %d: createOrder refused: %v", o.i, r.Err())
				return
			}
			time.Sleep(backoff(n))
			continue
		}
		o.mu.Lock()
		o.ids[out.CreateOrder.ID] = true
		if o.id == "" {
			o.id, o.acked = out.CreateOrder.ID, time.Now()
		}
		o.mu.Unlock()
		break
	}
	l.follow(o)
}

// follow subscribes to the order on the gateway the mutation did not use,
// and again, on the other gateway, whenever a session ends before the
// order's last change: with afterVersion (the last version pushed) if the
// schema has it, else from the order as it is now.
func (l *load) follow(o *order) {
	cancelled := false
	for n := 0; ; n++ {
		if l.givenUp() {
			return
		}
		o.mu.Lock()
		last := lastVersion(o.sessions)
		o.sessions = append(o.sessions, nil)
		o.resumed = append(o.resumed, l.resume && last > 0)
		s := len(o.sessions) - 1
		o.mu.Unlock()
		query, vars := statusSubscription, map[string]any{"id": o.id}
		if l.resume && last > 0 {
			query, vars["after"] = resumeSubscription, last
		}
		ctx, stop := context.WithCancel(context.Background())
		go func() { // ends the session when the run gives up
			for ctx.Err() == nil {
				if l.givenUp() {
					stop()
					return
				}
				sleep(ctx, 500*time.Millisecond)
			}
		}()
		err := subscribe(ctx, l.gw.urls[(o.i+1+n)%len(l.gw.urls)], o.customer.token, query, vars, func(p push) bool {
			o.mu.Lock()
			defer o.mu.Unlock()
			o.sessions[s] = append(o.sessions[s], p)
			o.status = p.Status
			if o.final.IsZero() && (p.Status == "PAID" || p.Status == "CANCELLED") {
				o.final = p.At
			}
			if p.Status == "PAID" && o.cancel && !cancelled {
				cancelled = true
				l.wg.Go(func() { l.cancelOrder(o) })
			}
			if p.Status == "CANCELLED" || (p.Status == "PAID" && !o.cancel) {
				o.done = true
				return p.Status == "PAID" // a CANCELLED subscription is completed by the server
			}
			return false
		})
		stop()
		o.mu.Lock()
		done := o.done
		o.mu.Unlock()
		if done || l.givenUp() {
			return // the last change came (how the session ended then does not matter), or the run is over
		}
		kind := "ended"
		if err != nil && !errors.Is(err, errCompleted) {
			kind = "broken"
		}
		o.mu.Lock()
		o.subErrs++
		o.mu.Unlock()
		l.recordError("subscribe", kind)
		time.Sleep(backoff(n))
	}
}

// cancelOrder cancels a paid order for its customer, retrying on the other
// gateway until a gateway answers (cancelling a cancelled order changes
// nothing).
func (l *load) cancelOrder(o *order) {
	for n := 0; !l.givenUp(); n++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		r, err := l.gw.api(o.i+n, o.customer.token).Do(ctx, cancelOrderMutation, map[string]any{"id": o.id}, nil)
		cancel()
		kind := errorKind(r, err)
		if kind == "" || kind == "CONFLICT" {
			return
		}
		l.recordError("cancel", kind)
		time.Sleep(backoff(n))
	}
}

func lastVersion(sessions [][]push) int {
	last := 0
	for _, s := range sessions {
		for _, p := range s {
			last = max(last, p.Version)
		}
	}
	return last
}

// snapshot returns the orders offered so far.
func (l *load) snapshot() []*order {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*order(nil), l.orders...)
}
