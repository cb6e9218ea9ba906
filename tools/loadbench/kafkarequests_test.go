package loadbench

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKafkaRequestsCountEachFetchOnce(t *testing.T) {
	counts, err := parseKafkaRequests([]byte("Fetch 200\nFetchConsumer 200\nProduce 50\nnot a count\nHeartbeat x\n"))
	require.NoError(t, err)
	require.Equal(t, map[string]float64{"Fetch": 200, "Produce": 50}, counts)

	_, err = parseKafkaRequests([]byte("error: no broker\n"))
	require.Error(t, err)
}
