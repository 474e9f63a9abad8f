package backtest

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

func TestQuantile(t *testing.T) {
	// Expected values are numpy.percentile(x, 100*q) with the default "linear" method.
	cases := []struct {
		x    []float64
		q    float64
		want float64
	}{
		{[]float64{1, 2, 3, 4}, 0.5, 2.5},      // mean of the two middle values
		{[]float64{1, 2, 3, 4}, 0.9, 3.7},      // position 2.7: 3 + 0.7·1
		{[]float64{1, 2, 3, 4, 5}, 0.5, 3},     // middle value
		{[]float64{-60, -50, 50}, 0.9, 30},     // position 1.8: −50 + 0.8·100
		{[]float64{10, 20}, 0.9, 19},           // position 0.9: 10 + 0.9·10
		{[]float64{7}, 0.9, 7},                 // single value
		{[]float64{1, 2, 3}, 0, 1},             // minimum
		{[]float64{1, 2, 3}, 1, 3},             // maximum
		{[]float64{0, 100}, 0.25, 25},          // position 0.25
		{nil, 0.5, 0},                          // no values: 0 by convention
		{[]float64{1, 9}, 1.5, 9},              // q clamped to 1
		{[]float64{1, 2, 4, 8, 16}, 0.9, 12.8}, // position 3.6: 8 + 0.6·8
	}
	for _, c := range cases {
		if got := Quantile(c.x, c.q); !near(got, c.want, 1e-12) {
			t.Errorf("Quantile(%v, %v) = %v, want %v", c.x, c.q, got, c.want)
		}
	}
}

func TestTTDStats(t *testing.T) {
	// 4 values in µs: 2 s, −1 s, 10 s, 0.5 s → sorted −1, 0.5, 2, 10 s. Median (0.5+2)/2 = 1.25,
	// mean 11.5/4 = 2.875, p90 at position 2.7: 2 + 0.7·8 = 7.6.
	s := NewTTDStats([]detectors.Micros{2_000_000, -1_000_000, 10_000_000, 500_000})
	want := TTDStats{Count: 4, Min: -1, Median: 1.25, P90: 7.6, Mean: 2.875, Max: 10}
	if s.Count != want.Count || !near(s.Min, want.Min, 1e-12) || !near(s.Median, want.Median, 1e-12) ||
		!near(s.P90, want.P90, 1e-12) || !near(s.Mean, want.Mean, 1e-12) || !near(s.Max, want.Max, 1e-12) {
		t.Errorf("stats = %+v, want %+v", s, want)
	}
	b, _ := json.Marshal(TTDStats{})
	if string(b) != `{"count":0,"min":null,"median":null,"p90":null,"mean":null,"max":null}` {
		t.Errorf("empty stats JSON = %s", b)
	}
	var back TTDStats
	b, _ = json.Marshal(s)
	if err := json.Unmarshal(b, &back); err != nil || back != s {
		t.Errorf("round trip %s -> %+v (%v)", b, back, err)
	}
}

// TestMetricsJSONShape pins the metrics.json layout: key names and order, full-precision floats.
func TestMetricsJSONShape(t *testing.T) {
	alerts, incidents := handCase()
	res := Match(alerts, incidents, DefaultMatchConfig())
	m := ComputeMetrics(&res, 2*detectors.Day)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	// Figures from the hand case in match_test.go; 2/3 printed to full precision.
	det := `{"precision":0.6,"recall":0.75,"f1":0.6666666666666666,"average_precision":0.65,` +
		`"tp":3,"fp":2,"fn":1,"alerts":5,"incidents":4,"duplicates":1,"alerts_per_day":2.5,` +
		`"time_to_detect_s":{"count":3,"min":-60,"median":-50,"p90":30,"mean":-20,"max":50}}`
	want := `{"schema_version":1,"detectors":{"spoof":` + det + `},"overall":` + det + `}`
	if string(b) != want {
		t.Errorf("metrics.json\n got %s\nwant %s", b, want)
	}
	var back Metrics
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, m) {
		t.Errorf("round trip differs: %+v (%v)", back, err)
	}
}

func TestMetricsOverallIsMicro(t *testing.T) {
	const sp, wt = detectors.Spoofing, detectors.WashTrade
	// spoof: 2 incidents, alerts TP 0.9, FP 0.8 → P 1/2, R 1/2, AP 0.5·1 = 0.5.
	// wash: 1 incident, alerts TP 0.4 → P 1, R 1, AP 1. No TTD spread: both detected at +10 s.
	// Overall micro: tp 2, fp 1, fn 1 → P 2/3, R 2/3; AP macro (0.5 + 1)/2 = 0.75.
	incidents := []incidentSpec{
		{"S1", sp, 1000, 1100}, {"S2", sp, 3000, 3100}, {"W1", wt, 1000, 1100},
	}
	var inc []datasets.Incident
	for _, s := range incidents {
		inc = append(inc, incident(s.id, s.typ, "X", sec(s.start), sec(s.end)))
	}
	alerts := []detectors.Alert{
		alert("spoof", sp, "X", sec(1010), 0.9), alert("spoof", sp, "X", sec(9000), 0.8),
		alert("wash", wt, "X", sec(1010), 0.4),
	}
	res := Match(alerts, inc, DefaultMatchConfig())
	m := ComputeMetrics(&res, detectors.Day)
	o := m.Overall
	if o.TP != 2 || o.FP != 1 || o.FN != 1 || o.Alerts != 3 || o.Incidents != 3 ||
		!near(o.Precision, 2.0/3, 1e-15) || !near(o.Recall, 2.0/3, 1e-15) || !near(o.AveragePrecision, 0.75, 1e-15) ||
		o.AlertsPerDay != 3 || o.TimeToDetect.Count != 2 || o.TimeToDetect.Median != 10 {
		t.Errorf("overall = %+v", o)
	}
	rows, overall := m.ReportRows()
	if len(rows) != 2 || rows[0].Detector != "spoof" || rows[1].Detector != "wash" || overall.Detector != "overall" ||
		rows[0].AveragePrecision != 0.5 || overall.TP != 2 || overall.TTDMedianS != 10 {
		t.Errorf("report rows %+v overall %+v", rows, overall)
	}
	if !strings.Contains(mustJSON(t, m), `"wash":{"precision":1,`) {
		t.Errorf("detectors not keyed by name: %s", mustJSON(t, m))
	}
}

type incidentSpec struct {
	id         string
	typ        detectors.IncidentType
	start, end float64
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRatiosZeroDivision(t *testing.T) {
	// scikit-learn's zero_division=0: no alerts → precision 0; no incidents → recall 0.
	if Precision(0, 0) != 0 || Recall(0, 0) != 0 || F1(0, 0) != 0 {
		t.Error("zero division is not 0")
	}
	if Precision(1, 3) != 0.25 || Recall(3, 1) != 0.75 {
		t.Error("plain ratios wrong")
	}
	if v := alertsPerDay(10, -detectors.Day); v != 0 || math.IsNaN(v) {
		t.Errorf("alerts/day with negative span = %v", v)
	}
	if v := alertsPerDay(3, 12*detectors.Hour); v != 6 {
		t.Errorf("3 alerts in half a day = %v/day, want 6", v)
	}
}
