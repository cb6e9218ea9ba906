// Package deadline fires payment deadlines: it polls the stored deadlines
// of active sagas and hands each due one to the FireDeadline use case.
// Polling a table rather than holding timers in memory is what makes a
// deadline survive a restart, and the row locks make several replicas share
// the work without firing one deadline twice. OverdueWatch counts, for
// Prometheus, the deadlines that stay unfired long after they passed.
package deadline

import (
	"context"
	"log/slog"
	"time"

	"github.com/orderflow/orderflow/compensation/app/command"
)

// batchSize bounds how many deadlines one transaction fires.
const batchSize = 100

// DueDeadlines hands due deadlines to fire, each with the unit of work of
// the transaction that holds its lock — one unit for a whole batch, unless
// a deadline that failed must be isolated — and reports how many it locked.
type DueDeadlines interface {
	FireDue(ctx context.Context, now time.Time, limit int,
		fire func(ctx context.Context, sagas command.Sagas, orderID string) error) (int, error)
}

// Poller fires due deadlines every interval.
type Poller struct {
	deadlines DueDeadlines
	fire      command.FireDeadlineHandler
	every     time.Duration
	now       command.Clock
	log       *slog.Logger
}

// NewPoller returns a poller.
func NewPoller(deadlines DueDeadlines, fire command.FireDeadlineHandler, every time.Duration, now command.Clock, log *slog.Logger) *Poller {
	return &Poller{deadlines: deadlines, fire: fire, every: every, now: now, log: log}
}

// Run polls until ctx is done. A failed poll is logged and tried again on
// the next tick: the deadlines stay stored, so nothing is lost meanwhile.
func (p *Poller) Run(ctx context.Context) error {
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		p.poll(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// poll fires batches until fewer than a full batch were due.
func (p *Poller) poll(ctx context.Context) {
	for ctx.Err() == nil {
		now := p.now()
		n, err := p.deadlines.FireDue(ctx, now, batchSize,
			func(ctx context.Context, sagas command.Sagas, orderID string) error {
				return p.fire.Handle(ctx, sagas, command.FireDeadline{OrderID: orderID, Now: now})
			})
		if err != nil {
			if ctx.Err() == nil {
				p.log.WarnContext(ctx, "fire payment deadlines", "err", err)
			}
			return
		}
		if n < batchSize {
			return
		}
	}
}
