package command

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/orderflow/orderflow/payment/domain"
	"github.com/orderflow/orderflow/schema"
)

// ChargePayment reacts to the service's own PaymentRequested: it charges the
// payment through the PSP and records PaymentCaptured, PaymentDeclined or
// PaymentFailed.
//
// The PSP is called outside any database transaction (a slow PSP must not
// hold a connection and row locks); the outcome is then recorded in a
// transaction that marks the message handled and appends at the version the
// payment had. A payment that already has an outcome is not charged again,
// and should two deliveries race, both use the same idempotency key, the PSP
// makes one charge, and only the first outcome is recorded. Within one
// process a charge waits for one of the same payment already under way (the
// charge right after the request, see RequestPayment, and the request's
// delivery often meet), so it finds the outcome instead of asking the PSP
// again.
type ChargePayment struct {
	repo     Repository
	charger  *Charger
	log      *slog.Logger
	underway *underway
}

// NewChargePayment returns the use case.
func NewChargePayment(repo Repository, charger *Charger, log *slog.Logger) ChargePayment {
	return ChargePayment{repo: repo, charger: charger, log: log, underway: &underway{charges: map[string]chan struct{}{}}}
}

// Handle handles one PaymentRequested, carried by in.
func (h ChargePayment) Handle(ctx context.Context, in schema.Envelope, req schema.PaymentRequested) error {
	done, err := h.underway.begin(ctx, req.PaymentID)
	if err != nil {
		return err
	}
	defer done()
	p, err := h.repo.Load(ctx, req.PaymentID)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if p.Status() != domain.StatusPending {
		h.log.InfoContext(ctx, "payment already charged", "payment_id", p.ID(), "status", p.Status())
		return nil
	}

	outcome, err := h.charger.Charge(ctx, p)
	if err != nil {
		return fmt.Errorf("charge: %w", err)
	}

	err = h.repo.Update(ctx, in, p.ID(), func(p domain.Payment) ([]schema.Event, error) {
		if p.Status() != domain.StatusPending {
			return nil, nil // another delivery recorded the outcome first
		}
		ev, err := record(p, outcome)
		if err != nil {
			return nil, err
		}
		return []schema.Event{ev}, nil
	})
	if err != nil {
		return fmt.Errorf("record %s: %w", outcome.Result, err)
	}
	h.log.InfoContext(ctx, "payment charged", "payment_id", p.ID(), "result", outcome.Result,
		"charge_id", outcome.ChargeID, "code", outcome.Code, "attempts", outcome.Attempts)
	return nil
}

// record turns an outcome into the payment's event.
func record(p domain.Payment, o Outcome) (schema.Event, error) {
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
	charges map[string]chan struct{} // closed when the charge is over
}

// begin waits until no other charge of the payment is under way in this
// process, then marks this one; done ends it.
func (u *underway) begin(ctx context.Context, paymentID string) (done func(), err error) {
	for {
		u.mu.Lock()
		over, busy := u.charges[paymentID]
		if !busy {
			over = make(chan struct{})
			u.charges[paymentID] = over
			u.mu.Unlock()
			return func() {
				u.mu.Lock()
				delete(u.charges, paymentID)
				u.mu.Unlock()
				close(over)
			}, nil
		}
		u.mu.Unlock()
		select {
		case <-over:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
