package statusfeed_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/gateway/internal/eventtest"
	"github.com/orderflow/orderflow/gateway/statusfeed"
	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/schema"
)

// sent is what a test expects of one order the feed sends: its status and
// version, and its payment's status as it was right after that change ("" for
// none yet).
type sent struct {
	status  model.OrderStatus
	version int
	payment model.PaymentStatus
}

func requireSent(t *testing.T, want sent, o *model.Order) {
	t.Helper()
	got := sent{status: o.Status, version: o.Version}
	if o.Payment != nil {
		got.payment = o.Payment.Status
	}
	require.Equal(t, want, got)
	require.Len(t, o.History, o.Version, "the order as it was after its version-%d event", o.Version)
}

// waitRead waits until feed has read the stream up to seq.
func waitRead(t *testing.T, feed *statusfeed.Feed, seq uint64) {
	t.Helper()
	require.Eventually(t, func() bool { return feed.Stats().Position >= seq }, 10*time.Second, 10*time.Millisecond,
		"the feed did not read up to %d", seq)
}

// Resume gets the status changes a client missed after its cursor, then the
// live ones, as a client that never lost its subscription would have. Each
// case runs on a feed that saw the order from its first event (memory) and on
// one that started after the events before the resume (history).
func TestResume(t *testing.T) {
	d := newDirect(t, false)
	tests := []struct {
		name   string
		before func(s *eventtest.Saga) []schema.Envelope // in the stream before the resume
		after  int
		missed []sent                                    // sent at once
		later  func(s *eventtest.Saga) []schema.Envelope // then published
		live   []sent                                    // then sent
		// fromMemory: a feed that holds the whole order answers without
		// reading its history.
		fromMemory bool
	}{
		{
			name: "mid-flight: exactly the missed changes, then the live ones",
			before: func(s *eventtest.Saga) []schema.Envelope {
				return []schema.Envelope{s.Created(), s.Requested(), s.Captured(), s.Paid(), s.CancelRequested(schema.ReasonCustomerRequest)}
			},
			after: 1,
			missed: []sent{{model.OrderStatusPaid, 2, model.PaymentStatusCaptured},
				{model.OrderStatusCancelling, 3, model.PaymentStatusCaptured}},
			later: func(s *eventtest.Saga) []schema.Envelope {
				return []schema.Envelope{s.Refunded(), s.Cancelled(schema.ReasonCustomerRequest)}
			},
			live: []sent{{model.OrderStatusCancelled, 4, model.PaymentStatusRefunded}},
		},
		{
			name:   "at the current version: only the later changes",
			before: func(s *eventtest.Saga) []schema.Envelope { return s.HappyPath() },
			after:  2,
			later: func(s *eventtest.Saga) []schema.Envelope {
				return []schema.Envelope{s.CancelRequested(schema.ReasonCustomerRequest), s.Refunded(), s.Cancelled(schema.ReasonCustomerRequest)}
			},
			live: []sent{{model.OrderStatusCancelling, 3, model.PaymentStatusCaptured},
				{model.OrderStatusCancelled, 4, model.PaymentStatusRefunded}},
			fromMemory: true,
		},
		{
			name:   "the order was cancelled meanwhile: the rest, then the end",
			before: func(s *eventtest.Saga) []schema.Envelope { return s.DeclinePath() },
			after:  1,
			missed: []sent{{model.OrderStatusCancelling, 2, model.PaymentStatusDeclined},
				{model.OrderStatusCancelled, 3, model.PaymentStatusDeclined}},
		},
		{
			name:       "after CANCELLED: the end at once",
			before:     func(s *eventtest.Saga) []schema.Envelope { return s.DeclinePath() },
			after:      3,
			fromMemory: true,
		},
		{
			name:   "from 0: every change from PENDING, each as it was then",
			before: func(s *eventtest.Saga) []schema.Envelope { return s.HappyPath() },
			after:  0,
			missed: []sent{{model.OrderStatusPending, 1, ""}, {model.OrderStatusPaid, 2, model.PaymentStatusCaptured}},
			later: func(s *eventtest.Saga) []schema.Envelope {
				return []schema.Envelope{s.CancelRequested(schema.ReasonCustomerRequest)}
			},
			live: []sent{{model.OrderStatusCancelling, 3, model.PaymentStatusCaptured}},
		},
	}
	for _, from := range []string{"memory", "history"} {
		for _, tt := range tests {
			t.Run(from+" "+tt.name, func(t *testing.T) {
				ctx := t.Context()
				s := d.saga()
				before := tt.before(s)
				seqs := d.publish(before...)
				cfg := statusfeed.Config{}
				if from == "history" {
					cfg.Lookback = time.Millisecond // starts after the events
				}
				feed := d.feed(cfg)
				if from == "memory" {
					waitRead(t, feed, seqs[len(seqs)-1])
				}
				histories := feed.Stats().Histories

				ch, err := feed.Resume(ctx, s.OrderID, tt.after)
				require.NoError(t, err)
				for _, want := range tt.missed {
					requireSent(t, want, next(t, ch))
				}
				if tt.later == nil {
					requireClosed(t, ch)
				} else {
					requireNothing(t, ch, 200*time.Millisecond)
					d.publish(tt.later(s)...)
					for _, want := range tt.live {
						requireSent(t, want, next(t, ch))
					}
					if tt.live[len(tt.live)-1].status == model.OrderStatusCancelled {
						requireClosed(t, ch)
					} else {
						requireNothing(t, ch, 200*time.Millisecond)
					}
				}
				if from == "memory" && tt.fromMemory {
					require.Equal(t, histories, feed.Stats().Histories, "served from memory")
				} else {
					require.Equal(t, histories+1, feed.Stats().Histories, "read from the order's history")
				}
			})
		}
	}
}

func TestResumeRefusesBadCursors(t *testing.T) {
	d := newDirect(t, false)
	paid := d.saga()
	seqs := d.publish(paid.HappyPath()...)
	memory := d.feed(statusfeed.Config{})
	waitRead(t, memory, seqs[len(seqs)-1])
	history := d.feed(statusfeed.Config{Lookback: time.Millisecond})
	consumers := d.consumers()
	unknown := uuid.NewString()

	for name, feed := range map[string]*statusfeed.Feed{"memory": memory, "history": history} {
		t.Run(name, func(t *testing.T) {
			tests := []struct {
				name  string
				id    string
				after int
				want  *model.Error
			}{
				{name: "below 0", id: paid.OrderID, after: -1, want: model.AfterVersionNegative(-1)},
				{name: "beyond the order's version", id: paid.OrderID, after: 3, want: model.AfterVersionAhead(paid.OrderID, 3, 2)},
				{name: "an unknown order", id: unknown, after: 1, want: model.OrderNotFound(unknown)},
				{name: "an unknown order at 0", id: unknown, after: 0, want: model.OrderNotFound(unknown)},
				{name: "not an order id", id: "a.>", after: 0, want: model.OrderNotFound("a.>")},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					ch, err := feed.Resume(t.Context(), tt.id, tt.after)
					require.Nil(t, ch)
					e, ok := model.AsError(err)
					require.True(t, ok, "a client error, not %v", err)
					require.Equal(t, *tt.want, *e)
					if tt.want.Code == model.CodeBadUserInput {
						require.Equal(t, "afterVersion", e.Field)
					}
				})
			}
		})
	}

	t.Run("an order with no event in the stream yet is at version 0", func(t *testing.T) {
		s := d.saga()
		_, err := memory.Resume(t.Context(), s.OrderID, 1)
		e, ok := model.AsError(err)
		require.True(t, ok, "a client error, not %v", err)
		require.Equal(t, *model.AfterVersionAhead(s.OrderID, 1, 0), *e)

		ch, err := memory.Resume(t.Context(), s.OrderID, 0)
		require.NoError(t, err)
		requireNothing(t, ch, 200*time.Millisecond)
		d.publish(s.Created())
		requireSent(t, sent{model.OrderStatusPending, 1, ""}, next(t, ch))
	})

	require.Eventually(t, func() bool {
		return memory.Stats().Subscribers+history.Stats().Subscribers == 0 && d.consumers() == consumers
	}, 10*time.Second, 10*time.Millisecond, "a refused resume holds nothing")
}

// A resumed subscriber the feed drops for falling behind re-syncs from the
// order's history and still sends each change after its cursor once.
func TestResumeASlowSubscriber(t *testing.T) {
	d := newDirect(t, false)
	feed := d.feed(statusfeed.Config{SubscriberBuffer: 1})
	s := d.saga()
	seqs := d.publish(s.Created(), s.Requested())
	waitRead(t, feed, seqs[len(seqs)-1])
	ch, err := feed.Resume(t.Context(), s.OrderID, 1)
	require.NoError(t, err)
	d.publish(s.Captured(), s.Paid(), s.CancelRequested(schema.ReasonCustomerRequest), s.Refunded(), s.Cancelled(schema.ReasonCustomerRequest))
	require.Eventually(t, func() bool { return feed.Stats().Overflows > 0 }, 10*time.Second, 10*time.Millisecond, "no overflow")

	var got []string
	for o := range ch {
		got = append(got, fmt.Sprintf("%s v%d", o.Status, o.Version))
	}
	require.Equal(t, []string{"PAID v2", "CANCELLING v3", "CANCELLED v4"}, got)
}
