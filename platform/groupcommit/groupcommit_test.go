package groupcommit_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/platform/groupcommit"
)

var errBad = errors.New("bad request breaks the transaction")

// recorder is a flush that doubles each request, remembers every batch it
// was given, and blocks its first flush until released, so that a test can
// queue requests behind it. A negative request fails the whole batch; a
// request of 999 fails alone.
type recorder struct {
	mu      sync.Mutex
	batches [][]int
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func newRecorder() *recorder {
	return &recorder{entered: make(chan struct{}), release: make(chan struct{})}
}

func (r *recorder) flush(ctx context.Context, reqs []int) ([]groupcommit.Result[int], error) {
	first := false
	r.once.Do(func() { first = true })
	if first {
		close(r.entered)
		<-r.release
	}
	r.mu.Lock()
	r.batches = append(r.batches, slices.Clone(reqs))
	r.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]groupcommit.Result[int], len(reqs))
	for i, req := range reqs {
		switch {
		case req < 0:
			return nil, errBad
		case req == 999:
			out[i].Err = fmt.Errorf("request %d refused", req)
		default:
			out[i].Value = 2 * req
		}
	}
	return out, nil
}

func (r *recorder) seen() [][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

type answer struct {
	req, value int
	err        error
}

// blockFirst starts a call of 0 and returns once its flush is running, so
// that later calls queue.
func blockFirst(t *testing.T, b *groupcommit.Batcher[int, int], r *recorder, ctx context.Context) <-chan answer {
	t.Helper()
	out := make(chan answer, 1)
	go func() {
		v, err := b.Do(ctx, 0)
		out <- answer{0, v, err}
	}()
	<-r.entered
	return out
}

// queue calls Do for each request concurrently and waits until all of them
// wait for the next flush.
func queue(t *testing.T, b *groupcommit.Batcher[int, int], ctx context.Context, reqs ...int) <-chan answer {
	t.Helper()
	out := make(chan answer, len(reqs))
	for _, req := range reqs {
		go func() {
			v, err := b.Do(ctx, req)
			out <- answer{req, v, err}
		}()
	}
	waitQueued(t, b, len(reqs))
	return out
}

func waitQueued(t *testing.T, b *groupcommit.Batcher[int, int], n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for b.Queued() < n {
		require.True(t, time.Now().Before(deadline), "only %d of %d requests queued", b.Queued(), n)
		time.Sleep(time.Millisecond)
	}
}

func collect(t *testing.T, answers <-chan answer, n int) map[int]answer {
	t.Helper()
	got := map[int]answer{}
	for range n {
		a := <-answers
		got[a.req] = a
	}
	return got
}

func sizes(batches [][]int) []int {
	out := make([]int, len(batches))
	for i, b := range batches {
		out[i] = len(b)
	}
	return out
}

func TestRequestsThatArriveDuringAFlushShareTheNext(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxBatch int
		queued   int
		want     []int // batch sizes after the first
	}{
		{"all in one", 64, 20, []int{20}},
		{"bounded by MaxBatch", 3, 7, []int{3, 3, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecorder()
			b := groupcommit.New(groupcommit.Config{MaxBatch: tc.maxBatch}, r.flush)
			ctx := context.Background()
			first := blockFirst(t, b, r, ctx)
			reqs := make([]int, tc.queued)
			for i := range reqs {
				reqs[i] = i + 1
			}
			answers := queue(t, b, ctx, reqs...)
			close(r.release)

			require.NoError(t, (<-first).err)
			got := collect(t, answers, tc.queued)
			for _, req := range reqs {
				require.NoError(t, got[req].err)
				require.Equal(t, 2*req, got[req].value, "each caller gets its own answer")
			}
			require.Equal(t, append([]int{1}, tc.want...), sizes(r.seen()))
		})
	}
}

func TestAFailedFlushIsRetriedRequestByRequest(t *testing.T) {
	r := newRecorder()
	b := groupcommit.New(groupcommit.Config{}, r.flush)
	ctx := context.Background()
	first := blockFirst(t, b, r, ctx)
	answers := queue(t, b, ctx, 1, 2, -1, 999, 3)
	close(r.release)

	require.NoError(t, (<-first).err)
	got := collect(t, answers, 5)
	require.ErrorIs(t, got[-1].err, errBad, "the request that broke the batch fails alone")
	require.ErrorContains(t, got[999].err, "request 999 refused", "a refused request keeps its own error")
	for _, req := range []int{1, 2, 3} {
		require.NoError(t, got[req].err)
		require.Equal(t, 2*req, got[req].value)
	}
	require.Equal(t, []int{1, 5, 1, 1, 1, 1, 1}, sizes(r.seen()), "the failed batch of 5, then each alone")
}

func TestARefusedRequestDoesNotFailItsBatch(t *testing.T) {
	r := newRecorder()
	b := groupcommit.New(groupcommit.Config{}, r.flush)
	ctx := context.Background()
	first := blockFirst(t, b, r, ctx)
	answers := queue(t, b, ctx, 999, 4)
	close(r.release)

	require.NoError(t, (<-first).err)
	got := collect(t, answers, 2)
	require.Error(t, got[999].err)
	require.Equal(t, 8, got[4].value)
	require.Equal(t, []int{1, 2}, sizes(r.seen()), "no retry: the flush itself succeeded")
}

func TestACallerThatGivesUpDoesNotBreakTheOthers(t *testing.T) {
	r := newRecorder()
	b := groupcommit.New(groupcommit.Config{}, r.flush)
	ctx := context.Background()
	leaderCtx, cancelLeader := context.WithCancel(ctx)
	first := blockFirst(t, b, r, leaderCtx)
	waitingCtx, cancelWaiting := context.WithCancel(ctx)
	gaveUp := queue(t, b, waitingCtx, 7)
	answers := queue(t, b, ctx, 5, 6)
	waitQueued(t, b, 3)

	cancelLeader()
	require.ErrorIs(t, (<-first).err, context.Canceled, "the caller whose request is in the flush")
	cancelWaiting()
	require.ErrorIs(t, (<-gaveUp).err, context.Canceled, "the caller whose request waits")
	close(r.release)

	got := collect(t, answers, 2)
	for _, req := range []int{5, 6} {
		require.NoError(t, got[req].err)
		require.Equal(t, 2*req, got[req].value)
	}
	batches := r.seen()
	require.Equal(t, [][]int{{0}}, batches[:1], "the leader's flush ran to the end despite its caller leaving")
	require.Len(t, batches, 2)
	require.ElementsMatch(t, []int{5, 6}, batches[1], "the request whose caller left before its flush is not flushed")
}

func TestConcurrentCallersUnderLoad(t *testing.T) {
	var (
		mu     sync.Mutex
		counts []int
	)
	b := groupcommit.New(groupcommit.Config{MaxBatch: 16}, func(ctx context.Context, reqs []int) ([]groupcommit.Result[int], error) {
		mu.Lock()
		counts = append(counts, len(reqs))
		mu.Unlock()
		out := make([]groupcommit.Result[int], len(reqs))
		for i, req := range reqs {
			out[i].Value = req + 1000
		}
		return out, nil
	})
	var wg sync.WaitGroup
	for i := range 500 {
		wg.Go(func() {
			v, err := b.Do(context.Background(), i)
			require.NoError(t, err)
			require.Equal(t, i+1000, v)
		})
	}
	wg.Wait()
	total := 0
	for _, n := range counts {
		require.LessOrEqual(t, n, 16)
		total += n
	}
	require.Equal(t, 500, total, "every request flushed exactly once")
}

func TestAFailureMarkedFailAllIsEveryonesAndNotRetried(t *testing.T) {
	errCommit := errors.New("commit: connection lost")
	var (
		mu      sync.Mutex
		flushes int
	)
	entered, release := make(chan struct{}), make(chan struct{})
	b := groupcommit.New(groupcommit.Config{}, func(ctx context.Context, reqs []int) ([]groupcommit.Result[int], error) {
		mu.Lock()
		flushes++
		first := flushes == 1
		mu.Unlock()
		if first {
			close(entered)
			<-release
			return []groupcommit.Result[int]{{Value: 0}}, nil
		}
		return nil, groupcommit.FailAll(fmt.Errorf("flush %d requests: %w", len(reqs), errCommit))
	})
	ctx := context.Background()
	go func() { _, _ = b.Do(ctx, 0) }()
	<-entered
	answers := queue(t, b, ctx, 1, 2, 3)
	close(release)

	got := collect(t, answers, 3)
	for _, req := range []int{1, 2, 3} {
		require.ErrorIs(t, got[req].err, errCommit)
		require.ErrorContains(t, got[req].err, "flush 3 requests")
	}
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 2, flushes, "the failed batch is not flushed again request by request")
}
