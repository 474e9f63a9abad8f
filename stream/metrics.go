package stream

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Metrics are the pipeline's operational figures, written in the Prometheus text exposition
// format (version 0.0.4) by hand: a handful of counters, gauges and one histogram need no
// library. Every series is keyed by its label values; output is sorted, so it is stable.
type Metrics struct {
	mu       sync.Mutex
	families map[string]*family
	// healthy is set by the pipeline: 1 while it consumes (joined, polling), 0 otherwise.
	healthy atomic.Int32
	// lastPoll is the wall time (unix nanos) of the last completed poll.
	lastPoll atomic.Int64
}

type family struct {
	name, help, typ string
	labels          []string
	series          map[string]*series
	buckets         []float64 // histograms only
}

type series struct {
	values []string
	value  float64
	counts []uint64 // histograms: per bucket (non-cumulative)
	sum    float64
	count  uint64
}

// Metric names.
const (
	MetricEventsIn         = "fds_stream_events_in_total"
	MetricLateEvents       = "fds_stream_late_events_total"
	MetricRejected         = "fds_stream_rejected_messages_total"
	MetricAlertsOut        = "fds_stream_alerts_out_total"
	MetricAlertsSuppressed = "fds_stream_alerts_suppressed_total"
	MetricLag              = "fds_stream_consumer_lag_records"
	MetricWatermark        = "fds_stream_watermark_seconds"
	MetricBuffered         = "fds_stream_buffered_events"
	MetricLatency          = "fds_stream_processing_latency_seconds"
	MetricCommits          = "fds_stream_offset_commits_total"
	MetricSessions         = "fds_stream_sessions_total"
)

// latencyBuckets are the processing-latency histogram's upper bounds in seconds: from a
// millisecond to a minute, since the watermark delay dominates.
var latencyBuckets = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// NewMetrics returns the pipeline's metric families, empty.
func NewMetrics() *Metrics {
	m := &Metrics{families: map[string]*family{}}
	m.define(MetricEventsIn, "counter", "Events consumed and decoded, by topic.", "topic")
	m.define(MetricLateEvents, "counter", "Events older than the watermark, by topic (dead-lettered or dropped per --late).", "topic")
	m.define(MetricRejected, "counter", "Messages that could not be used (malformed, oversized, unknown version, wrong topic), by topic and reason; sent to the dead-letter topic.", "topic", "reason")
	m.define(MetricAlertsOut, "counter", "Alerts produced to the alerts topic, by detector.", "detector")
	m.define(MetricAlertsSuppressed, "counter", "Alerts not produced again after a restart or rebalance (already published), by reason.", "reason")
	m.define(MetricLag, "gauge", "Records between the consumer's position and the partition end, by topic and partition.", "topic", "partition")
	m.define(MetricWatermark, "gauge", "Event-time watermark: every event before it has been processed (unix seconds).")
	m.define(MetricBuffered, "gauge", "Events waiting for the watermark.")
	m.define(MetricCommits, "counter", "Offset commits, by outcome.", "outcome")
	m.define(MetricSessions, "counter", "Processing sessions started (one per partition assignment), by cause.", "cause")
	m.mu.Lock()
	m.families[MetricLatency] = &family{name: MetricLatency, typ: "histogram",
		help:    "Wall time from consuming an event to the detectors having processed it (includes the watermark wait).",
		series:  map[string]*series{},
		buckets: latencyBuckets}
	m.mu.Unlock()
	return m
}

func (m *Metrics) define(name, typ, help string, labels ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.families[name] = &family{name: name, typ: typ, help: help, labels: labels, series: map[string]*series{}}
}

func (f *family) get(values []string) *series {
	if len(values) != len(f.labels) {
		panic(fmt.Sprintf("stream: metric %s takes %d labels, got %d", f.name, len(f.labels), len(values)))
	}
	key := strings.Join(values, "\xff")
	s, ok := f.series[key]
	if !ok {
		s = &series{values: append([]string(nil), values...)}
		if f.buckets != nil {
			s.counts = make([]uint64, len(f.buckets))
		}
		f.series[key] = s
	}
	return s
}

// Add adds delta to a counter (or gauge).
func (m *Metrics) Add(name string, delta float64, labels ...string) {
	m.mu.Lock()
	m.families[name].get(labels).value += delta
	m.mu.Unlock()
}

// Set sets a gauge.
func (m *Metrics) Set(name string, v float64, labels ...string) {
	m.mu.Lock()
	m.families[name].get(labels).value = v
	m.mu.Unlock()
}

// Value returns a counter's or gauge's value (0 when the series does not exist).
func (m *Metrics) Value(name string, labels ...string) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.families[name]
	if s, ok := f.series[strings.Join(labels, "\xff")]; ok {
		return s.value
	}
	return 0
}

// Sum returns the sum of a family's series values (all label values).
func (m *Metrics) Sum(name string) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var t float64
	for _, s := range m.families[name].series {
		t += s.value
	}
	return t
}

// Observe records one latency observation in seconds.
func (m *Metrics) Observe(name string, v float64) {
	m.mu.Lock()
	f := m.families[name]
	s := f.get(nil)
	for i, ub := range f.buckets {
		if v <= ub {
			s.counts[i]++
			break
		}
	}
	s.sum += v
	s.count++
	m.mu.Unlock()
}

// SetHealthy says whether the pipeline is consuming.
func (m *Metrics) SetHealthy(ok bool) {
	if ok {
		m.healthy.Store(1)
	} else {
		m.healthy.Store(0)
	}
}

// Polled records a completed poll at wall time now.
func (m *Metrics) Polled(now time.Time) { m.lastPoll.Store(now.UnixNano()) }

// WriteTo writes every family in the text exposition format, families and series sorted.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.families))
	for n := range m.families {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		f := m.families[n]
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", f.name, escapeHelp(f.help), f.name, f.typ)
		keys := make([]string, 0, len(f.series))
		for k := range f.series {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			s := f.series[k]
			if f.typ != "histogram" {
				fmt.Fprintf(&b, "%s%s %s\n", f.name, labelSet(f.labels, s.values, "", ""), formatValue(s.value))
				continue
			}
			var cum uint64
			for i, ub := range f.buckets {
				cum += s.counts[i]
				fmt.Fprintf(&b, "%s_bucket%s %d\n", f.name, labelSet(f.labels, s.values, "le", formatValue(ub)), cum)
			}
			fmt.Fprintf(&b, "%s_bucket%s %d\n", f.name, labelSet(f.labels, s.values, "le", "+Inf"), s.count)
			fmt.Fprintf(&b, "%s_sum%s %s\n", f.name, labelSet(f.labels, s.values, "", ""), formatValue(s.sum))
			fmt.Fprintf(&b, "%s_count%s %d\n", f.name, labelSet(f.labels, s.values, "", ""), s.count)
		}
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func labelSet(names, values []string, extraName, extraValue string) string {
	if len(names) == 0 && extraName == "" {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=\"%s\"", n, escapeLabel(values[i]))
	}
	if extraName != "" {
		if len(names) > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=\"%s\"", extraName, escapeLabel(extraValue))
	}
	b.WriteByte('}')
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Handler serves /metrics (the exposition) and /healthz (200 "ok" while the pipeline consumes
// and has polled within staleAfter, else 503 with the reason).
func (m *Metrics) Handler(staleAfter time.Duration) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		m.WriteTo(w)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if m.healthy.Load() != 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "not consuming\n")
			return
		}
		if last := m.lastPoll.Load(); last == 0 || time.Since(time.Unix(0, last)) > staleAfter {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "no poll completed recently\n")
			return
		}
		io.WriteString(w, "ok\n")
	})
	return mux
}
