package consumer

import (
	"context"
	"strconv"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// lagQueryTimeout bounds one watermark or committed-offset query to the
// broker, so that a broker that does not answer delays a stop this much.
const lagQueryTimeout = 2 * time.Second

// watchLag measures the lag of every assigned partition each LagInterval
// until ctx ends, the first time a second after the start (by when the
// group has usually assigned the partitions). It runs beside the poll
// loop: the broker round trips it makes (one watermark query per
// partition) must not hold up polling, and no message pays for them.
func (c *Consumer) watchLag(ctx context.Context) {
	t := time.NewTimer(min(time.Second, c.cfg.LagInterval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.measureLag(ctx)
			t.Reset(c.cfg.LagInterval)
		}
	}
}

// measureLag sets each assigned partition's lag: its high watermark (asked
// of the broker, since a paused partition's cached one stands still) less
// the offset after the last message its worker handled — or, before the
// worker handled any, the group's committed offset, or the partition's
// first offset if the group never committed (auto.offset.reset earliest).
func (c *Consumer) measureLag(ctx context.Context) {
	c.workersMu.RLock()
	workers := make([]*worker, 0, len(c.workers))
	for _, w := range c.workers {
		workers = append(workers, w)
	}
	c.workersMu.RUnlock()

	type measured struct {
		w         *worker
		low, high int64
		next      int64 // -1: not known yet
	}
	var (
		ms      []measured
		unknown []kafka.TopicPartition
	)
	for _, w := range workers {
		if ctx.Err() != nil {
			return
		}
		low, high, err := c.kc.QueryWatermarkOffsets(*w.tp.Topic, w.tp.Partition, int(lagQueryTimeout.Milliseconds()))
		if err != nil {
			c.log.Debug("lag: watermarks", "topic", *w.tp.Topic, "partition", w.tp.Partition, "err", err)
			continue
		}
		next := w.handled.Load()
		if next < 0 {
			unknown = append(unknown, w.tp)
		}
		ms = append(ms, measured{w: w, low: low, high: high, next: next})
	}
	if len(unknown) > 0 {
		committed, err := c.kc.Committed(unknown, int(lagQueryTimeout.Milliseconds()))
		if err != nil {
			c.log.Debug("lag: committed offsets", "err", err)
		}
		for _, tp := range committed {
			for i := range ms {
				if ms[i].next < 0 && ms[i].w.tp.Partition == tp.Partition && *ms[i].w.tp.Topic == *tp.Topic && tp.Error == nil {
					ms[i].next = max(int64(tp.Offset), ms[i].low) // OffsetInvalid (-1001): nothing committed
				}
			}
		}
	}
	for _, m := range ms {
		if m.next < 0 {
			continue // the committed offset could not be read: measured next time
		}
		c.setLag(m.w, max(m.high-m.next, 0))
	}
}

// setLag sets w's lag gauge, unless w was stopped meanwhile: the gauge of
// a partition no longer assigned is gone (forgetLag) and must stay gone,
// or it would show a lag that nobody reduces.
func (c *Consumer) setLag(w *worker, lag int64) {
	c.lagMu.Lock()
	defer c.lagMu.Unlock()
	if !w.forgotten {
		c.cfg.Metrics.lag.WithLabelValues(c.cfg.Group, *w.tp.Topic, strconv.Itoa(int(w.tp.Partition))).Set(float64(lag))
	}
}

// forgetLag removes the lag gauge of a worker that stopped.
func (c *Consumer) forgetLag(w *worker) {
	c.lagMu.Lock()
	defer c.lagMu.Unlock()
	w.forgotten = true
	c.cfg.Metrics.lag.DeleteLabelValues(c.cfg.Group, *w.tp.Topic, strconv.Itoa(int(w.tp.Partition)))
}
