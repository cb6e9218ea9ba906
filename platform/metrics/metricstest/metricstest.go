// Package metricstest scrapes a running process's GET /metrics for tests,
// the way Prometheus does, and reads series out of what it got. The text
// is parsed with Prometheus' own parser, with the classic name rules, so a
// malformed exposition or an unconventional name fails the test.
package metricstest

import (
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// Scrape is one scrape: the metric families by name.
type Scrape map[string]*dto.MetricFamily

// Get scrapes baseURL/metrics without credentials, as Prometheus does.
func Get(t testing.TB, baseURL string) Scrape {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second}
	resp, err := hc.Get(strings.TrimRight(baseURL, "/") + "/metrics")
	require.NoError(t, err, "scrape %s/metrics", baseURL)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET /metrics needs no credentials")
	require.Contains(t, resp.Header.Get("Content-Type"), "text/plain", "the Prometheus text format")
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err, "the exposition parses")
	return families
}

// Value sums the samples of the series of name whose labels include
// labels (name, value pairs): a counter's or gauge's value, a histogram's
// count of observations. It reports false when no series matches.
func (s Scrape) Value(name string, labels ...string) (float64, bool) {
	mf, ok := s[name]
	if !ok {
		return 0, false
	}
	var (
		sum   float64
		found bool
	)
	for _, m := range mf.GetMetric() {
		if !matches(m, labels) {
			continue
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum, found
}

// Series lists the label sets of name's series, for failure messages.
func (s Scrape) Series(name string) []string {
	var out []string
	for _, m := range s[name].GetMetric() {
		var pairs []string
		for _, l := range m.GetLabel() {
			pairs = append(pairs, l.GetName()+"="+l.GetValue())
		}
		out = append(out, "{"+strings.Join(pairs, ",")+"}")
	}
	sort.Strings(out)
	return out
}

func matches(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		ok := false
		for _, l := range m.GetLabel() {
			if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// Require fails the test unless name has a series with labels whose value
// (see Value) is at least min.
func (s Scrape) Require(t testing.TB, min float64, name string, labels ...string) {
	t.Helper()
	v, ok := s.Value(name, labels...)
	require.Truef(t, ok, "%s%v is exposed; its series: %v", name, labels, s.Series(name))
	require.GreaterOrEqualf(t, v, min, "%s%v", name, labels)
}
