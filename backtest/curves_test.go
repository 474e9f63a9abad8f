package backtest

import (
	"math"
	"testing"

	"github.com/fds-dev/fds/detectors"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestPRCurveHandComputed: five alerts with tied scores against five incidents over one day.
//
//	score  0.9 TP, 0.9 FP, 0.5 TP, 0.5 TP, 0.2 FP
//	t=0.9: tp 1 fp 1  P 1/2  R 1/5  F1 2·0.5·0.2/0.7  = 0.285714…  2 alerts/day
//	t=0.5: tp 3 fp 1  P 3/4  R 3/5  F1 2·0.75·0.6/1.35 = 2/3       4 alerts/day
//	t=0.2: tp 3 fp 2  P 3/5  R 3/5  F1 0.6                          5 alerts/day
//	AP = 0.2·0.5 + 0.4·0.75 + 0·0.6 = 0.4
func TestPRCurveHandComputed(t *testing.T) {
	scored := []Scored{{0.5, true}, {0.9, true}, {0.2, false}, {0.9, false}, {0.5, true}}
	c := PRCurve(scored, 5, detectors.Day)
	want := []PRPoint{
		{Threshold: 0.9, Alerts: 2, TP: 1, FP: 1, Precision: 0.5, Recall: 0.2, F1: 0.2 / 0.7, AlertsPerDay: 2},
		{Threshold: 0.5, Alerts: 4, TP: 3, FP: 1, Precision: 0.75, Recall: 0.6, F1: 2.0 / 3, AlertsPerDay: 4},
		{Threshold: 0.2, Alerts: 5, TP: 3, FP: 2, Precision: 0.6, Recall: 0.6, F1: 0.6, AlertsPerDay: 5},
	}
	if len(c.Points) != len(want) {
		t.Fatalf("%d points, want %d", len(c.Points), len(want))
	}
	for i, p := range c.Points {
		w := want[i]
		if p.Threshold != w.Threshold || p.Alerts != w.Alerts || p.TP != w.TP || p.FP != w.FP ||
			!near(p.Precision, w.Precision, 1e-15) || !near(p.Recall, w.Recall, 1e-15) ||
			!near(p.F1, w.F1, 1e-15) || !near(p.AlertsPerDay, w.AlertsPerDay, 1e-12) {
			t.Errorf("point %d = %+v, want %+v", i, p, w)
		}
	}
	if !near(c.AveragePrecision, 0.4, 1e-15) {
		t.Errorf("AP = %v, want 0.4", c.AveragePrecision)
	}
	for _, tc := range []struct {
		minScore float64
		alerts   int
	}{{1.0, 0}, {0.9, 2}, {0.6, 2}, {0.5, 4}, {0.3, 4}, {0.2, 5}, {-1, 5}} {
		if got := c.At(tc.minScore); got.Alerts != tc.alerts {
			t.Errorf("At(%v) keeps %d alerts, want %d", tc.minScore, got.Alerts, tc.alerts)
		}
	}
	if z := c.At(1.0); z.Precision != 0 || z.Recall != 0 {
		t.Errorf("point above every score = %+v, want precision and recall 0", z)
	}
	if b := c.BestF1(); b.Threshold != 0.5 {
		t.Errorf("best F1 at %v, want 0.5", b.Threshold)
	}
}

func TestPRCurveEdgeCases(t *testing.T) {
	if c := PRCurve(nil, 3, detectors.Day); len(c.Points) != 0 || c.AveragePrecision != 0 {
		t.Errorf("no alerts: %+v", c)
	}
	// No incidents: recall is 0 everywhere (zero_division=0), so AP is 0.
	c := PRCurve([]Scored{{1, false}, {0.5, false}}, 0, 0)
	if c.AveragePrecision != 0 || c.Points[1].Recall != 0 || c.Points[1].AlertsPerDay != 0 {
		t.Errorf("no incidents: %+v", c)
	}
	// NaN ranks below -Inf's neighbours and forms one threshold at -Inf.
	c = PRCurve([]Scored{{math.NaN(), true}, {0, false}, {math.NaN(), true}}, 2, 0)
	if len(c.Points) != 2 || !math.IsInf(c.Points[1].Threshold, -1) || c.Points[1].TP != 2 {
		t.Errorf("NaN scores: %+v", c.Points)
	}
	// Every alert a TP against exactly as many incidents: AP 1.
	if ap := AveragePrecision([]Scored{{3, true}, {2, true}, {1, true}}, 3); ap != 1 {
		t.Errorf("perfect AP = %v", ap)
	}
}

// TestSklearnPRCurveDocExample is the example in scikit-learn's precision_recall_curve docstring.
func TestSklearnPRCurveDocExample(t *testing.T) {
	scored := []Scored{{0.1, false}, {0.4, false}, {0.35, true}, {0.8, true}}
	p, r, th := SklearnPRCurve(scored)
	wantP := []float64{0.5, 2.0 / 3, 0.5, 1, 1}
	wantR := []float64{1, 1, 0.5, 0.5, 0}
	wantT := []float64{0.1, 0.35, 0.4, 0.8}
	for i := range wantP {
		if !near(p[i], wantP[i], 1e-15) || r[i] != wantR[i] {
			t.Errorf("point %d: P %v R %v, want %v %v", i, p[i], r[i], wantP[i], wantR[i])
		}
	}
	for i := range wantT {
		if th[i] != wantT[i] {
			t.Errorf("threshold %d = %v, want %v", i, th[i], wantT[i])
		}
	}
	// AP sums (R_k − R_{k−1})·P_k from the top threshold down: 0.8 (P 1, R 0.5), 0.4 (P 0.5,
	// R 0.5), 0.35 (P 2/3, R 1), 0.1 (P 0.5, R 1) → 0.5·1 + 0 + 0.5·2/3 + 0 = 0.8333…, the value
	// average_precision_score gives for this input.
	if ap := SklearnAveragePrecision(scored); !near(ap, 0.5+1.0/3, 1e-15) {
		t.Errorf("AP = %v, want 0.8333…", ap)
	}
}

func TestFBeta(t *testing.T) {
	for _, c := range []struct{ p, r, beta, want float64 }{
		{0.6, 0.75, 1, 2.0 / 3},        // 2·0.45/1.35
		{0.6, 0.75, 2, 2.25 / 3.15},    // 5·0.45/(4·0.6 + 0.75)
		{0.6, 0.75, 0.5, 0.5625 / 0.9}, // 1.25·0.45/(0.25·0.6 + 0.75)
		{0, 0, 1, 0},                   // zero_division=0
		{1, 0, 2, 0},                   // no recall
		{0.5, 0.5, 3, 0.5},             // P = R gives P for every beta
		{1, 1, 1, 1},                   // perfect
		{0.25, 1, 1, 2 * 0.25 / 1.25},  // 0.4
		{0.9, 0.1, 0, 0.9},             // beta 0 is precision
		{0.3, 0.8, 1e6, 0.8},           // beta → ∞ tends to recall (error ~2e-12)
	} {
		if got := FBeta(c.p, c.r, c.beta); !near(got, c.want, 1e-9) {
			t.Errorf("FBeta(%v, %v, %v) = %.15g, want %.15g", c.p, c.r, c.beta, got, c.want)
		}
	}
}
