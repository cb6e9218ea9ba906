package loadbench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/orderflow/orderflow/tools/measure"
)

// subCount names the broker's request metrics that count again requests
// another one counts: every fetch is counted as Fetch and once more as
// FetchConsumer or FetchFollower, so adding them all up counted each fetch
// twice.
var subCount = map[string]bool{"FetchConsumer": true, "FetchFollower": true}

// kafkaRequests reads the broker's request counts by request type, through
// `scripts/infra.sh kafka-requests` (JMX, which only a JVM reads easily).
func kafkaRequests(ctx context.Context) (map[string]float64, error) {
	out, err := exec.CommandContext(ctx, "bash", "scripts/infra.sh", "kafka-requests").Output()
	if err != nil {
		return nil, fmt.Errorf("kafka requests: %w", err)
	}
	return parseKafkaRequests(out)
}

// parseKafkaRequests reads "<request type> <count>" lines.
func parseKafkaRequests(out []byte) (map[string]float64, error) {
	counts := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 {
			continue
		}
		n, err := strconv.ParseFloat(fields[1], 64)
		if err != nil || subCount[fields[0]] {
			continue
		}
		counts[fields[0]] = n
	}
	if len(counts) == 0 {
		return nil, fmt.Errorf("kafka requests: no counts in %q", out)
	}
	return counts, nil
}

// watchKafkaRequests counts the broker's requests per order over w at
// rate orders/s; wait returns them by request type (nil if they could not
// be read). The JVM that reads them takes about a second, so the first read
// starts before the window and the counts are scaled to the time between
// the two reads.
func watchKafkaRequests(ctx context.Context, w measure.Window, rate float64, log *slog.Logger) (wait func() map[string]float64) {
	done := make(chan map[string]float64, 1)
	go func() {
		var out map[string]float64
		defer func() { done <- out }()
		if !measure.SleepUntil(ctx, w.Start.Add(-1500*time.Millisecond)) {
			return
		}
		t0 := time.Now()
		before, err := kafkaRequests(ctx)
		if err != nil {
			log.Warn("kafka requests per order are not measured", "err", err)
			return
		}
		end, ok := w.SleepToEnd(ctx)
		if !ok {
			return
		}
		after, err := kafkaRequests(ctx)
		if err != nil {
			log.Warn("kafka requests per order are not measured", "err", err)
			return
		}
		// Each read happens about as long after its call as the other.
		orders := rate * end.Sub(t0).Seconds()
		out = map[string]float64{}
		for kind, n := range after {
			if d := n - before[kind]; d > 0 {
				out[kind] = d / orders
			}
		}
	}()
	return func() map[string]float64 { return <-done }
}
