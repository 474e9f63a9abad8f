package backtest

import (
	"math"
	"strings"
	"testing"

	"github.com/fds-dev/fds/detectors"
)

func TestParseObjective(t *testing.T) {
	ok := []struct{ in, canonical string }{
		{"fbeta:1", "fbeta:1"},
		{"f1", "fbeta:1"},
		{" fbeta:0.5 ", "fbeta:0.5"},
		{"recall@precision>=0.8", "recall@precision>=0.8"},
		{"recall @ precision >= 0.8", "recall@precision>=0.8"},
		{"recall@alerts_per_day<=20", "recall@alerts_per_day<=20"},
		{"min_alerts@recall>=0.9", "min_alerts@recall>=0.9"},
	}
	for _, c := range ok {
		o, err := ParseObjective(c.in)
		if err != nil {
			t.Errorf("ParseObjective(%q): %v", c.in, err)
			continue
		}
		if o.String() != c.canonical {
			t.Errorf("ParseObjective(%q) = %s, want %s", c.in, o, c.canonical)
		}
		back, err := ParseObjective(o.String())
		if err != nil || back != o {
			t.Errorf("%s does not round-trip: %+v %v", o, back, err)
		}
	}
	for _, bad := range []string{"", "f2", "fbeta:", "fbeta:0", "fbeta:-1", "fbeta:x", "recall@precision>=1.5",
		"recall@precision>0.8", "recall@alerts_per_day<=-1", "min_alerts@recall>=2", "precision@recall>=0.5"} {
		if _, err := ParseObjective(bad); err == nil {
			t.Errorf("ParseObjective(%q) accepted", bad)
		}
	}
}

// handCurve is a hand-made curve over 6 incidents and 2 days. Scores and outcomes, by
// descending score: 0.9 T, 0.8 T, 0.7 F, 0.6 T, 0.5 F, 0.4 F, 0.3 T, 0.2 F. Cumulative figures
// (hand computed; F1 = 2TP/(2TP+FP+FN)):
//
//	threshold  TP FP  precision  recall  F1            F0.5    alerts/day
//	0.9         1  0  1          1/6     2/7 = .2857   .5000   0.5
//	0.8         2  0  1          1/3     4/8 = .5000   .7143   1.0
//	0.7         2  1  2/3        1/3     4/9 = .4444   .5556   1.5
//	0.6         3  1  3/4        1/2     6/10 = .6000  .6818   2.0
//	0.5         3  2  3/5        1/2     6/11 = .5455  .5769   2.5
//	0.4         3  3  1/2        1/2     6/12 = .5000  .5000   3.0
//	0.3         4  3  4/7        2/3     8/13 = .6154  .5882   3.5
//	0.2         4  4  1/2        2/3     8/14 = .5714  .5263   4.0
func handCurve() Curve {
	scores := []float64{0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2}
	tp := []bool{true, true, false, true, false, false, true, false}
	s := make([]Scored, len(scores))
	for i := range scores {
		s[i] = Scored{Score: scores[i], TP: tp[i]}
	}
	return PRCurve(s, 6, 2*detectors.Day)
}

func TestObjectivesOnHandMadeCurve(t *testing.T) {
	c := handCurve()
	cases := []struct {
		objective string
		point     float64 // threshold of the chosen point
		minScore  float64 // midway to the next lower score
		feasible  bool
		value     float64
	}{
		{"fbeta:1", 0.3, 0.25, true, 8.0 / 13},
		{"fbeta:0.5", 0.8, 0.75, true, 1.25 * (1.0 / 3) / (0.25 + 1.0/3)},
		// Precision >= 0.7 holds at 0.9, 0.8 and 0.6; recall is highest at 0.6.
		{"recall@precision>=0.7", 0.6, 0.55, true, 0.5},
		// Both points of precision 1 have it; 0.8 has the higher recall.
		{"recall@precision>=0.99", 0.8, 0.75, true, 1.0 / 3},
		// At most 2 alerts/day = 4 alerts: 0.6 has recall 1/2.
		{"recall@alerts_per_day<=2", 0.6, 0.55, true, 0.5},
		// At most 3 alerts: 0.8 and 0.7 both reach recall 1/3; 0.8 has the higher precision.
		{"recall@alerts_per_day<=1.5", 0.8, 0.75, true, 1.0 / 3},
		// Recall 2/3 is first reached at 0.3, with 7 alerts (3.5 a day).
		{"min_alerts@recall>=0.6", 0.3, 0.25, true, 3.5},
		// Recall 0.9 is never reached: the nearest point has recall 2/3 and, of 0.3 and 0.2, fewer alerts.
		{"min_alerts@recall>=0.9", 0.3, 0.25, false, 3.5},
		// Precision 1.0 is reached (at 0.9 and 0.8), so it is feasible.
		{"recall@precision>=1", 0.8, 0.75, true, 1.0 / 3},
	}
	for _, tc := range cases {
		t.Run(tc.objective, func(t *testing.T) {
			o, err := ParseObjective(tc.objective)
			if err != nil {
				t.Fatal(err)
			}
			p, feasible := o.Best(&c)
			if p.Threshold != tc.point || feasible != tc.feasible {
				t.Fatalf("Best = threshold %v feasible %v, want %v %v (point %+v)", p.Threshold, feasible, tc.point, tc.feasible, p)
			}
			if math.Abs(o.Value(p)-tc.value) > 1e-12 {
				t.Fatalf("value %v, want %v", o.Value(p), tc.value)
			}
			_, th := ChooseThreshold(&c, o, 0)
			if math.Abs(th-tc.minScore) > 1e-12 {
				t.Fatalf("min_score %v, want %v", th, tc.minScore)
			}
			// The chosen min_score selects exactly the chosen point.
			if got := c.At(th); got.Alerts != p.Alerts || got.TP != p.TP {
				t.Fatalf("At(%v) = %+v, want the chosen point %+v", th, got, p)
			}
		})
	}
}

func TestChooseThresholdKeepingEveryAlertUsesTheFloor(t *testing.T) {
	// Both alerts are true positives: keeping both (threshold 0.5) is best; the floor keeps both too.
	c := PRCurve([]Scored{{0.9, true}, {0.5, true}}, 2, detectors.Day)
	p, th := ChooseThreshold(&c, Objective{Kind: MaxFBeta, Beta: 1}, 0.1)
	if p.Threshold != 0.5 || th != 0.1 {
		t.Fatalf("point %v min_score %v, want 0.5 and the floor 0.1", p.Threshold, th)
	}
	// No alert at all: the floor, and the empty point.
	empty := PRCurve(nil, 3, detectors.Day)
	p, th = ChooseThreshold(&empty, Objective{Kind: MaxFBeta, Beta: 1}, 0.4)
	if p.Alerts != 0 || th != 0.4 {
		t.Fatalf("empty curve: point %+v min_score %v", p, th)
	}
	if _, ok := (Objective{Kind: MinAlertsAtRecall, Bound: 0.5}).Best(&empty); ok {
		t.Fatal("recall >= 0.5 cannot be feasible without alerts")
	}
}

func TestBetterTieBreaks(t *testing.T) {
	f1 := Objective{Kind: MaxFBeta, Beta: 1}
	// Precision and recall swapped: F1 is symmetric, so the two tie exactly; the higher
	// precision wins, whichever comes first.
	a := PRPoint{Alerts: 5, TP: 4, Precision: 0.8, Recall: 0.5}
	b := PRPoint{Alerts: 8, TP: 4, Precision: 0.5, Recall: 0.8}
	if f1.Value(a) != f1.Value(b) {
		t.Fatalf("test points must tie on F1: %v %v", f1.Value(a), f1.Value(b))
	}
	if !f1.Better(a, b) || f1.Better(b, a) {
		t.Fatal("equal F1: the higher precision must win")
	}
	// An infeasible point never beats a feasible one, whatever its recall.
	o := Objective{Kind: MaxRecallAtPrecision, Bound: 0.7}
	if !o.Better(a, b) || o.Better(b, a) {
		t.Fatal("feasible (precision 0.75) must beat infeasible (precision 0.57)")
	}
}

func TestObjectiveErrorsListSyntax(t *testing.T) {
	_, err := ParseObjective("maximise")
	if err == nil || !strings.Contains(err.Error(), ObjectiveSyntax) {
		t.Fatalf("err = %v, want it to list the syntax", err)
	}
}
