package command

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/orderflow/orderflow/payment/domain"
	"github.com/orderflow/orderflow/platform/groupcommit"
	"github.com/orderflow/orderflow/platform/tracing"
	"github.com/orderflow/orderflow/schema"
)

// recordTimeout bounds recording a charge's outcome, on top of the charge's
// own budget.
const recordTimeout = 30 * time.Second

// ChargePayment charges owed payments through the PSP and records
// PaymentCaptured, PaymentDeclined or PaymentFailed.
//
// Charges run in the background, many at once (up to a bound), so a
// partition's next batch of requests does not wait for the PSP; the outcomes
// of concurrent charges are group-committed, one transaction for all that
// are ready together. The PSP is called outside any transaction. Each call
// for a payment carries the same idempotency key, so a charge made again —
// by the sweep after a crash, or by two replicas — is a replay at the PSP,
// never a second charge, and only the first outcome is recorded, but for a
// capture that comes after the payment was recorded as failed: the money was
// taken, so the capture is recorded too, and refunded. Within one
// process a payment is never charged by two goroutines at once.
type ChargePayment struct {
	units    Units
	charger  *Charger
	now      Clock
	log      *slog.Logger
	underway *underway
	slots    chan struct{} // one per charge under way
	outcomes *groupcommit.Batcher[settlement, struct{}]

	mu      sync.Mutex
	closed  bool // Run is stopping: no new charges
	running sync.WaitGroup
}

// settlement is a charge's outcome to record.
type settlement struct {
	owed    Owed
	outcome Outcome
}

// NewChargePayment returns the use case: at most concurrency charges at
// once, outcomes recorded in transactions of up to batch.MaxBatch.
func NewChargePayment(units Units, charger *Charger, concurrency int, batch groupcommit.Config, now Clock,
	log *slog.Logger) *ChargePayment {
	h := &ChargePayment{units: units, charger: charger, now: now, log: log,
		underway: &underway{charges: map[string]bool{}}, slots: make(chan struct{}, concurrency)}
	h.outcomes = groupcommit.New(batch, h.record)
	return h
}

// Start charges each owed payment in the background. It returns once every
// charge has started, waiting while the bound of concurrent charges is
// reached (which holds back the caller: backpressure from a slow PSP).
// Nothing is started once Run is stopping; those charges stay owed, for the
// sweep.
func (h *ChargePayment) Start(ctx context.Context, owed ...Owed) {
	for _, o := range owed {
		select {
		case h.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			<-h.slots
			return
		}
		h.running.Add(1)
		h.mu.Unlock()
		go func() {
			defer func() {
				<-h.slots
				h.running.Done()
			}()
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.charger.policy.Budget()+recordTimeout)
			defer cancel()
			if err := h.Handle(ctx, o); err != nil {
				h.log.WarnContext(ctx, "charge not settled; the sweep will charge again",
					"payment_id", o.Payment.ID(), "err", err)
			}
		}()
	}
}

// Run waits until ctx is done, then for the charges under way, so that
// their outcomes are recorded before the service stops.
func (h *ChargePayment) Run(ctx context.Context) error {
	<-ctx.Done()
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.running.Wait()
	return nil
}

// Handle charges o and records the outcome. If a charge of the same payment
// is under way in this process, it leaves it to that one. An error means no
// outcome was recorded; the charge is still owed.
func (h *ChargePayment) Handle(ctx context.Context, o Owed) error {
	id := o.Payment.ID()
	done, ok := h.underway.begin(id)
	if !ok {
		h.log.DebugContext(ctx, "payment already being charged", "payment_id", id)
		return nil
	}
	defer done()
	// The PSP call continues the trace of what made the payment owed.
	ctx = tracing.WithTraceParent(ctx, o.Cause.TraceParent)
	outcome, err := h.charger.Charge(ctx, o.Payment)
	if err != nil {
		return fmt.Errorf("charge: %w", err)
	}
	if _, err := h.outcomes.Do(ctx, settlement{owed: o, outcome: outcome}); err != nil {
		return fmt.Errorf("record %s: %w", outcome.Result, err)
	}
	h.log.InfoContext(ctx, "payment charged", "payment_id", id, "result", outcome.Result,
		"charge_id", outcome.ChargeID, "code", outcome.Code, "attempts", outcome.Attempts)
	return nil
}

// record is the outcomes' flush: every outcome of the batch in one unit of
// work. A payment that already has an outcome keeps it.
func (h *ChargePayment) record(ctx context.Context, batch []settlement) ([]groupcommit.Result[struct{}], error) {
	ids := make([]string, len(batch))
	for i, s := range batch {
		ids[i] = s.owed.Payment.ID()
	}
	results := make([]groupcommit.Result[struct{}], len(batch))
	err := h.units.Update(ctx, ids, func(ctx context.Context, payments Payments) error {
		for i, s := range batch {
			results[i] = groupcommit.Result[struct{}]{}
			p, version, err := payments.Get(ctx, ids[i])
			if err != nil {
				return err
			}
			if version == 0 {
				results[i].Err = fmt.Errorf("payment %s: %w", ids[i], domain.ErrNotFound)
				continue
			}
			late := p.Status() == domain.StatusFailed && s.outcome.Result == Captured
			if p.Status() != domain.StatusPending && !late {
				continue // recorded first by another charge of it
			}
			if late {
				h.log.WarnContext(ctx, "a charge of a payment recorded as failed was captured: recording the capture, which the compensation service refunds",
					"payment_id", ids[i], "charge_id", s.outcome.ChargeID)
			}
			ev, err := outcomeEvent(p, s.outcome)
			if err == nil {
				err = record(ctx, payments, ids[i], ev, s.owed.Cause, h.now)
			}
			results[i].Err = err
		}
		return nil
	})
	return results, err
}

// outcomeEvent turns an outcome into the payment's event.
func outcomeEvent(p domain.Payment, o Outcome) (schema.Event, error) {
	switch o.Result {
	case Captured:
		return p.Capture(o.ChargeID)
	case Declined:
		return p.Decline(o.Code, o.ChargeID)
	case Failed:
		return p.Fail(o.Code, o.Attempts)
	}
	return nil, errors.New("unknown charge result " + string(o.Result))
}

// underway holds the payments being charged in this process.
type underway struct {
	mu      sync.Mutex
	charges map[string]bool
}

// begin marks a charge of paymentID as under way, unless one is already;
// done ends it.
func (u *underway) begin(paymentID string) (done func(), ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.charges[paymentID] {
		return nil, false
	}
	u.charges[paymentID] = true
	return func() {
		u.mu.Lock()
		delete(u.charges, paymentID)
		u.mu.Unlock()
	}, true
}
