package backtest

import (
	"encoding/json"
	"math"
	"sort"

	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/reports"
)

// MetricsSchemaVersion is the version of the metrics.json layout.
const MetricsSchemaVersion = 1

// Metrics is the content of a run's metrics.json: figures per detector and overall.
type Metrics struct {
	SchemaVersion int `json:"schema_version"`
	// Detectors by name; encoding/json writes map keys sorted, so the file is deterministic.
	Detectors map[string]DetectorMetrics `json:"detectors"`
	// Overall sums tp, fp, fn, alerts, incidents and duplicates over detectors (micro average:
	// an incident counted by two detectors of its type counts twice) and derives precision,
	// recall and F1 from the sums. Its average_precision is the mean of the per-detector APs
	// over detectors with at least one incident (macro: scores of different detectors are not
	// comparable, so pooling their alerts into one ranking would be meaningless). Its
	// time-to-detect pools every detected (detector, incident) pair.
	Overall DetectorMetrics `json:"overall"`
}

// DetectorMetrics are the figures of one detector (or the overall micro figures).
type DetectorMetrics struct {
	// Precision is tp/(tp+fp), 0 when there are no alerts (scikit-learn's zero_division=0).
	Precision float64 `json:"precision"`
	// Recall is tp/incidents, 0 when there are no incidents (zero_division=0).
	Recall float64 `json:"recall"`
	// F1 is the harmonic mean of precision and recall, 0 when both are 0.
	F1 float64 `json:"f1"`
	// AveragePrecision is Σ_k (R_k − R_{k−1})·P_k over the distinct score thresholds in
	// descending order, with recall relative to the number of incidents, so missed incidents
	// cap it at the recall: it equals scikit-learn's average_precision_score over the alerts'
	// TP labels times tp/incidents.
	AveragePrecision float64 `json:"average_precision"`
	TP               int     `json:"tp"`
	FP               int     `json:"fp"`
	FN               int     `json:"fn"`
	Alerts           int     `json:"alerts"`
	Incidents        int     `json:"incidents"`
	// Duplicates are the false positives that fell inside an already-matched incident's window.
	Duplicates int `json:"duplicates"`
	// AlertsPerDay is alerts / (dataset span in days); 0 when the span is not positive.
	AlertsPerDay float64  `json:"alerts_per_day"`
	TimeToDetect TTDStats `json:"time_to_detect_s"`
}

// TTDStats summarises time-to-detect over detected incidents, in seconds. Quantiles interpolate
// linearly between order statistics (numpy's default "linear" method): the median of an even
// count is the mean of the two middle values. With Count 0 every figure is written as null.
type TTDStats struct {
	Count  int
	Min    float64
	Median float64
	P90    float64
	Mean   float64
	Max    float64
}

// MarshalJSON writes {"count","min","median","p90","mean","max"}, the figures null when Count
// is 0 (0 s would be a real, excellent time-to-detect).
func (s TTDStats) MarshalJSON() ([]byte, error) {
	type figures struct {
		Count  int      `json:"count"`
		Min    *float64 `json:"min"`
		Median *float64 `json:"median"`
		P90    *float64 `json:"p90"`
		Mean   *float64 `json:"mean"`
		Max    *float64 `json:"max"`
	}
	f := figures{Count: s.Count}
	if s.Count > 0 {
		f.Min, f.Median, f.P90, f.Mean, f.Max = &s.Min, &s.Median, &s.P90, &s.Mean, &s.Max
	}
	return json.Marshal(f)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *TTDStats) UnmarshalJSON(b []byte) error {
	var f struct {
		Count                       int
		Min, Median, P90, Mean, Max *float64
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	val := func(p *float64) float64 {
		if p == nil {
			return 0
		}
		return *p
	}
	*s = TTDStats{Count: f.Count, Min: val(f.Min), Median: val(f.Median), P90: val(f.P90), Mean: val(f.Mean), Max: val(f.Max)}
	return nil
}

// NewTTDStats summarises time-to-detect values given in microseconds.
func NewTTDStats(ttd []detectors.Micros) TTDStats {
	if len(ttd) == 0 {
		return TTDStats{}
	}
	s := make([]float64, len(ttd))
	for i, v := range ttd {
		s[i] = float64(v) / float64(detectors.Second)
	}
	sort.Float64s(s)
	var sum float64
	for _, v := range s {
		sum += v
	}
	return TTDStats{
		Count: len(s), Min: s[0], Max: s[len(s)-1], Mean: sum / float64(len(s)),
		Median: Quantile(s, 0.5), P90: Quantile(s, 0.9),
	}
}

// Quantile returns the q-quantile of sorted values by linear interpolation between the order
// statistics at positions floor(q·(n−1)) and ceil(q·(n−1)) (numpy.percentile's default). It
// returns 0 for no values.
func Quantile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	pos := q * float64(n-1)
	lo := int(math.Floor(pos))
	if lo >= n-1 {
		return sorted[n-1]
	}
	frac := pos - float64(lo)
	return sorted[lo] + frac*(sorted[lo+1]-sorted[lo])
}

// Precision is tp/(tp+fp), and 0 with no alerts: scikit-learn's zero_division=0 convention.
func Precision(tp, fp int) float64 { return ratio(tp, tp+fp) }

// Recall is tp/(tp+fn), and 0 with no incidents (zero_division=0).
func Recall(tp, fn int) float64 { return ratio(tp, tp+fn) }

// F1 is the harmonic mean of precision and recall, 0 when both are 0.
func F1(precision, recall float64) float64 { return FBeta(precision, recall, 1) }

// F1Counts is F1 from counts, 2·tp/(2·tp + fp + fn): the same value as F1(P, R), rounded once
// (2/3 prints as 0.6666666666666666, not …65). 0 when tp is 0.
func F1Counts(tp, fp, fn int) float64 { return ratio(2*tp, 2*tp+fp+max(fn, 0)) }

// FBeta is (1+β²)·P·R / (β²·P + R): recall weighs β times as much as precision. It is 0 when the
// denominator is 0 (zero_division=0), as scikit-learn's fbeta_score.
func FBeta(precision, recall, beta float64) float64 {
	b2 := beta * beta
	den := b2*precision + recall
	if den == 0 {
		return 0
	}
	return (1 + b2) * precision * recall / den
}

func ratio(num, den int) float64 {
	if den == 0 {
		return 0
	}
	return float64(num) / float64(den)
}

// alertsPerDay divides by the span in days; a span that is not positive gives 0.
func alertsPerDay(alerts int, span detectors.Micros) float64 {
	if span <= 0 {
		return 0
	}
	return float64(alerts) / (float64(span) / float64(detectors.Day))
}

// ComputeMetrics derives metrics.json from a matching. span is the dataset's time span (last
// event ts − first event ts) used for alerts per day.
func ComputeMetrics(res *MatchResult, span detectors.Micros) Metrics {
	m := Metrics{SchemaVersion: MetricsSchemaVersion, Detectors: map[string]DetectorMetrics{}}
	var all []detectors.Micros
	var apSum float64
	var apCount int
	o := &m.Overall
	for i := range res.Detectors {
		d := &res.Detectors[i]
		dm := DetectorMetricsOf(d, span)
		m.Detectors[d.Detector] = dm
		o.TP += dm.TP
		o.FP += dm.FP
		o.FN += dm.FN
		o.Alerts += dm.Alerts
		o.Incidents += dm.Incidents
		o.Duplicates += dm.Duplicates
		all = append(all, detectedTTD(d)...)
		if dm.Incidents > 0 {
			apSum += dm.AveragePrecision
			apCount++
		}
	}
	o.Precision = Precision(o.TP, o.FP)
	o.Recall = Recall(o.TP, o.FN)
	o.F1 = F1Counts(o.TP, o.FP, o.FN)
	if apCount > 0 {
		o.AveragePrecision = apSum / float64(apCount)
	}
	o.AlertsPerDay = alertsPerDay(o.Alerts, span)
	o.TimeToDetect = NewTTDStats(all)
	return m
}

// DetectorMetricsOf derives one detector's figures from its matching.
func DetectorMetricsOf(d *DetectorMatch, span detectors.Micros) DetectorMetrics {
	dm := DetectorMetrics{
		TP: d.TP, FP: d.FP, FN: d.FN, Alerts: len(d.Alerts), Incidents: len(d.Incidents),
		Duplicates: d.Duplicates,
	}
	dm.Precision = Precision(dm.TP, dm.FP)
	dm.Recall = Recall(dm.TP, dm.FN)
	dm.F1 = F1Counts(dm.TP, dm.FP, dm.FN)
	dm.AveragePrecision = AveragePrecision(d.Scored(), dm.Incidents)
	dm.AlertsPerDay = alertsPerDay(dm.Alerts, span)
	dm.TimeToDetect = NewTTDStats(detectedTTD(d))
	return dm
}

func detectedTTD(d *DetectorMatch) []detectors.Micros {
	var out []detectors.Micros
	for _, in := range d.Incidents {
		if in.Detected {
			out = append(out, in.TimeToDetect)
		}
	}
	return out
}

// ReportRows converts the metrics to the rows of report.md: detectors by name, then overall.
func (m *Metrics) ReportRows() (rows []reports.MetricsRow, overall reports.MetricsRow) {
	names := make([]string, 0, len(m.Detectors))
	for n := range m.Detectors {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rows = append(rows, m.Detectors[n].reportRow(n))
	}
	return rows, m.Overall.reportRow("overall")
}

func (dm DetectorMetrics) reportRow(name string) reports.MetricsRow {
	return reports.MetricsRow{
		Detector: name, TP: dm.TP, FP: dm.FP, FN: dm.FN, Alerts: dm.Alerts, Incidents: dm.Incidents,
		Duplicates: dm.Duplicates, Precision: dm.Precision, Recall: dm.Recall, F1: dm.F1,
		AveragePrecision: dm.AveragePrecision, TTDCount: dm.TimeToDetect.Count,
		TTDMedianS: dm.TimeToDetect.Median, AlertsPerDay: dm.AlertsPerDay,
	}
}
