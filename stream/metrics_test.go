package stream

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMetricsExposition(t *testing.T) {
	m := NewMetrics()
	m.Add(MetricAlertsOut, 2, "wash_trade")
	m.Add(MetricAlertsOut, 1, `we"ird\name`)
	m.Set(MetricLag, 7, "fds.trades", "0")
	// Latencies 0.003 s (bucket 0.005), 0.2 s (bucket 0.25) and 100 s (only +Inf).
	m.Observe(MetricLatency, 0.003)
	m.Observe(MetricLatency, 0.2)
	m.Observe(MetricLatency, 100)
	var b strings.Builder
	m.WriteTo(&b)
	out := b.String()
	for _, want := range []string{
		"# TYPE fds_stream_alerts_out_total counter\n",
		`fds_stream_alerts_out_total{detector="wash_trade"} 2` + "\n",
		`fds_stream_alerts_out_total{detector="we\"ird\\name"} 1` + "\n",
		`fds_stream_consumer_lag_records{topic="fds.trades",partition="0"} 7` + "\n",
		"# TYPE fds_stream_processing_latency_seconds histogram\n",
		`fds_stream_processing_latency_seconds_bucket{le="0.001"} 0` + "\n",
		`fds_stream_processing_latency_seconds_bucket{le="0.005"} 1` + "\n",
		`fds_stream_processing_latency_seconds_bucket{le="0.25"} 2` + "\n",
		`fds_stream_processing_latency_seconds_bucket{le="60"} 2` + "\n",
		`fds_stream_processing_latency_seconds_bucket{le="+Inf"} 3` + "\n",
		"fds_stream_processing_latency_seconds_sum 100.203\n",
		"fds_stream_processing_latency_seconds_count 3\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	// Families appear sorted by name, so the output is stable.
	if strings.Index(out, "fds_stream_alerts_out_total") > strings.Index(out, "fds_stream_consumer_lag_records") {
		t.Error("families not sorted")
	}
	var again strings.Builder
	m.WriteTo(&again)
	if again.String() != out {
		t.Error("exposition not stable between calls")
	}
}

func TestHealthz(t *testing.T) {
	m := NewMetrics()
	srv := httptest.NewServer(m.Handler(time.Minute))
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("healthz before consuming: %d, want 503", code)
	}
	m.SetHealthy(true)
	if code, body := get("/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "poll") {
		t.Errorf("healthz before any poll: %d %q, want 503", code, body)
	}
	m.Polled(time.Now())
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("healthz while consuming: %d, want 200", code)
	}
	code, body := get("/metrics")
	if code != http.StatusOK || !strings.Contains(body, "# TYPE fds_stream_events_in_total counter") {
		t.Errorf("/metrics: %d %q", code, body)
	}
}
