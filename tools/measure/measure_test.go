package measure_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/tools/measure"
)

func TestSummarise(t *testing.T) {
	msec := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	oneToHundred := make([]time.Duration, 100)
	for i := range oneToHundred {
		oneToHundred[len(oneToHundred)-1-i] = msec(i + 1) // unsorted on purpose
	}
	tests := []struct {
		name    string
		samples []time.Duration
		want    measure.Latencies
	}{
		{"none", nil, measure.Latencies{}},
		{"1 to 100 ms", oneToHundred, measure.Latencies{Count: 100, P50: msec(50), P99: msec(99), Max: msec(100)}},
		// Nearest rank: the p99 of 200 samples is the 198th smallest.
		{"two slow in two hundred", append(repeat(msec(1), 198), msec(500), msec(900)),
			measure.Latencies{Count: 200, P50: msec(1), P99: msec(1), Max: msec(900)}},
		{"three slow in two hundred", append(repeat(msec(1), 197), msec(500), msec(600), msec(900)),
			measure.Latencies{Count: 200, P50: msec(1), P99: msec(500), Max: msec(900)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, measure.Summarise(tt.samples))
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func TestUpdateSection(t *testing.T) {
	start, end := measure.Markers("storebench")
	section := func(body string) string {
		return start + "\n## Event store\n\n" + body + "\n" + end
	}
	others := "# Performance\n\nIntro.\n\n## Gateway\n\nSomeone else's figures.\n"
	unbalanced := "# Performance\n\n" + start + "\nsomeone deleted the end marker\n\n## Gateway\n"
	tests := []struct {
		name, existing, want string // existing "": no file yet
		wantErr              bool
	}{
		{"creates the document", "", "# Performance\n\n" + section("new") + "\n", false},
		{"appends to a document without the section", others, others + "\n" + section("new") + "\n", false},
		{"replaces the section and keeps what surrounds it", "# Performance\n\n" + section("old") + "\n\n## Gateway\n\nKept.\n",
			"# Performance\n\n" + section("new") + "\n\n## Gateway\n\nKept.\n", false},
		{"refuses unbalanced markers and leaves the document as it was", unbalanced, unbalanced, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "performance.md")
			if tt.existing != "" {
				require.NoError(t, os.WriteFile(path, []byte(tt.existing), 0o644))
			}
			for range 2 { // a rerun replaces its own section and changes nothing else
				err := measure.UpdateSection(path, "storebench", section("new"))
				require.Equal(t, tt.wantErr, err != nil, "error: %v", err)
				doc, err := os.ReadFile(path)
				require.NoError(t, err)
				require.Equal(t, tt.want, string(doc))
			}
		})
	}
}

func TestFormats(t *testing.T) {
	tests := []struct{ got, want string }{
		{measure.Millis(1234 * time.Microsecond), "1.23"},
		{measure.Millis(45600 * time.Microsecond), "45.6"},
		{measure.Millis(1234567 * time.Microsecond), "1,235"},
		{measure.Thousands(-1234567), "-1,234,567"},
		{measure.Thousands(999), "999"},
		{measure.Percent(0.456), "46%"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) { require.Equal(t, tt.want, tt.got) })
	}
}

func TestAWindowEndsAtEndOrWhenStopped(t *testing.T) {
	ctx := context.Background()
	w := measure.NewWindow(0, 20*time.Millisecond)
	end, ok := w.SleepToEnd(ctx)
	require.True(t, ok)
	require.False(t, end.Before(w.End), "a window without Stop lasts to End")

	stop := make(chan struct{})
	w = measure.Window{Start: time.Now(), End: time.Now().Add(time.Hour), Stop: stop}
	close(stop)
	end, ok = w.SleepToEnd(ctx)
	require.True(t, ok)
	require.True(t, end.Before(w.End), "a stopped window ends when it was stopped")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, ok = measure.NewWindow(0, time.Hour).SleepToEnd(cancelled)
	require.False(t, ok)
}
