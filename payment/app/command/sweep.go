package command

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/orderflow/orderflow/payment/domain"
	"github.com/orderflow/orderflow/schema"
)

// Due is an owed charge whose time is up: its payment, and the cause its
// outcome is recorded with.
type Due struct {
	PaymentID string
	Cause     schema.Cause
}

// OwedCharges are the charges owed: recorded with each request, removed
// with its outcome.
type OwedCharges interface {
	// ClaimDue takes up to limit owed charges whose time is up, and puts
	// them off for a lease, so that no other sweep takes them meanwhile.
	ClaimDue(ctx context.Context, limit int) ([]Due, error)
}

// Sweep recovers charges that were interrupted: a process that died (or
// lost the PSP, or the database) after a payment's request committed and
// before its outcome did leaves the charge owed; once it has been owed
// longer than the grace period, the sweep charges it again with the same
// idempotency key, so the PSP replays a charge it made and makes one it did
// not. Each owed charge is leased to one sweep at a time; should two
// replicas charge the same payment all the same (the lease ran out while a
// slow charge was under way), the second call is a replay at the PSP and
// only one outcome is recorded.
type Sweep struct {
	owed     OwedCharges
	units    Units
	charge   *ChargePayment
	interval time.Duration
	batch    int
	log      *slog.Logger
}

// NewSweep returns a sweep that looks for due charges every interval, batch
// at a time.
func NewSweep(owed OwedCharges, units Units, charge *ChargePayment, interval time.Duration, batch int,
	log *slog.Logger) *Sweep {
	return &Sweep{owed: owed, units: units, charge: charge, interval: interval, batch: batch, log: log}
}

// Run sweeps at once, then every interval, until ctx is done.
func (s *Sweep) Run(ctx context.Context) error {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		if _, err := s.Once(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "sweep of owed charges failed; will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Once takes over every owed charge that is due and starts charging them.
// It returns how many it started.
func (s *Sweep) Once(ctx context.Context) (int, error) {
	started := 0
	for {
		due, err := s.owed.ClaimDue(ctx, s.batch)
		if err != nil || len(due) == 0 {
			return started, err
		}
		ids := make([]string, len(due))
		for i, d := range due {
			ids[i] = d.PaymentID
		}
		var owed []Owed
		err = s.units.Update(ctx, ids, func(ctx context.Context, payments Payments) error {
			owed = owed[:0]
			for _, d := range due {
				p, version, err := payments.Get(ctx, d.PaymentID)
				if err != nil {
					return err
				}
				if version == 0 || p.Status() != domain.StatusPending {
					s.log.ErrorContext(ctx, "an owed charge's payment is not pending", "payment_id", d.PaymentID,
						"status", p.Status())
					continue
				}
				owed = append(owed, Owed{Payment: p, Cause: d.Cause})
			}
			return nil
		})
		if err != nil {
			return started, fmt.Errorf("load owed payments: %w", err)
		}
		s.log.InfoContext(ctx, "charging again what an interrupted charge left owed", "payments", len(owed))
		s.charge.Start(ctx, owed...)
		started += len(owed)
		if len(due) < s.batch {
			return started, nil
		}
	}
}
