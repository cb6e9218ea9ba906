package readmodel_test

import (
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/gateway/internal/eventtest"
	"github.com/orderflow/orderflow/gateway/readmodel"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

func TestRebuildAfterWipeGivesIdenticalReadModels(t *testing.T) {
	ctx := testenv.Context(t, time.Minute)
	topicPrefix, topics := eventtest.Topics(t)
	rdb := eventtest.Redis(t)
	prefix := eventtest.RedisPrefix(t, rdb)
	k := readmodel.Kafka{Brokers: testenv.KafkaBrokers(), TopicPrefix: topicPrefix}
	producer := eventtest.NewProducer(t, topics)

	// Another deployment's keys in the same Redis must survive.
	other := eventtest.RedisPrefix(t, rdb)
	require.NoError(t, rdb.Set(ctx, other+"order:x", "theirs", 0).Err())
	require.NoError(t, rdb.Set(ctx, prefix[:len(prefix)-1]+"X:not-ours", "lookalike", 0).Err())
	t.Cleanup(func() { rdb.Del(ctx, prefix[:len(prefix)-1]+"X:not-ours") })

	stopProjector := runProjector(t, rdb, prefix, k)
	var events []schema.Envelope
	customers := []string{uuid.NewString(), uuid.NewString()}
	for i := range 12 {
		s := eventtest.NewSaga(customers[i%2], time.Now().Add(-time.Duration(i)*time.Minute))
		switch i % 4 {
		case 0:
			events = append(events, s.HappyPath()...)
		case 1:
			events = append(events, s.DeclinePath()...)
		case 2:
			events = append(events, append(s.HappyPath(), s.CancelRequested(schema.ReasonCustomerRequest), s.Refunded(),
				s.Cancelled(schema.ReasonCustomerRequest))...)
		case 3:
			events = append(events, s.Created())
		}
	}
	orphan := eventtest.NewSaga(customers[0], time.Now()) // its OrderCreated never came
	events = append(events, orphan.Requested())
	producer.Send(events...)
	producer.Send(events[:5]...) // redelivered
	junk := topics.Order
	producer.SendRaw(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &junk, Partition: 0}, Value: []byte("{not an event")})
	waitProjected(t, k)
	stopProjector()

	before := snapshot(t, rdb, prefix)
	require.NotEmpty(t, before)
	require.Contains(t, before, prefix+"order.v2:"+orphan.OrderID, "the partial document is part of the read model")

	// Wipe only this prefix, then rebuild.
	iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		require.NoError(t, rdb.Unlink(ctx, iter.Val()).Err())
	}
	require.NoError(t, iter.Err())
	require.Empty(t, snapshot(t, rdb, prefix))

	rep, err := readmodel.Rebuild(ctx, rdb, prefix, k, testLogger())
	require.NoError(t, err)
	require.Equal(t, before, snapshot(t, rdb, prefix), "byte-identical documents and lists")

	var projected int
	for _, env := range events {
		if env.AggregateType != schema.AggregateCompensation {
			projected++
		}
	}
	require.Equal(t, 0, rep.DeletedKeys, "already wiped")
	require.Equal(t, 2*eventtest.Partitions, rep.Partitions)
	require.Equal(t, projected+5-countCompensation(events[:5]), rep.Events, "every event of the order and payment topics")
	require.Equal(t, projected, rep.Changed, "each once")
	require.Equal(t, 13, rep.Orders, "12 orders and the orphan's partial document")

	// A second rebuild deletes what the first one built and ends the same.
	rep, err = readmodel.Rebuild(ctx, rdb, prefix, k, testLogger())
	require.NoError(t, err)
	require.Equal(t, len(before), rep.DeletedKeys)
	require.Equal(t, before, snapshot(t, rdb, prefix))

	theirs, err := rdb.Get(ctx, other+"order:x").Result()
	require.NoError(t, err)
	require.Equal(t, "theirs", theirs)
	lookalike, err := rdb.Get(ctx, prefix[:len(prefix)-1]+"X:not-ours").Result()
	require.NoError(t, err)
	require.Equal(t, "lookalike", lookalike)
}

func countCompensation(events []schema.Envelope) int {
	n := 0
	for _, env := range events {
		if env.AggregateType == schema.AggregateCompensation {
			n++
		}
	}
	return n
}

func TestRebuildRefusesAnEmptyPrefix(t *testing.T) {
	rdb := eventtest.Redis(t)
	_, err := readmodel.Rebuild(t.Context(), rdb, "", readmodel.Kafka{Brokers: testenv.KafkaBrokers()}, testLogger())
	require.ErrorContains(t, err, "without a key prefix")
}
