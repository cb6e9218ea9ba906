package chaos_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/e2e/chaos"
)

func replicas(service string) []string {
	if service == "paymentgateway" {
		return []string{service}
	}
	return []string{service, service + "2"}
}

func TestScheduleIsRepeatableForASeedAndCoversEveryKind(t *testing.T) {
	a := chaos.Schedule(7, chaos.All(), 5*time.Second, time.Second, 0, replicas)
	b := chaos.Schedule(7, chaos.All(), 5*time.Second, time.Second, 0, replicas)
	c := chaos.Schedule(8, chaos.All(), 5*time.Second, time.Second, 0, replicas)
	require.Equal(t, a, b, "the same seed gives the same schedule")
	require.NotEqual(t, a, c, "another seed another order")
	require.Len(t, a, len(chaos.All()), "one pass holds each fault once")

	kinds := map[chaos.Kind]bool{}
	for _, st := range a {
		kinds[st.Fault.Kind] = true
		if st.Fault.Kind == chaos.Kill {
			require.Contains(t, replicas(st.Fault.Target), st.Replica)
		}
	}
	require.Len(t, kinds, 6, "kill, restart, latency, timeout, reset, partition: %v", kinds)

	long := chaos.Schedule(7, chaos.All(), 5*time.Second, time.Second, 20*time.Minute, replicas)
	require.Greater(t, len(long), len(a), "passes repeat until the duration is reached")
}

func TestParseFaults(t *testing.T) {
	for _, tc := range []struct {
		list string
		want []string
		err  bool
	}{
		{list: "kill:order", want: []string{"kill:order"}},
		{list: "restart:kafka, partition", want: []string{"restart:kafka", "partition:psp"}},
		{list: "latency", want: []string{"latency:postgres", "latency:redis", "latency:nats", "latency:psp"}},
		{list: "kill:nobody", err: true},
		{list: "explode", err: true},
		{list: " , ", err: true},
	} {
		t.Run(tc.list, func(t *testing.T) {
			got, err := chaos.ParseFaults(tc.list)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			var names []string
			for _, f := range got {
				names = append(names, f.String())
			}
			require.Equal(t, tc.want, names)
		})
	}
	all, err := chaos.ParseFaults("all")
	require.NoError(t, err)
	require.Equal(t, chaos.All(), all)
}
