package consumer

import (
	"context"
	"strconv"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// lagQueryTimeout bounds one offsets or committed-offset query to the
// broker, so that a broker that does not answer delays a stop this much.
const lagQueryTimeout = 2 * time.Second

// watchLag measures the lag of every assigned partition each LagInterval
// until ctx ends, the first time a second after the start (by when the
// group has usually assigned the partitions). It runs beside the poll
// loop: the broker round trips it makes must not hold up polling, and no
// message pays for them.
func (c *Consumer) watchLag(ctx context.Context) {
	admin, err := kafka.NewAdminClientFromConsumer(c.kc)
	if err != nil {
		c.log.Warn("lag: no admin client; the lag gauge stays empty", "err", err)
		return
	}
	defer admin.Close()
	t := time.NewTimer(min(time.Second, c.cfg.LagInterval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.measureLag(ctx, admin)
			t.Reset(c.cfg.LagInterval)
		}
	}
}

// measureLag sets each assigned partition's lag: its end offset (asked of
// the broker, since a paused partition's cached one stands still) less the
// offset after the last message its worker handled — or, before the worker
// handled any, the group's committed offset, or the partition's first
// offset if the group never committed (auto.offset.reset earliest). The
// end offsets of every partition come in one ListOffsets request per
// broker, not one request per partition.
func (c *Consumer) measureLag(ctx context.Context, admin *kafka.AdminClient) {
	c.workersMu.RLock()
	workers := make([]*worker, 0, len(c.workers))
	for _, w := range c.workers {
		workers = append(workers, w)
	}
	c.workersMu.RUnlock()
	if len(workers) == 0 {
		return
	}

	ends, err := offsets(ctx, admin, workers, kafka.LatestOffsetSpec)
	if err != nil {
		c.log.Debug("lag: end offsets", "err", err)
		return
	}
	next := make(map[partition]int64, len(workers))
	var unknown []*worker
	for _, w := range workers {
		if n := w.handled.Load(); n >= 0 {
			next[partitionKey(w.tp)] = n
		} else {
			unknown = append(unknown, w)
		}
	}
	if len(unknown) > 0 {
		c.committedOrFirst(ctx, admin, unknown, next)
	}
	for _, w := range workers {
		key := partitionKey(w.tp)
		end, okEnd := ends[key]
		n, okNext := next[key]
		if !okEnd || !okNext {
			continue // measured next time
		}
		c.setLag(w, max(end-n, 0))
	}
}

// committedOrFirst fills next with where each of workers will read from:
// the group's committed offset, or the partition's first one if the group
// committed none.
func (c *Consumer) committedOrFirst(ctx context.Context, admin *kafka.AdminClient, workers []*worker, next map[partition]int64) {
	tps := make([]kafka.TopicPartition, len(workers))
	for i, w := range workers {
		tps[i] = w.tp
	}
	committed, err := c.kc.Committed(tps, int(lagQueryTimeout.Milliseconds()))
	if err != nil {
		c.log.Debug("lag: committed offsets", "err", err)
		return
	}
	firsts, err := offsets(ctx, admin, workers, kafka.EarliestOffsetSpec)
	if err != nil {
		c.log.Debug("lag: first offsets", "err", err)
		return
	}
	for _, tp := range committed {
		key := partitionKey(tp)
		first, ok := firsts[key]
		if tp.Error != nil || !ok {
			continue
		}
		next[key] = max(int64(tp.Offset), first) // OffsetInvalid (-1001): nothing committed
	}
}

// offsets asks the brokers for the given offset (latest, earliest) of each
// worker's partition, in one request per broker.
func offsets(ctx context.Context, admin *kafka.AdminClient, workers []*worker, spec kafka.OffsetSpec) (map[partition]int64, error) {
	ask := make(map[kafka.TopicPartition]kafka.OffsetSpec, len(workers))
	for _, w := range workers {
		ask[w.tp] = spec
	}
	ctx, cancel := context.WithTimeout(ctx, lagQueryTimeout)
	defer cancel()
	res, err := admin.ListOffsets(ctx, ask)
	if err != nil {
		return nil, err
	}
	out := make(map[partition]int64, len(res.ResultInfos))
	for tp, info := range res.ResultInfos {
		if info.Error.Code() == kafka.ErrNoError {
			out[partitionKey(tp)] = int64(info.Offset)
		}
	}
	return out, nil
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

// forgetLag removes the lag and held keys gauges of a worker that stopped.
func (c *Consumer) forgetLag(w *worker) {
	c.lagMu.Lock()
	defer c.lagMu.Unlock()
	w.forgotten = true
	c.cfg.Metrics.lag.DeleteLabelValues(c.cfg.Group, *w.tp.Topic, strconv.Itoa(int(w.tp.Partition)))
	c.cfg.Metrics.held.DeleteLabelValues(c.cfg.Group, *w.tp.Topic, strconv.Itoa(int(w.tp.Partition)))
}
