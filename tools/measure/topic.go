package measure

import (
	"context"
	"log/slog"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// DeleteTopic deletes a topic a benchmark created for itself. A failure is
// logged: the topic is then left for a person to delete.
func DeleteTopic(brokers, topic string, log *slog.Logger) {
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": brokers})
	if err == nil {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var res []kafka.TopicResult
		if res, err = admin.DeleteTopics(ctx, []string{topic}); err == nil && res[0].Error.Code() != kafka.ErrNoError {
			err = res[0].Error
		}
	}
	if err != nil {
		log.Warn("delete the benchmark topic by hand", "topic", topic, "err", err)
	}
}
