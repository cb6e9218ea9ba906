package loadbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// outcome is one order as the load saw it. intended is set before the order
// starts and never changes; the rest belongs to the order's goroutine until
// it hands the outcome over.
type outcome struct {
	intended time.Time
	id       string // the order's, once createOrder answered
	declined bool   // paid with TokenDeclined: CANCELLED is its expected end
	sendLag  time.Duration
	created  time.Duration // from intended to createOrder's answer
	final    time.Duration // from intended to the push of PAID or CANCELLED
	status   string        // the final status pushed, "" if none
	err      error
	done     atomic.Bool // set once the order's goroutine has finished with it
}

// placeOrder sends createOrder, subscribes to the order's status at once,
// and waits for PAID or CANCELLED to be pushed, or for ctx to end.
//
// The API gives an order its id when it is created, and a subscription to
// an id the gateway does not know yet is refused, so the subscription is
// opened right after the mutation answers. It loses nothing by that: it
// starts with the order as it is, then every later change.
func (g *gateway) placeOrder(ctx context.Context, o *outcome, token string, input map[string]any) {
	o.sendLag = time.Since(o.intended)
	id, err := g.createOrder(ctx, token, input)
	if err != nil {
		o.err = err
		return
	}
	o.created, o.id = time.Since(o.intended), id

	done := make(chan struct{})
	var once sync.Once
	finish := func(status string, err error) {
		once.Do(func() {
			o.final, o.status, o.err = time.Since(o.intended), status, err
			close(done)
		})
	}
	conn := g.subscriptionsFor()
	subID, err := conn.Subscribe(ctx, statusSubscription, map[string]any{"id": id}, subscriber{
		next: func(payload json.RawMessage) {
			var p struct {
				Data struct {
					OrderStatusChanged struct{ Status string } `json:"orderStatusChanged"`
				} `json:"data"`
				Errors json.RawMessage `json:"errors"`
			}
			switch err := json.Unmarshal(payload, &p); {
			case err != nil || len(p.Errors) > 0:
				finish("", fmt.Errorf("order %s: subscription: %.300s", id, payload))
			case p.Data.OrderStatusChanged.Status == "PAID" || p.Data.OrderStatusChanged.Status == "CANCELLED":
				finish(p.Data.OrderStatusChanged.Status, nil)
			}
		},
		end: func(err error) {
			if err == nil {
				err = errors.New("the subscription completed before PAID or CANCELLED")
			}
			finish("", fmt.Errorf("order %s: %w", id, err))
		},
	})
	if err != nil {
		o.err = fmt.Errorf("order %s: subscribe: %w", id, err)
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
		finish("", fmt.Errorf("order %s: no PAID or CANCELLED pushed before the end of the run", id))
	}
	if o.status != "CANCELLED" { // the server completes a subscription after CANCELLED
		conn.Stop(context.WithoutCancel(ctx), subID)
	}
}
