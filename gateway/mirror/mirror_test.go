package mirror_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/gateway/internal/eventtest"
	"github.com/orderflow/orderflow/gateway/mirror"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

func sagaEvents(n int) []schema.Envelope {
	var events []schema.Envelope
	for i := range n {
		s := eventtest.NewSaga(uuid.NewString(), time.Now())
		if i%2 == 0 {
			events = append(events, s.HappyPath()...)
		} else {
			events = append(events, s.DeclinePath()...)
		}
	}
	return events
}

func TestMirrorPublishesEveryEventOnce(t *testing.T) {
	eventtest.UsesNATS(t)
	ctx := testenv.Context(t, time.Minute)
	topicPrefix, topics := eventtest.Topics(t)
	_, js := eventtest.NATS(t)
	stream, subjectPrefix := eventtest.StreamNames(t, js)
	producer := eventtest.NewProducer(t, topics)
	cfg := mirror.Config{TopicPrefix: topicPrefix, Stream: mirror.Stream{Name: stream, SubjectPrefix: subjectPrefix}}

	events := sagaEvents(6)
	producer.Send(events...)
	producer.Send(events[:4]...) // the outbox relay published these twice
	m := newMirror(t, js, cfg)
	lag, err := m.Lag(ctx)
	require.NoError(t, err)
	require.EqualValues(t, len(events)+4, lag, "nothing mirrored yet: every message is lag")

	run(t, m)
	waitCaughtUp(t, js, stream, m, len(events), 30*time.Second)
	require.Equal(t, mirror.Stats{Published: int64(len(events)), Duplicates: 4}, m.Stats())

	byID := map[string]schema.Envelope{}
	for _, env := range events {
		byID[env.ID] = env
	}
	msgs := streamMessages(t, js, stream)
	require.Len(t, msgs, len(events))
	require.Equal(t, len(events), uniqueIDs(msgs))
	for _, msg := range msgs {
		env, ok := byID[msg.Header.Get(jetstream.MsgIDHeader)]
		require.True(t, ok, "Nats-Msg-Id is the event id")
		require.Equal(t, subjectPrefix+"orderflow.events."+env.CorrelationID+"."+env.AggregateType, msg.Subject)
		kafkaMsg := eventtest.Message(t, env)
		require.Equal(t, kafkaMsg.Value, msg.Data, "body is the Kafka value")
		for _, h := range kafkaMsg.Headers {
			require.Equal(t, []string{string(h.Value)}, msg.Header.Values(h.Key), "header %s", h.Key)
		}
	}

	// A second mirror reading everything again (a new group, from offset
	// 0) adds nothing: JetStream drops what it already has.
	replay := newMirror(t, js, mirror.Config{TopicPrefix: topicPrefix, Group: testenv.UniqueName("replay"),
		Stream: mirror.Stream{Name: stream, SubjectPrefix: subjectPrefix}})
	run(t, replay)
	waitCaughtUp(t, js, stream, replay, len(events), 30*time.Second)
	require.Equal(t, mirror.Stats{Duplicates: int64(len(events) + 4)}, replay.Stats())

	// A second member of the first group shares the partitions; events
	// produced meanwhile are mirrored once.
	member := newMirror(t, js, cfg)
	run(t, member)
	more := sagaEvents(6)
	producer.Send(more...)
	waitCaughtUp(t, js, stream, m, len(events)+len(more), 30*time.Second)
	msgs = streamMessages(t, js, stream)
	require.Len(t, msgs, len(events)+len(more))
	require.Equal(t, len(msgs), uniqueIDs(msgs))

	info, err := js.Stream(ctx, stream)
	require.NoError(t, err)
	require.Equal(t, jetstream.FileStorage, info.CachedInfo().Config.Storage)
	require.Equal(t, mirror.DefaultDuplicates, info.CachedInfo().Config.Duplicates)
	require.Equal(t, []string{subjectPrefix + schema.NATSSubjectAll}, info.CachedInfo().Config.Subjects)
}

func TestMirrorRemakesADeletedStream(t *testing.T) {
	eventtest.UsesNATS(t)
	ctx := testenv.Context(t, time.Minute)
	js, stream, producer, m := runningMirror(t)

	producer.Send(sagaEvents(1)...)
	waitCaughtUp(t, js, stream, m, 5, 30*time.Second)
	require.NoError(t, js.DeleteStream(ctx, stream)) // JetStream wiped

	later := sagaEvents(1)
	producer.Send(later...)
	waitCaughtUp(t, js, stream, m, len(later), 30*time.Second)
}

func TestMirrorResumesAfterNATSRestart(t *testing.T) {
	eventtest.RestartsNATS(t)
	ctx := testenv.Context(t, 2*time.Minute)
	js, stream, producer, m := runningMirror(t)

	// Events keep flowing before, during and after the outage.
	produced := make(chan int)
	stopProducing := make(chan struct{})
	go func() {
		n := 0
		defer func() { produced <- n }()
		for {
			events := sagaEvents(1)
			producer.Send(events...)
			n += len(events)
			select {
			case <-stopProducing:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	testenv.Eventually(t, 10*time.Second, func() error {
		n, err := streamCount(js, stream)
		if err != nil || n < 20 {
			return errNotYet(n, err)
		}
		return nil
	})

	testenv.StopServer(t, "nats")
	// While NATS is down the mirror falls behind, and stores no offset.
	testenv.Eventually(t, 10*time.Second, func() error {
		lag, err := m.Lag(ctx)
		if err != nil || lag < 10 {
			return errNotYet(int(lag), err)
		}
		return nil
	})
	testenv.Infra(t, "up")
	time.Sleep(500 * time.Millisecond)
	close(stopProducing)
	total := <-produced

	waitCaughtUp(t, js, stream, m, total, 60*time.Second)
	msgs := streamMessages(t, js, stream)
	require.Len(t, msgs, total, "every event once")
	require.Equal(t, total, uniqueIDs(msgs))
	t.Logf("%d events mirrored across a NATS restart; %d publishes were repeats JetStream dropped", total, m.Stats().Duplicates)
}

func errNotYet(n int, err error) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("not yet: %d", n)
}

// Lag asks Kafka for the group's committed offsets. While Kafka restarts the
// group coordinator answers NOT_COORDINATOR, and librdkafka 2.11 crashed the
// whole process on that answer when it was asked through an admin client.
func TestMirrorLagSurvivesAKafkaRestart(t *testing.T) {
	eventtest.UsesNATS(t)
	ctx := testenv.Context(t, 3*time.Minute)
	js, stream, producer, m := runningMirror(t)
	events := sagaEvents(3)
	producer.Send(events...)
	waitCaughtUp(t, js, stream, m, len(events), 30*time.Second)

	// Ask for the lag all along the outage and the restart, as /readyz and
	// a metrics scrape do.
	asking, stopAsking := context.WithCancel(ctx)
	var (
		wg            sync.WaitGroup
		calls, failed atomic.Int64
	)
	// Stopped before the mirror is closed, also when the test fails early.
	stop := sync.OnceFunc(func() { stopAsking(); wg.Wait() })
	defer stop()
	for range 4 {
		wg.Go(func() {
			for asking.Err() == nil {
				calls.Add(1)
				call, cancel := context.WithTimeout(asking, 500*time.Millisecond)
				if _, err := m.Lag(call); err != nil {
					failed.Add(1)
				}
				cancel()
			}
		})
	}
	testenv.StopKafka(t)
	time.Sleep(2 * time.Second)
	testenv.Infra(t, "up")
	testenv.Eventually(t, 60*time.Second, func() error {
		lag, err := m.Lag(ctx)
		if err != nil || lag != 0 {
			return errNotYet(int(lag), err)
		}
		return nil
	})
	time.Sleep(2 * time.Second) // the coordinator settles: more answers to survive
	stop()
	require.Positive(t, failed.Load(), "some calls came while Kafka was down")
	t.Logf("lag asked %d times across a Kafka restart, %d failed as they should, none crashed", calls.Load(), failed.Load())
}
