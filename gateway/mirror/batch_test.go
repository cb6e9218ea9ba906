package mirror_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/gateway/internal/eventtest"
	"github.com/orderflow/orderflow/gateway/mirror"
	"github.com/orderflow/orderflow/gateway/readmodel"
	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

func TestMirrorPublishesABatchWithEveryEventOnce(t *testing.T) {
	eventtest.UsesNATS(t)
	ctx := testenv.Context(t, time.Minute)
	js, stream, _, m := runningMirror(t)
	events := sagaEvents(20)
	batch := consumerMessages(t, append(append([]schema.Envelope{}, events...), events[:10]...)...)

	require.NoError(t, m.Publish(ctx, batch))
	msgs := streamMessages(t, js, stream)
	require.Len(t, msgs, len(events), "the repeats in the batch were dropped")
	for i, msg := range msgs {
		require.Equal(t, events[i].ID, msg.Header.Get(jetstream.MsgIDHeader), "stored in the batch's order")
	}
	require.Equal(t, mirror.Stats{Published: int64(len(events)), Duplicates: 10}, m.Stats())

	// The batch again, as the consumer retries after a failure.
	require.NoError(t, m.Publish(ctx, batch))
	n, err := streamCount(js, stream)
	require.NoError(t, err)
	require.Equal(t, len(events), n)
	require.Equal(t, mirror.Stats{Published: int64(len(events)), Duplicates: int64(10 + len(batch))}, m.Stats())

	// An event whose order id cannot be a subject token fails the batch as
	// Permanent (alone, it is dead-lettered), and nothing of it is published.
	bad := eventtest.NewSaga(uuid.NewString(), time.Now())
	bad.OrderID = "not.a.token"
	err = m.Publish(ctx, consumerMessages(t, append(sagaEvents(1), bad.Created())...))
	require.True(t, consumer.IsPermanent(err), "%v", err)
	n, err = streamCount(js, stream)
	require.NoError(t, err)
	require.Equal(t, len(events), n)
}

// The offsets of a batch are stored only after JetStream acknowledged every
// message of it: while the PubAcks are held back, the group commits nothing,
// although JetStream stored the messages.
func TestMirrorCommitsOnlyAfterThePubAcks(t *testing.T) {
	eventtest.UsesNATS(t)
	ctx := testenv.Context(t, 2*time.Minute)
	topicPrefix, topics := eventtest.Topics(t)
	_, js := eventtest.NATS(t)
	stream, subjectPrefix := eventtest.StreamNames(t, js)
	producer := eventtest.NewProducer(t, topics)
	proxy := newNATSProxy(t)
	m := newMirror(t, proxy.connect(t), mirror.Config{TopicPrefix: topicPrefix, Stream: mirror.Stream{Name: stream, SubjectPrefix: subjectPrefix}})
	run(t, m)
	first := sagaEvents(1)
	producer.Send(first...)
	waitCaughtUp(t, js, stream, m, len(first), 30*time.Second)

	proxy.Hold()
	held := sagaEvents(10)
	producer.Send(held...)
	total := len(first) + len(held)
	// JetStream stores what reaches it — the first batch of each partition;
	// the retries after the PubAck timeout wait for the stream check, whose
	// answer is held too — and none of it may be committed.
	testenv.Eventually(t, 30*time.Second, func() error {
		n, err := streamCount(js, stream)
		if err != nil || n <= len(first) {
			return errNotYet(n, err)
		}
		return nil
	})
	// Offsets are committed every 500 ms: watch for four times that.
	for range 10 {
		lag, err := m.Lag(ctx)
		require.NoError(t, err)
		require.EqualValues(t, len(held), lag, "nothing committed while the PubAcks are held")
		time.Sleep(200 * time.Millisecond)
	}
	n, err := streamCount(js, stream)
	require.NoError(t, err)
	t.Logf("%d of %d held events stored by JetStream, none committed", n-len(first), len(held))
	proxy.Release()

	waitCaughtUp(t, js, stream, m, total, 30*time.Second)
	msgs := streamMessages(t, js, stream)
	require.Len(t, msgs, total, "every event once")
	require.Equal(t, total, uniqueIDs(msgs))
	require.Positive(t, m.Stats().Duplicates, "the held events were published again")
}

// With Then, one group mirrors and projects: a batch's offsets are stored
// only once both succeeded, and a failing projection makes the batch go
// through the mirror again, which JetStream deduplicates.
func TestMirrorThenProjectsInTheSameGroup(t *testing.T) {
	eventtest.UsesNATS(t)
	ctx := testenv.Context(t, 2*time.Minute)
	topicPrefix, topics := eventtest.Topics(t)
	_, js := eventtest.NATS(t)
	stream, subjectPrefix := eventtest.StreamNames(t, js)
	producer := eventtest.NewProducer(t, topics)
	rdb := eventtest.Redis(t)
	redisPrefix := eventtest.RedisPrefix(t, rdb)
	projector, store := readmodel.NewProjector(rdb, redisPrefix), readmodel.NewStore(rdb, redisPrefix)

	var failing atomic.Bool
	failing.Store(true)
	then := func(ctx context.Context, msgs []consumer.Message) error {
		if failing.Load() {
			return errors.New("redis is not answering")
		}
		return projector.Handle(ctx, msgs)
	}
	m := newMirror(t, js, mirror.Config{TopicPrefix: topicPrefix, Then: then,
		Stream: mirror.Stream{Name: stream, SubjectPrefix: subjectPrefix}})

	customer := uuid.NewString()
	paid, declined := eventtest.NewSaga(customer, time.Now().Add(-time.Minute)), eventtest.NewSaga(customer, time.Now())
	events := append(paid.HappyPath(), declined.DeclinePath()...)
	producer.Send(events...)
	run(t, m)

	// The first message of each partition is mirrored, then its projection
	// fails, again and again: the partition waits there.
	testenv.Eventually(t, 30*time.Second, func() error {
		n, err := streamCount(js, stream)
		if err != nil || n == 0 {
			return errNotYet(n, err)
		}
		return nil
	})
	time.Sleep(time.Second) // two commit intervals
	lag, err := m.Lag(ctx)
	require.NoError(t, err)
	require.EqualValues(t, len(events), lag, "mirrored, not projected: nothing committed")
	got, err := store.Order(ctx, paid.OrderID)
	require.NoError(t, err)
	require.Nil(t, got)

	failing.Store(false)
	waitCaughtUp(t, js, stream, m, len(events), 30*time.Second)
	require.True(t, eventtest.CommittedToEnd(t, topicPrefix+"gateway", topics.Events()...), "the one group is <prefix>gateway")
	got, err = store.Order(ctx, paid.OrderID)
	require.NoError(t, err)
	require.Equal(t, model.OrderStatusPaid, got.Status)
	got, err = store.Order(ctx, declined.OrderID)
	require.NoError(t, err)
	require.Equal(t, model.OrderStatusCancelled, got.Status)
	require.Positive(t, m.Stats().Duplicates, "mirrored again with each retry of the projection")
	require.Equal(t, int64(len(events)), m.Stats().Published)
}
