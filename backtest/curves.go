package backtest

import (
	"sort"

	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/reports"
)

// Scored is one alert reduced to what a PR curve needs: its score and whether it matched.
type Scored struct {
	Score float64
	TP    bool
}

// PRPoint is the operating point of keeping the alerts scoring at least Threshold.
type PRPoint struct {
	Threshold    float64 `json:"threshold"`
	Alerts       int     `json:"alerts"`
	TP           int     `json:"tp"`
	FP           int     `json:"fp"`
	Precision    float64 `json:"precision"`
	Recall       float64 `json:"recall"`
	F1           float64 `json:"f1"`
	AlertsPerDay float64 `json:"alerts_per_day"`
}

// Curve is a detector's precision/recall trade-off over its score threshold.
type Curve struct {
	Incidents int
	Span      detectors.Micros
	// Points has one entry per distinct score, by descending threshold (growing recall); the
	// last point keeps every alert.
	Points []PRPoint
	// AveragePrecision is Σ_k (R_k − R_{k−1})·P_k over Points with R_0 = 0.
	AveragePrecision float64
}

// PRCurve computes the PR curve of scored alerts whose TP flags come from one matching (valid for
// every threshold because the matching is prefix-consistent, see Match). Recall is relative to
// nIncidents, the number of incidents the detector is scored against, so incidents no alert
// matched cap the curve below recall 1. span (for alerts per day) may be 0, then alerts per day
// are 0. NaN scores rank below every number and share one threshold, reported as -Inf.
func PRCurve(scored []Scored, nIncidents int, span detectors.Micros) Curve {
	c := Curve{Incidents: nIncidents, Span: span}
	s := sortedScored(scored)
	tp, fp := 0, 0
	prevRecall := 0.0
	for i := 0; i < len(s); {
		th := rankScore(s[i].Score)
		for ; i < len(s) && rankScore(s[i].Score) == th; i++ {
			if s[i].TP {
				tp++
			} else {
				fp++
			}
		}
		p := PRPoint{
			Threshold: th, Alerts: tp + fp, TP: tp, FP: fp,
			Precision: Precision(tp, fp), Recall: ratio(tp, nIncidents),
			AlertsPerDay: alertsPerDay(tp+fp, span),
		}
		p.F1 = F1Counts(tp, fp, nIncidents-tp)
		if tp > nIncidents { // inconsistent input: keep F1 the harmonic mean of what is shown
			p.F1 = F1(p.Precision, p.Recall)
		}
		c.AveragePrecision += (p.Recall - prevRecall) * p.Precision
		prevRecall = p.Recall
		c.Points = append(c.Points, p)
	}
	return c
}

// AveragePrecision is the AP of scored alerts against nIncidents incidents (see Curve).
func AveragePrecision(scored []Scored, nIncidents int) float64 {
	return PRCurve(scored, nIncidents, 0).AveragePrecision
}

// At returns the operating point of a minimum score: the point of the alerts scoring at least
// minScore. Below every alert's score it is the last point; above every score it is the point
// with no alerts (precision 0 by zero_division=0, recall 0).
func (c *Curve) At(minScore float64) PRPoint {
	// Points are by descending threshold: find the last with Threshold >= minScore.
	i := sort.Search(len(c.Points), func(i int) bool { return c.Points[i].Threshold < minScore })
	if i == 0 {
		return PRPoint{Threshold: minScore}
	}
	return c.Points[i-1]
}

// BestF1 returns the point of highest F1 (ties: the higher threshold, i.e. fewer alerts); the
// zero point when there are no alerts.
func (c *Curve) BestF1() PRPoint {
	var best PRPoint
	for i, p := range c.Points {
		if i == 0 || p.F1 > best.F1 {
			best = p
		}
	}
	return best
}

// PlotSeries converts the curve to what reports.PlotPRCurves draws, marking the operating point
// of minScore.
func (c *Curve) PlotSeries(name string, minScore float64) reports.PRSeries {
	s := reports.PRSeries{Name: name, AveragePrecision: c.AveragePrecision}
	for _, p := range c.Points {
		s.Recall = append(s.Recall, p.Recall)
		s.Precision = append(s.Precision, p.Precision)
	}
	op := c.At(minScore)
	s.Operating = &reports.PRMark{Recall: op.Recall, Precision: op.Precision, Threshold: minScore}
	return s
}

// SklearnPRCurve returns scikit-learn's precision_recall_curve(y_true=TP flags, scores): one entry
// per distinct score by ascending threshold, then the final (precision 1, recall 0) point, so
// precision and recall have one more element than thresholds. Recall is relative to the
// positives among the alerts (not to the incidents); with no positive it is 1 everywhere, as in
// scikit-learn (which warns). Every threshold is kept (scikit-learn ≥ 1.3's default
// drop_intermediate=False).
func SklearnPRCurve(scored []Scored) (precision, recall, thresholds []float64) {
	s := sortedScored(scored)
	totalTP := 0
	for _, x := range s {
		if x.TP {
			totalTP++
		}
	}
	tp, fp := 0, 0
	for i := 0; i < len(s); {
		th := rankScore(s[i].Score)
		for ; i < len(s) && rankScore(s[i].Score) == th; i++ {
			if s[i].TP {
				tp++
			} else {
				fp++
			}
		}
		thresholds = append(thresholds, th)
		precision = append(precision, Precision(tp, fp))
		if totalTP == 0 {
			recall = append(recall, 1)
		} else {
			recall = append(recall, float64(tp)/float64(totalTP))
		}
	}
	reverse(precision)
	reverse(recall)
	reverse(thresholds)
	return append(precision, 1), append(recall, 0), thresholds
}

// SklearnAveragePrecision is scikit-learn's average_precision_score(y_true=TP flags, scores):
// −Σ diff(recall)·precision[:-1] over SklearnPRCurve. It is 0 with no positive alert.
func SklearnAveragePrecision(scored []Scored) float64 {
	p, r, _ := SklearnPRCurve(scored)
	var ap float64
	for i := 0; i+1 < len(r); i++ {
		ap -= (r[i+1] - r[i]) * p[i]
	}
	return ap
}

// sortedScored returns a copy by descending score (NaN last); ties keep their input order,
// which no figure depends on since ties are grouped into one threshold.
func sortedScored(scored []Scored) []Scored {
	s := append([]Scored(nil), scored...)
	sort.SliceStable(s, func(i, j int) bool { return rankScore(s[i].Score) > rankScore(s[j].Score) })
	return s
}

func reverse(x []float64) {
	for i, j := 0, len(x)-1; i < j; i, j = i+1, j-1 {
		x[i], x[j] = x[j], x[i]
	}
}
