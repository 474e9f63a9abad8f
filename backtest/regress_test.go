package backtest

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/internal/fsutil"
	"github.com/fds-dev/fds/reports"
)

// rgT0 is an arbitrary epoch for the regression tests.
const rgT0 = detectors.Micros(1_704_067_200) * detectors.Second // 2024-01-01T00:00:00Z

// rgScenario describes one detector's run over n incidents of type spoofing on BTCUSDT, incident
// i lasting from i hours to i hours + 1 minute after rgT0. Detected incidents get an alert 10 s
// after their start; false positives are raised 30 minutes after an incident's start (outside
// every incident's window: lead 60 s, tolerance 300 s).
type rgScenario struct {
	detector string
	n        int
	detected func(i int) bool
	score    func(i int) float64
	fps      []int // incident slots that get a false positive
	fpScore  float64
}

func (s rgScenario) build() ([]detectors.Alert, []datasets.Incident) {
	var alerts []detectors.Alert
	var incidents []datasets.Incident
	for i := 0; i < s.n; i++ {
		start := rgT0 + detectors.Micros(i)*detectors.Hour
		incidents = append(incidents, datasets.Incident{ID: fmt.Sprintf("%s-%03d", s.detector, i), Type: detectors.Spoofing,
			Symbol: "BTCUSDT", Accounts: []string{fmt.Sprintf("acct%d", i)}, Start: start, End: start + detectors.Minute})
		if s.detected(i) {
			score := 0.9
			if s.score != nil {
				score = s.score(i)
			}
			alerts = append(alerts, detectors.Alert{Detector: s.detector, Type: detectors.Spoofing, Symbol: "BTCUSDT",
				Accounts: []string{fmt.Sprintf("acct%d", i)}, TS: start + 10*detectors.Second, Score: score})
		}
	}
	for _, i := range s.fps {
		ts := rgT0 + detectors.Micros(i)*detectors.Hour + 30*detectors.Minute
		alerts = append(alerts, detectors.Alert{Detector: s.detector, Type: detectors.Spoofing, Symbol: "BTCUSDT",
			Accounts: []string{"noise"}, TS: ts, Score: s.fpScore})
	}
	return alerts, incidents
}

// rgRun matches the scenarios' alerts (one detector each, all of type spoofing but with disjoint
// incidents: incident ids are per detector, so each detector is scored on its own incidents
// through distinct symbols) and returns the run as fds regress sees it. The span is 2 days.
func rgRun(path string, scenarios ...rgScenario) *RegressRun {
	cfg := DefaultMatchConfig()
	cfg.Detectors = map[string]detectors.IncidentType{}
	var metrics Metrics
	var rows []datasets.MatchRow
	metrics = Metrics{SchemaVersion: MetricsSchemaVersion, Detectors: map[string]DetectorMetrics{}}
	// Each detector is matched separately (they share the incident type), then pooled the way
	// ComputeMetrics pools detectors.
	var all MatchResult
	for _, s := range scenarios {
		alerts, incidents := s.build()
		c := cfg
		c.Detectors = map[string]detectors.IncidentType{s.detector: detectors.Spoofing}
		m := Match(alerts, incidents, c)
		all.Detectors = append(all.Detectors, m.Detectors...)
		rows = append(rows, m.Rows()...)
	}
	sort.Slice(all.Detectors, func(i, j int) bool { return all.Detectors[i].Detector < all.Detectors[j].Detector })
	metrics = ComputeMetrics(&all, 2*detectors.Day)
	return &RegressRun{Path: path, Run: &RunFolder{Dir: path, Metrics: metrics}, Matches: rows}
}

func every(int) bool { return true }

func rgMetric(t *testing.T, r *Regression, detector, metric string) MetricDelta {
	t.Helper()
	for _, d := range r.Detectors {
		if d.Detector != detector {
			continue
		}
		for _, m := range d.Metrics {
			if m.Metric == metric {
				return m
			}
		}
	}
	t.Fatalf("no %s.%s in the comparison", detector, metric)
	return MetricDelta{}
}

func rgOpts(replicates int) RegressOptions {
	return RegressOptions{Tolerances: DefaultTolerances(), Replicates: replicates, Seed: 1, Level: 0.95, List: 5}
}

func TestParseTolerance(t *testing.T) {
	cases := []struct {
		in      string
		want    Tolerance
		allowed float64 // Allowed(baseline 20)
		wantErr bool
	}{
		{"0.02", Tolerance{Value: 0.02}, 0.02, false},
		{" 5 ", Tolerance{Value: 5}, 5, false},
		{"10%", Tolerance{Value: 0.10, Relative: true}, 2, false}, // 10% of 20
		{"0%", Tolerance{Value: 0, Relative: true}, 0, false},
		{"-0.1", Tolerance{}, 0, true},
		{"abc", Tolerance{}, 0, true},
		{"NaN", Tolerance{}, 0, true},
		{"%", Tolerance{}, 0, true},
	}
	for _, tc := range cases {
		got, err := ParseTolerance(tc.in)
		if tc.wantErr {
			if err == nil {
				t.Errorf("ParseTolerance(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseTolerance(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			continue
		}
		if a := got.Allowed(20); math.Abs(a-tc.allowed) > 1e-12 {
			t.Errorf("%q.Allowed(20) = %v, want %v", tc.in, a, tc.allowed)
		}
		back, err := ParseTolerance(got.String())
		if err != nil || math.Abs(back.Value-got.Value) > 1e-15 || back.Relative != got.Relative {
			t.Errorf("%q: String() %q does not read back (%v, %v)", tc.in, got.String(), back, err)
		}
	}
}

func TestTolerancesSetAndFor(t *testing.T) {
	tol := DefaultTolerances()
	for _, s := range []string{"recall=0.02", "spoofing.precision=0.05", "overall.alerts_per_day=25%", "my.dotted.name.ttd=30", "AP=0.2"} {
		if err := tol.Set(s); err != nil {
			t.Fatalf("Set(%q): %v", s, err)
		}
	}
	checks := []struct {
		detector, metric string
		want             Tolerance
	}{
		{"spoofing", RegressRecall, Tolerance{Value: 0.02}},
		{"wash_trade", RegressRecall, Tolerance{Value: 0.02}},
		{"spoofing", RegressPrecision, Tolerance{Value: 0.05}},
		{"wash_trade", RegressPrecision, Tolerance{Value: 0.01}}, // default
		{OverallName, RegressAlertsPerDay, Tolerance{Value: 0.25, Relative: true}},
		{"my.dotted.name", RegressTTDMedian, Tolerance{Value: 30}},
		{"spoofing", RegressAP, Tolerance{Value: 0.2}},
	}
	for _, c := range checks {
		if got := tol.For(c.detector, c.metric); got != c.want {
			t.Errorf("For(%s, %s) = %v, want %v", c.detector, c.metric, got, c.want)
		}
	}
	for _, bad := range []string{"recall", "=0.1", "speed=0.1", "spoofing.recall=-1", ".recall=0.1"} {
		if err := tol.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
}

func TestParseTolerancesFile(t *testing.T) {
	src := "metrics:\n  recall: 0.03\n  alerts_per_day: 20%\ndetectors:\n  spoofing:\n    precision: 0.1\n    ttd: 15\n"
	tol, err := ParseTolerances("tol.yaml", []byte(src), DefaultTolerances())
	if err != nil {
		t.Fatal(err)
	}
	if got := tol.For("x", RegressRecall); got != (Tolerance{Value: 0.03}) {
		t.Errorf("recall tolerance %v", got)
	}
	if got := tol.For("x", RegressAlertsPerDay); got != (Tolerance{Value: 0.2, Relative: true}) {
		t.Errorf("alerts_per_day tolerance %v", got)
	}
	if got := tol.For("spoofing", RegressTTDMedian); got != (Tolerance{Value: 15}) {
		t.Errorf("spoofing ttd tolerance %v", got)
	}
	if got := tol.For("x", RegressF1); got != (Tolerance{Value: 0.01}) {
		t.Errorf("f1 kept its default? got %v", got)
	}
	// The base is not modified.
	if DefaultTolerances().For("x", RegressRecall) != (Tolerance{Value: 0.01}) {
		t.Error("defaults changed")
	}
	bad := []struct{ src, want string }{
		{"metric:\n  recall: 0.1\n", `unknown field "metric"`},
		{"metrics:\n  speed: 0.1\n", "tol.yaml: metrics.speed: unknown metric"},
		{"detectors:\n  spoofing:\n    recall: lots\n", "tol.yaml: detectors.spoofing.recall: tolerance"},
		{"metrics: [\n", "tol.yaml"},
	}
	for _, b := range bad {
		_, err := ParseTolerances("tol.yaml", []byte(b.src), DefaultTolerances())
		if err == nil || !strings.Contains(err.Error(), b.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error %v, want one line containing %q", b.src, err, b.want)
		}
	}
}

func TestCompareIdenticalRunsPasses(t *testing.T) {
	s := rgScenario{detector: "spoofing", n: 40, detected: func(i int) bool { return i%4 != 0 },
		score: func(i int) float64 { return 0.5 + float64(i%7)/10 }, fps: []int{1, 5, 9, 20}, fpScore: 0.7}
	w := rgScenario{detector: "wash", n: 10, detected: every, fps: []int{3}, fpScore: 0.95}
	base := rgRun("base", s, w)
	cand := rgRun("cand", s, w)
	r := Compare(base, cand, rgOpts(200))
	if !r.Passed() || len(r.Regressions) != 0 {
		t.Fatalf("identical runs regressed: %v", r.Regressions)
	}
	if r.Bootstrap.Unavailable != "" {
		t.Fatalf("no intervals: %s", r.Bootstrap.Unavailable)
	}
	for _, d := range r.Detectors {
		for _, m := range d.Metrics {
			if m.Status != StatusOK || m.Delta == nil || *m.Delta != 0 {
				t.Errorf("%s.%s: status %s delta %v", d.Detector, m.Metric, m.Status, m.Delta)
				continue
			}
			// Every replicate changes nothing: the interval is [0, 0] and p = (1+B)/(1+B) = 1.
			if m.CILow == nil || *m.CILow != 0 || *m.CIHigh != 0 || *m.P != 1 || m.Significant {
				t.Errorf("%s.%s: CI %v..%v p %v", d.Detector, m.Metric, m.CILow, m.CIHigh, m.P)
			}
		}
	}
	if !r.AlertDiff.Available || !r.AlertDiff.Empty() || len(r.AlertDiff.Detectors) != 0 ||
		len(r.AlertDiff.FirstAppeared) != 0 || len(r.AlertDiff.FirstDisappeared) != 0 {
		t.Errorf("identical runs have a non-empty diff: %+v", r.AlertDiff)
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "PASS") || !strings.Contains(text.String(), "alerts: identical") {
		t.Errorf("text:\n%s", text.String())
	}
}

func TestCompareRecallDropRegresses(t *testing.T) {
	base := rgRun("base", rgScenario{detector: "spoofing", n: 50, detected: every})
	// The candidate misses 30 of the 50 incidents: recall 1 -> 0.4.
	cand := rgRun("cand", rgScenario{detector: "spoofing", n: 50, detected: func(i int) bool { return i%5 < 2 }})
	r := Compare(base, cand, rgOpts(1000))
	if r.Passed() {
		t.Fatal("a recall drop of 0.6 passed")
	}
	rec := rgMetric(t, r, "spoofing", RegressRecall)
	if rec.Status != StatusRegressed || math.Abs(*rec.Delta-(-0.6)) > 1e-12 {
		t.Errorf("recall: %s delta %v", rec.Status, *rec.Delta)
	}
	// Paired: 30 of 50 units discordant; a replicate's change is −X/50 with X ~ Binomial(50, 0.6)
	// (sd = sqrt(50·0.6·0.4) = 3.46 units = 0.069), so the 95% interval is about
	// −0.6 ± 1.96·0.069 = [−0.736, −0.464], and no replicate comes near 0: p = 1/1001.
	if math.Abs(*rec.CILow-(-0.736)) > 0.04 || math.Abs(*rec.CIHigh-(-0.464)) > 0.04 {
		t.Errorf("recall CI [%v, %v], want about [-0.736, -0.464]", *rec.CILow, *rec.CIHigh)
	}
	if !rec.Significant || math.Abs(*rec.P-1.0/1001) > 1e-12 {
		t.Errorf("recall p %v significant %v", *rec.P, rec.Significant)
	}
	// Precision stays 1 (no false positives): ok. Alerts per day fall from 25 to 10: improved.
	if p := rgMetric(t, r, "spoofing", RegressPrecision); p.Status != StatusOK {
		t.Errorf("precision status %s", p.Status)
	}
	if a := rgMetric(t, r, "spoofing", RegressAlertsPerDay); a.Status != StatusImproved || math.Abs(*a.Delta-(-15)) > 1e-9 {
		t.Errorf("alerts/day %s %v (want improved, -15: 50/2 -> 20/2 per day)", a.Status, *a.Delta)
	}
	want := []string{"spoofing.recall", "spoofing.f1", "spoofing.ap", "overall.recall", "overall.f1", "overall.ap"}
	if !reflect.DeepEqual(r.Regressions, want) {
		t.Errorf("regressions %v, want %v", r.Regressions, want)
	}
	// 30 alerts disappeared, each a former true positive.
	if r.AlertDiff.Disappeared != 30 || r.AlertDiff.Appeared != 0 || len(r.AlertDiff.FirstDisappeared) != 5 {
		t.Errorf("diff: %+v", r.AlertDiff)
	}
	if a := r.AlertDiff.FirstDisappeared[0]; a.Outcome != "tp" || a.IncidentID != "spoofing-002" || a.Accounts != "acct2" {
		t.Errorf("first disappeared alert %+v (want the tp of spoofing-002, the first missed incident)", a)
	}
	var text bytes.Buffer
	r.WriteText(&text)
	out := text.String()
	for _, want := range []string{"spoofing  recall", "REGRESSED", "regression: spoofing.recall dropped by 0.6000 (1.0000 -> 0.4000)", "FAIL: 6 regression(s)", "disappeared (first 5 of 30)"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}

func TestCompareSmallChangeIsNotSignificant(t *testing.T) {
	base := rgRun("base", rgScenario{detector: "spoofing", n: 50, detected: every})
	cand := rgRun("cand", rgScenario{detector: "spoofing", n: 50, detected: func(i int) bool { return i != 7 }})
	opts := rgOpts(2000)
	r := Compare(base, cand, opts)
	rec := rgMetric(t, r, "spoofing", RegressRecall)
	// One discordant incident of 50: a replicate's change is −X/50 with X the draws of that unit
	// (≈ Poisson(1)); |change − (−0.02)| ≥ 0.02 unless X = 1, so p ≈ 1 − 50·(1/50)·(49/50)^49 =
	// 1 − 0.372 = 0.63. Beyond the 0.01 tolerance, but not significant.
	if math.Abs(*rec.P-0.63) > 0.05 || rec.Significant {
		t.Errorf("recall p %v significant %v, want about 0.63", *rec.P, rec.Significant)
	}
	if rec.Status != StatusRegressed {
		t.Errorf("status %s: a drop of 0.02 is beyond the 0.01 tolerance", rec.Status)
	}
	opts.RequireSignificant = true
	r = Compare(base, cand, opts)
	if rec := rgMetric(t, r, "spoofing", RegressRecall); rec.Status != StatusOK || !rec.BeyondTolerance || !r.Passed() {
		t.Errorf("with RequireSignificant: status %s beyond %v passed %v", rec.Status, rec.BeyondTolerance, r.Passed())
	}
	// Within a per-detector tolerance of 0.05 it passes outright.
	opts.RequireSignificant = false
	opts.Tolerances.Set("spoofing.recall=0.05")
	opts.Tolerances.Set("spoofing.f1=0.05")
	opts.Tolerances.Set("spoofing.ap=0.05")
	opts.Tolerances.Set("overall.recall=0.05")
	opts.Tolerances.Set("overall.f1=0.05")
	opts.Tolerances.Set("overall.ap=0.05")
	if r = Compare(base, cand, opts); !r.Passed() {
		t.Errorf("regressions %v within tolerance 0.05", r.Regressions)
	}
}

func TestCompareLowerIsBetterMetrics(t *testing.T) {
	base := rgRun("base", rgScenario{detector: "spoofing", n: 20, detected: every, fps: []int{1}, fpScore: 0.5})
	// 9 more false positives: alerts/day 21/2 = 10.5 -> 30/2 = 15, beyond 10%; precision drops too.
	cand := rgRun("cand", rgScenario{detector: "spoofing", n: 20, detected: every, fps: []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, fpScore: 0.5})
	r := Compare(base, cand, rgOpts(0))
	a := rgMetric(t, r, "spoofing", RegressAlertsPerDay)
	if a.Status != StatusRegressed || math.Abs(*a.Delta-4.5) > 1e-9 || math.Abs(a.Allowed-1.05) > 1e-9 {
		t.Errorf("alerts/day: %s delta %v allowed %v (want regressed, +4.5, 10%% of 10.5 = 1.05)", a.Status, *a.Delta, a.Allowed)
	}
	if r.Bootstrap.Unavailable == "" || a.CILow != nil {
		t.Error("intervals computed with 0 replicates")
	}
	// The reverse direction is an improvement.
	r = Compare(cand, base, rgOpts(0))
	if a := rgMetric(t, r, "spoofing", RegressAlertsPerDay); a.Status != StatusImproved {
		t.Errorf("fewer alerts/day: %s", a.Status)
	}
}

func TestCompareTimeToDetect(t *testing.T) {
	base := rgRun("base", rgScenario{detector: "spoofing", n: 10, detected: every})
	// The same alerts 50 s later: time-to-detect 10 s -> 60 s, still inside the matching window.
	later := rgScenario{detector: "spoofing", n: 10, detected: every}
	alerts, incidents := later.build()
	for i := range alerts {
		alerts[i].TS += 50 * detectors.Second
	}
	cfg := DefaultMatchConfig()
	cfg.Detectors = map[string]detectors.IncidentType{"spoofing": detectors.Spoofing}
	m := Match(alerts, incidents, cfg)
	cand := &RegressRun{Path: "cand", Run: &RunFolder{Metrics: ComputeMetrics(&m, 2*detectors.Day)}, Matches: m.Rows()}
	r := Compare(base, cand, rgOpts(100))
	ttd := rgMetric(t, r, "spoofing", RegressTTDMedian)
	if ttd.Status != StatusRegressed || math.Abs(*ttd.Delta-50) > 1e-9 {
		t.Errorf("ttd: %s %v (want regressed, +50 s)", ttd.Status, ttd.Delta)
	}
	// Every incident moved by 50 s: every replicate's change is exactly 50, so the interval is [50, 50].
	if math.Abs(*ttd.CILow-50) > 1e-9 || math.Abs(*ttd.CIHigh-50) > 1e-9 {
		t.Errorf("ttd CI [%v, %v]", *ttd.CILow, *ttd.CIHigh)
	}
	if !r.AlertDiff.Available || r.AlertDiff.Appeared != 10 || r.AlertDiff.Disappeared != 10 {
		t.Errorf("moved alerts have new keys: diff %+v", r.AlertDiff)
	}
	// Nothing detected by the candidate: its median time-to-detect is undefined.
	none := rgRun("none", rgScenario{detector: "spoofing", n: 10, detected: func(int) bool { return false }})
	r = Compare(base, none, rgOpts(50))
	if ttd := rgMetric(t, r, "spoofing", RegressTTDMedian); ttd.Status != StatusUndefined || ttd.Candidate != nil || ttd.Delta != nil {
		t.Errorf("undefined ttd: %+v", ttd)
	}
	if rec := rgMetric(t, r, "spoofing", RegressRecall); rec.Status != StatusRegressed {
		t.Errorf("recall 1 -> 0: %s", rec.Status)
	}
	// Without alerts precision is undefined (metrics.json's 0 is a convention): the detector
	// falling silent shows as lost recall, not as a precision drop.
	if p := rgMetric(t, r, "spoofing", RegressPrecision); p.Status != StatusUndefined || p.Candidate != nil {
		t.Errorf("precision without alerts: %+v", p)
	}
}

func TestCompareMissingAndNewDetectors(t *testing.T) {
	s := rgScenario{detector: "spoofing", n: 10, detected: every}
	w := rgScenario{detector: "wash", n: 10, detected: every}
	n := rgScenario{detector: "newbie", n: 5, detected: every}
	base := rgRun("base", s, w)
	cand := rgRun("cand", s, n)
	r := Compare(base, cand, rgOpts(100))
	var names []string
	for _, d := range r.Detectors {
		names = append(names, d.Detector+":"+d.Presence)
	}
	if want := []string{"newbie:candidate_only", "spoofing:both", "wash:baseline_only", "overall:both"}; !reflect.DeepEqual(names, want) {
		t.Errorf("detectors %v, want %v", names, want)
	}
	for _, m := range RegressMetrics {
		if got := rgMetric(t, r, "wash", m); got.Status != StatusMissing || !got.Failed() {
			t.Errorf("wash.%s: %s", m, got.Status)
		}
		if got := rgMetric(t, r, "newbie", m); got.Status != StatusNew || got.Failed() {
			t.Errorf("newbie.%s: %s", m, got.Status)
		}
		if got := rgMetric(t, r, "spoofing", m); got.Status != StatusOK || got.CILow == nil {
			t.Errorf("spoofing.%s: %s", m, got.Status)
		}
	}
	for _, m := range RegressMetrics {
		found := false
		for _, reg := range r.Regressions {
			found = found || reg == "wash."+m
		}
		if !found {
			t.Errorf("wash.%s not among the regressions %v", m, r.Regressions)
		}
	}
}

// TestUnitFiguresEqualMetrics checks that the bootstrap's units, unweighted, give exactly the
// figures ComputeMetrics gives, and that weighted AP and median equal the plain functions on the
// correspondingly repeated lists.
func TestUnitFiguresEqualMetrics(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := 0; trial < 30; trial++ {
		n := 5 + rng.IntN(40)
		det := map[int]bool{}
		for i := 0; i < n; i++ {
			det[i] = rng.IntN(3) > 0
		}
		var fps []int
		for i := 0; i < rng.IntN(15); i++ {
			fps = append(fps, rng.IntN(n))
		}
		scores := make([]float64, n)
		for i := range scores {
			scores[i] = float64(rng.IntN(5)) / 4 // ties on purpose
		}
		s := rgScenario{detector: "d", n: n, detected: func(i int) bool { return det[i] },
			score: func(i int) float64 { return scores[i] }, fps: fps, fpScore: float64(rng.IntN(5)) / 4}
		run := rgRun("r", s)
		u := buildPairedUnits("d", [2][]datasets.MatchRow{run.Matches, run.Matches})
		dm := run.Run.Metrics.Detectors["d"]
		f := u.side[0].figures(nil)
		if f.tp != dm.TP || f.fp != dm.FP || f.inc != dm.Incidents {
			t.Fatalf("trial %d: counts %+v vs %+v", trial, f, dm)
		}
		for _, metric := range RegressMetrics {
			got, ok := metricOf(f, metric, 0.5) // 1 alert = 0.5 per day over the 2-day span
			want, wok := regressValue(dm, metric)
			if ok != wok || math.Abs(got-want) > 1e-12 {
				t.Errorf("trial %d: %s = %v (%v), metrics.json %v (%v)", trial, metric, got, ok, want, wok)
			}
		}
		// Weighted: repeat every unit w[i] times in plain lists.
		w := make([]int, u.n)
		var scored []Scored
		var ttds []float64
		inc := 0
		for i := range w {
			w[i] = rng.IntN(3)
			us := u.side[0]
			for k := 0; k < w[i]; k++ {
				if us.incident[i] {
					inc++
				}
				if us.tp[i] || us.fp[i] {
					scored = append(scored, Scored{Score: us.score[i], TP: us.tp[i]})
				}
				if us.tp[i] {
					ttds = append(ttds, us.ttd[i])
				}
			}
		}
		fw := u.side[0].figures(w)
		if ap := AveragePrecision(scored, inc); math.Abs(fw.ap-ap) > 1e-12 {
			t.Errorf("trial %d: weighted AP %v, AveragePrecision on the repeated list %v", trial, fw.ap, ap)
		}
		sort.Float64s(ttds)
		if fw.ttdCount != len(ttds) || math.Abs(fw.ttdMedian-Quantile(ttds, 0.5)) > 1e-12 {
			t.Errorf("trial %d: weighted median %v (%d), Quantile %v (%d)", trial, fw.ttdMedian, fw.ttdCount, Quantile(ttds, 0.5), len(ttds))
		}
	}
}

func TestWeightedMedianMatchesQuantile(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 200; trial++ {
		n := rng.IntN(8)
		vals := make([]float64, n)
		ws := make([]int, n)
		var expanded []float64
		for i := range vals {
			vals[i] = float64(i*10 + rng.IntN(10))
			ws[i] = rng.IntN(4)
			for k := 0; k < ws[i]; k++ {
				expanded = append(expanded, vals[i])
			}
		}
		got, count := weightedMedian(n, func(j int) (float64, int) { return vals[j], ws[j] })
		if count != len(expanded) || got != Quantile(expanded, 0.5) {
			t.Fatalf("vals %v weights %v: median %v (%d), want %v (%d)", vals, ws, got, count, Quantile(expanded, 0.5), len(expanded))
		}
	}
}

func TestStratifiedResampleDeterministicPerStratum(t *testing.T) {
	collect := func(strata []string, sizes []int, seed uint64) map[string][][]int {
		out := map[string][][]int{}
		StratifiedResample(strata, sizes, 20, seed, func(rep int, counts [][]int) {
			for s, name := range strata {
				out[name] = append(out[name], append([]int(nil), counts[s]...))
			}
		})
		return out
	}
	a := collect([]string{"spoofing"}, []int{30}, 1)
	b := collect([]string{"wash", "spoofing", "empty"}, []int{12, 30, 0}, 1)
	if !reflect.DeepEqual(a["spoofing"], b["spoofing"]) {
		t.Error("a stratum's draws depend on the other strata")
	}
	for _, c := range b["spoofing"] {
		sum := 0
		for _, x := range c {
			sum += x
		}
		if sum != 30 {
			t.Fatalf("a replicate drew %d units of 30", sum)
		}
	}
	if c := collect([]string{"spoofing"}, []int{30}, 2); reflect.DeepEqual(a["spoofing"], c["spoofing"]) {
		t.Error("seeds 1 and 2 drew the same")
	}
}

func TestCompareIsDeterministic(t *testing.T) {
	s1 := rgScenario{detector: "spoofing", n: 30, detected: func(i int) bool { return i%3 != 0 }, fps: []int{2, 4}, fpScore: 0.9}
	s2 := rgScenario{detector: "spoofing", n: 30, detected: func(i int) bool { return i%2 != 0 }, fps: []int{2, 6, 8}, fpScore: 0.9}
	render := func(base, cand *RegressRun) string {
		var b bytes.Buffer
		r := Compare(base, cand, rgOpts(300))
		json.NewEncoder(&b).Encode(r)
		r.WriteText(&b)
		r.WriteMarkdown(&b)
		return b.String()
	}
	first := render(rgRun("a", s1), rgRun("b", s2))
	// The same runs with their match rows shuffled give the same bytes.
	base, cand := rgRun("a", s1), rgRun("b", s2)
	rng := rand.New(rand.NewPCG(9, 9))
	rng.Shuffle(len(base.Matches), func(i, j int) { base.Matches[i], base.Matches[j] = base.Matches[j], base.Matches[i] })
	rng.Shuffle(len(cand.Matches), func(i, j int) { cand.Matches[i], cand.Matches[j] = cand.Matches[j], cand.Matches[i] })
	if second := render(base, cand); second != first {
		t.Error("the comparison depends on row order")
	}
}

func TestDiffAlertSets(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	mk := func(det, sym, acc string, ts int64, score float64) DiffAlert {
		return DiffAlert{Key: fmt.Sprintf("%s|%s|%s|%d", det, sym, acc, ts), Detector: det, Symbol: sym, Accounts: acc, TS: ts, Score: f(score)}
	}
	base := []DiffAlert{mk("s", "X", "A", 5, 0.5), mk("s", "X", "A", 5, 0.6), mk("s", "X", "B", 1, 0.5), mk("w", "Y", "", 9, 1)}
	cand := []DiffAlert{mk("s", "X", "A", 5, 0.5), mk("w", "Y", "", 9, 1), mk("w", "Y", "", 3, 1), mk("s", "Z", "C", 2, 0.1)}
	d := DiffAlertSets(base, cand, 10)
	// Disappeared: s|X|B|1 and one of the two s|X|A|5 (the lower-scored surplus). Appeared:
	// w|Y||3 and s|Z|C|2.
	if d.Appeared != 2 || d.Disappeared != 2 {
		t.Fatalf("counts: %+v", d)
	}
	if d.FirstDisappeared[0].Key != "s|X|B|1" || d.FirstDisappeared[1].Key != "s|X|A|5" || *d.FirstDisappeared[1].Score != 0.5 {
		t.Errorf("disappeared %+v", d.FirstDisappeared)
	}
	if d.FirstAppeared[0].Key != "s|Z|C|2" || d.FirstAppeared[1].Key != "w|Y||3" {
		t.Errorf("appeared %+v", d.FirstAppeared)
	}
	want := []DetectorAlertDiff{{"s", 3, 2, 1, 2}, {"w", 1, 2, 1, 0}}
	if !reflect.DeepEqual(d.Detectors, want) {
		t.Errorf("per detector %+v, want %+v", d.Detectors, want)
	}
	// Listing is capped; the counts are not.
	if d := DiffAlertSets(base, cand, 1); len(d.FirstAppeared) != 1 || d.Appeared != 2 {
		t.Errorf("capped: %+v", d)
	}
	// Order of input does not matter.
	rev := func(s []DiffAlert) []DiffAlert {
		out := append([]DiffAlert(nil), s...)
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		return out
	}
	if d2 := DiffAlertSets(rev(base), rev(cand), 10); !reflect.DeepEqual(d, d2) {
		t.Error("the diff depends on input order")
	}
	if d := DiffAlertSets(base, base, 10); !d.Empty() || len(d.Detectors) != 0 {
		t.Errorf("a run against itself: %+v", d)
	}
}

func TestDiffFromAlertsWhenNoMatches(t *testing.T) {
	a := detectors.Alert{Detector: "s", Symbol: "X", Accounts: []string{"A", "B"}, TS: rgT0, Score: 0.7}
	b := a
	b.TS += detectors.Second
	base := &RegressRun{Path: "b", Run: &RunFolder{Alerts: []detectors.Alert{a}}}
	cand := &RegressRun{Path: "c", Run: &RunFolder{Alerts: []detectors.Alert{a, b}}}
	d := DiffRuns(base, cand, 5)
	if !d.Available || d.Appeared != 1 || d.FirstAppeared[0].Accounts != "A,B" || d.FirstAppeared[0].Time != "2024-01-01T00:00:01.000000Z" {
		t.Errorf("diff %+v", d)
	}
	bare := &RegressRun{Path: "m", Run: &RunFolder{}}
	if d := DiffRuns(bare, cand, 5); d.Available {
		t.Error("a bare metrics.json cannot be diffed")
	}
}

func TestMatchesTSVRoundTrip(t *testing.T) {
	rows := rgRun("r", rgScenario{detector: "spoofing", n: 6, detected: func(i int) bool { return i%2 == 0 }, fps: []int{1}, fpScore: 0.25}).Matches
	var buf bytes.Buffer
	if err := WriteMatchesTSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	back, err := ParseMatchesTSV("m.tsv", &buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(rows) {
		t.Fatalf("%d rows back of %d", len(back), len(rows))
	}
	for i := range rows {
		a, b := rows[i], back[i]
		if math.IsNaN(a.Score) != math.IsNaN(b.Score) {
			t.Fatalf("row %d: score %v -> %v", i, a.Score, b.Score)
		}
		a.Score, b.Score = 0, 0
		if a != b {
			t.Fatalf("row %d: %+v -> %+v", i, rows[i], back[i])
		}
	}
	bad := []struct{ src, want string }{
		{"", "m.tsv: empty file"},
		{"detector\toutcome\n", "m.tsv: line 1: not a matches.tsv header"},
		{matchesTSVHeader + "\ns\ttp\tk\ti\tX\t0.5\t1\t2\n", "m.tsv: line 2: 8 fields, want 9"},
		{matchesTSVHeader + "\ns\tmaybe\tk\ti\tX\t0.5\t1\t2\t3\n", "m.tsv: line 2: column outcome"},
		{matchesTSVHeader + "\ns\ttp\tk\ti\tX\thigh\t1\t2\t3\n", "m.tsv: line 2: column score"},
		{matchesTSVHeader + "\ns\ttp\tk\ti\tX\t0.5\t1\t2\t3.5\n", "m.tsv: line 2: column time_to_detect_us"},
	}
	for _, b := range bad {
		_, err := ParseMatchesTSV("m.tsv", strings.NewReader(b.src))
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%q: error %v, want %q", b.src, err, b.want)
		}
	}
	if err := WriteMatchesTSV(&buf, []datasets.MatchRow{{Detector: "a\tb", Outcome: "fp"}}); err == nil {
		t.Error("a tab in a field was written")
	}
}

// TestBaselineFolderReadsLikeTheRun writes a run folder's metrics and matches, turns it into a
// baseline folder and checks that fds regress sees the same run through both.
func TestBaselineFolderReadsLikeTheRun(t *testing.T) {
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run")
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	run := rgRun(runDir, rgScenario{detector: "spoofing", n: 12, detected: func(i int) bool { return i%3 != 0 }, fps: []int{2, 7}, fpScore: 0.4})
	if err := fsutil.WriteJSON(filepath.Join(runDir, MetricsFile), run.Run.Metrics); err != nil {
		t.Fatal(err)
	}
	if err := datasets.WriteMatches(filepath.Join(runDir, MatchesFile), run.Matches); err != nil {
		t.Fatal(err)
	}
	baseDir := filepath.Join(dir, "testdata", "baseline")
	if err := WriteBaseline(context.Background(), baseDir, runDir); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(baseDir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{BaselineMatchesFile, MetricsFile}; !reflect.DeepEqual(names, want) {
		t.Errorf("baseline files %v, want %v", names, want)
	}
	a, err := LoadRegressRun(runDir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadRegressRun(baseDir)
	if err != nil {
		t.Fatal(err)
	}
	if b.MatchesFile != filepath.Join(baseDir, BaselineMatchesFile) || len(b.Matches) != len(a.Matches) {
		t.Fatalf("baseline matches %s: %d rows, run %d", b.MatchesFile, len(b.Matches), len(a.Matches))
	}
	r := Compare(b, a, rgOpts(100))
	if !r.Passed() || !r.AlertDiff.Available || !r.AlertDiff.Empty() || r.Bootstrap.Unavailable != "" {
		t.Errorf("the run against its own baseline: regressions %v, diff %+v, %s", r.Regressions, r.AlertDiff, r.Bootstrap.Unavailable)
	}
	// A bare metrics.json path uses the matches beside it.
	m, err := LoadRegressRun(filepath.Join(baseDir, MetricsFile))
	if err != nil || m.Matches == nil {
		t.Fatalf("metrics.json path: %v, matches %v", err, m.Matches != nil)
	}
	// The baseline metrics.json is byte-identical to the run's.
	x, _ := os.ReadFile(filepath.Join(runDir, MetricsFile))
	y, _ := os.ReadFile(filepath.Join(baseDir, MetricsFile))
	if !bytes.Equal(x, y) {
		t.Error("baseline metrics.json differs from the run's")
	}
	if _, err := LoadRegressRun(filepath.Join(dir, "nope")); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing run: %v", err)
	}
}

// rgJUnit is an independent reading of the JUnit shape.
type rgJUnit struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Cases    []struct {
			Name    string    `xml:"name,attr"`
			Failure *struct{} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestRegressionJUnitAndMarkdown(t *testing.T) {
	base := rgRun("base", rgScenario{detector: "spoofing", n: 20, detected: every}, rgScenario{detector: "wash", n: 5, detected: every})
	cand := rgRun("cand", rgScenario{detector: "spoofing", n: 20, detected: func(i int) bool { return i < 10 }},
		rgScenario{detector: "wash", n: 5, detected: func(int) bool { return false }})
	r := Compare(base, cand, rgOpts(100))
	var buf bytes.Buffer
	if err := reports.WriteJUnit(&buf, r.JUnit()); err != nil {
		t.Fatal(err)
	}
	var j rgJUnit
	if err := xml.Unmarshal(buf.Bytes(), &j); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	// 3 suites (spoofing, wash, overall) × 6 metrics; a failure per regression; the candidate's
	// wash raises no alert, so its precision and time-to-detect are undefined: skipped.
	if j.Tests != 18 || j.Failures != len(r.Regressions) || len(j.Suites) != 3 {
		t.Fatalf("tests %d failures %d (regressions %d) suites %d", j.Tests, j.Failures, len(r.Regressions), len(j.Suites))
	}
	if j.Suites[1].Name != "wash" || j.Suites[1].Skipped != 2 || j.Suites[1].Cases[1].Name != "recall" || j.Suites[1].Cases[1].Failure == nil {
		t.Errorf("wash suite %+v", j.Suites[1])
	}
	var names []string
	for _, c := range j.Suites[0].Cases {
		names = append(names, c.Name)
	}
	if !reflect.DeepEqual(names, RegressMetrics) {
		t.Errorf("testcase names %v, want %v", names, RegressMetrics)
	}
	var md bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### fds regress: ", "| **spoofing** | **recall** |", "<details><summary>Alerts: 0 appeared, 15 disappeared</summary>"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	if _, err := json.Marshal(r); err != nil {
		t.Errorf("JSON: %v", err)
	}
}

// BenchmarkCompare measures a comparison with 1000 bootstrap resamples of two detectors with
// 2000 incidents and 1000 false positives each: the cost of the gate's statistics.
func BenchmarkCompare(b *testing.B) {
	mk := func(name string, shift int) rgScenario {
		return rgScenario{detector: name, n: 2000, detected: func(i int) bool { return (i+shift)%5 != 0 },
			score: func(i int) float64 { return float64((i*7+shift)%100) / 100 }, fps: seq(1000, 2), fpScore: 0.3}
	}
	base := rgRun("base", mk("spoofing", 0), mk("wash", 0))
	cand := rgRun("cand", mk("spoofing", 1), mk("wash", 0))
	opts := rgOpts(1000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Compare(base, cand, opts)
	}
}

func seq(n, step int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i * step
	}
	return out
}
