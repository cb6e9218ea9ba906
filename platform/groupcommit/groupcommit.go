// Package groupcommit gathers concurrent requests into one flush — one
// transaction, one commit — and gives each caller its own answer.
//
// Batching is natural: a request that arrives while a flush runs waits for
// the next one, which takes every request that waited (up to MaxBatch). No
// timer holds a lone request back, so an idle service answers as fast as it
// did unbatched, and a busy one commits many requests per fsync.
//
// A flush answers each request on its own (a request the flush refuses, such
// as invalid input, fails alone) or fails as a whole (the transaction did not
// commit). After a whole-batch failure every request of the batch is flushed
// again alone, so the one that broke the transaction fails alone and the
// others commit — unless the flush marks the failure FailAll.
package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Result is one request's answer from a flush.
type Result[Resp any] struct {
	Value Resp
	Err   error
}

// Flush handles reqs together and returns one result per request, in the
// order given, once their effects are durable. An error means nothing of the
// batch took effect (the transaction rolled back).
type Flush[Req, Resp any] func(ctx context.Context, reqs []Req) ([]Result[Resp], error)

// Config bounds a Batcher.
type Config struct {
	// MaxBatch is the most requests one flush takes (default 64).
	MaxBatch int
	// Timeout bounds one flush (default 30s). A flush does not end when the
	// caller that started it gives up: the others wait for its answer.
	Timeout time.Duration
}

func (c *Config) setDefaults() {
	if c.MaxBatch <= 0 {
		c.MaxBatch = 64
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
}

// FailAll marks a flush error that is no request's fault and that a retry
// could make worse — above all a failed COMMIT, whose outcome is unknown:
// the batch is not flushed again request by request, every caller gets err.
func FailAll(err error) error {
	if err == nil {
		return nil
	}
	return failAll{err}
}

type failAll struct{ err error }

func (e failAll) Error() string { return e.err.Error() }
func (e failAll) Unwrap() error { return e.err }

// Batcher runs one flush at a time over the requests that wait.
type Batcher[Req, Resp any] struct {
	cfg   Config
	flush Flush[Req, Resp]

	mu       sync.Mutex
	queue    []*call[Req, Resp]
	flushing bool
}

type call[Req, Resp any] struct {
	ctx  context.Context
	req  Req
	res  Result[Resp]
	done chan struct{}
}

// New returns a batcher over flush.
func New[Req, Resp any](cfg Config, flush Flush[Req, Resp]) *Batcher[Req, Resp] {
	cfg.setDefaults()
	return &Batcher[Req, Resp]{cfg: cfg, flush: flush}
}

// Do queues req for the next flush and returns its answer. If ctx ends
// first, Do returns ctx's error; a request already in a flush may still take
// effect (as with any call whose answer is lost), one still waiting does not.
func (b *Batcher[Req, Resp]) Do(ctx context.Context, req Req) (Resp, error) {
	c := &call[Req, Resp]{ctx: ctx, req: req, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	if !b.flushing {
		b.flushing = true
		go b.run()
	}
	b.mu.Unlock()
	select {
	case <-c.done:
		return c.res.Value, c.res.Err
	case <-ctx.Done():
		var zero Resp
		return zero, ctx.Err()
	}
}

// Queued returns how many requests wait for the next flush.
func (b *Batcher[Req, Resp]) Queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// run flushes batches until none waits.
func (b *Batcher[Req, Resp]) run() {
	for {
		batch := b.take()
		if batch == nil {
			return
		}
		b.flushBatch(batch)
	}
}

// take removes the next batch from the queue, leaving out callers that gave
// up, or ends the run when the queue is empty.
func (b *Batcher[Req, Resp]) take() []*call[Req, Resp] {
	b.mu.Lock()
	defer b.mu.Unlock()
	var batch []*call[Req, Resp]
	for len(b.queue) > 0 && len(batch) < b.cfg.MaxBatch {
		c := b.queue[0]
		b.queue[0] = nil
		b.queue = b.queue[1:]
		if c.ctx.Err() == nil {
			batch = append(batch, c)
		}
	}
	if len(batch) == 0 && len(b.queue) == 0 {
		b.queue = nil
		b.flushing = false
		return nil
	}
	return batch
}

func (b *Batcher[Req, Resp]) flushBatch(batch []*call[Req, Resp]) {
	results, err := b.try(batch)
	var whole failAll
	if errors.As(err, &whole) {
		err = whole.err
	} else if err != nil && len(batch) > 1 {
		for _, c := range batch {
			if c.ctx.Err() != nil { // gave up: not worth a transaction of its own
				c.res = Result[Resp]{Err: err}
				close(c.done)
				continue
			}
			b.flushBatch([]*call[Req, Resp]{c})
		}
		return
	}
	for i, c := range batch {
		if err != nil {
			c.res = Result[Resp]{Err: err}
		} else {
			c.res = results[i]
		}
		close(c.done)
	}
}

// try flushes batch under a context of its own: values from the batch's
// first caller, no cancellation from any, and the configured timeout.
func (b *Batcher[Req, Resp]) try(batch []*call[Req, Resp]) ([]Result[Resp], error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), b.cfg.Timeout)
	defer cancel()
	reqs := make([]Req, len(batch))
	for i, c := range batch {
		reqs[i] = c.req
	}
	results, err := b.flush(ctx, reqs)
	if err == nil && len(results) != len(reqs) {
		err = fmt.Errorf("groupcommit: flush returned %d results for %d requests", len(results), len(reqs))
	}
	if err == nil {
		return results, nil
	}
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		err = fmt.Errorf("groupcommit: flush took longer than %s: %w", b.cfg.Timeout, err)
	}
	return nil, err
}
