package backtest

// The regression gate: fds regress compares a baseline run with a candidate run, metric by metric
// and detector by detector, and decides whether the candidate got worse beyond a tolerance.
// See docs/ci.md for the output and exit codes.

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/fds-dev/fds/datasets"
)

// The metrics the gate compares, as named in tolerances and reports.
const (
	RegressPrecision    = "precision"
	RegressRecall       = "recall"
	RegressF1           = "f1"
	RegressAP           = "ap"
	RegressAlertsPerDay = "alerts_per_day"
	RegressTTDMedian    = "ttd_median"
)

// RegressMetrics lists the compared metrics in table order.
var RegressMetrics = []string{RegressPrecision, RegressRecall, RegressF1, RegressAP, RegressAlertsPerDay, RegressTTDMedian}

// OverallName is the pseudo-detector of the overall figures in comparisons and tolerances.
const OverallName = "overall"

// regressAliases maps accepted spellings to metric names.
var regressAliases = map[string]string{
	"precision": RegressPrecision, "recall": RegressRecall, "f1": RegressF1,
	"ap": RegressAP, "average_precision": RegressAP,
	"alerts_per_day": RegressAlertsPerDay, "alerts/day": RegressAlertsPerDay,
	"ttd_median": RegressTTDMedian, "ttd": RegressTTDMedian, "time_to_detect": RegressTTDMedian,
}

// ParseRegressMetric returns the metric a name (or alias) stands for.
func ParseRegressMetric(name string) (string, error) {
	if m, ok := regressAliases[strings.ToLower(strings.TrimSpace(name))]; ok {
		return m, nil
	}
	return "", fmt.Errorf("unknown metric %q (want %s)", name, strings.Join(RegressMetrics, ", "))
}

// LowerIsBetter says whether a rise of the metric is a worsening: alerts per day (analyst load)
// and time-to-detect. For the others a drop is.
func LowerIsBetter(metric string) bool {
	return metric == RegressAlertsPerDay || metric == RegressTTDMedian
}

// regressValue returns a metric of a detector's figures; ok is false when it is undefined: the
// precision of a run without alerts (metrics.json writes 0 by scikit-learn's zero_division
// convention, but a detector falling silent is a drop of recall, not of precision) and the median
// time-to-detect with nothing detected.
func regressValue(dm DetectorMetrics, metric string) (v float64, ok bool) {
	switch metric {
	case RegressPrecision:
		return dm.Precision, dm.Alerts > 0
	case RegressRecall:
		return dm.Recall, true
	case RegressF1:
		return dm.F1, true
	case RegressAP:
		return dm.AveragePrecision, true
	case RegressAlertsPerDay:
		return dm.AlertsPerDay, true
	case RegressTTDMedian:
		return dm.TimeToDetect.Median, dm.TimeToDetect.Count > 0
	}
	return 0, false
}

// Tolerance is how much a metric may worsen before the gate fails: an absolute amount in the
// metric's unit (0.02 of recall, 5 alerts per day, 30 s), or a fraction of the baseline's value
// when Relative (written "10%").
type Tolerance struct {
	Value    float64
	Relative bool
}

// ParseTolerance reads "0.02" (absolute) or "10%" (relative to the baseline).
func ParseTolerance(s string) (Tolerance, error) {
	s = strings.TrimSpace(s)
	t := Tolerance{}
	num := s
	if strings.HasSuffix(s, "%") {
		t.Relative = true
		num = strings.TrimSpace(strings.TrimSuffix(s, "%"))
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return t, fmt.Errorf("tolerance %q: want a number >= 0, or a percentage such as 10%%", s)
	}
	if t.Relative {
		v /= 100
	}
	t.Value = v
	return t, nil
}

// Allowed is the worsening the tolerance allows for a baseline value.
func (t Tolerance) Allowed(baseline float64) float64 {
	if t.Relative {
		return math.Abs(baseline) * t.Value
	}
	return t.Value
}

// String writes the tolerance as ParseTolerance reads it.
func (t Tolerance) String() string {
	if t.Relative {
		return strconv.FormatFloat(t.Value*100, 'g', -1, 64) + "%"
	}
	return strconv.FormatFloat(t.Value, 'g', -1, 64)
}

// Tolerances hold a tolerance per metric, overridden per detector.
type Tolerances struct {
	Metrics   map[string]Tolerance
	Detectors map[string]map[string]Tolerance
}

// DefaultTolerances are the gate's defaults: one point (0.01) of precision, recall, F1 and AP;
// 10% more alerts per day; 10% longer median time-to-detect. A backtest is deterministic, so any
// change at all is caused by the code or configuration; the tolerances say which changes are
// too small to block a merge.
func DefaultTolerances() Tolerances {
	return Tolerances{
		Metrics: map[string]Tolerance{
			RegressPrecision: {Value: 0.01}, RegressRecall: {Value: 0.01}, RegressF1: {Value: 0.01},
			RegressAP: {Value: 0.01}, RegressAlertsPerDay: {Value: 0.10, Relative: true},
			RegressTTDMedian: {Value: 0.10, Relative: true},
		},
		Detectors: map[string]map[string]Tolerance{},
	}
}

// For returns the tolerance of a detector's metric: the detector's own if set, else the metric's.
func (t Tolerances) For(detector, metric string) Tolerance {
	if d, ok := t.Detectors[detector]; ok {
		if tol, ok := d[metric]; ok {
			return tol
		}
	}
	return t.Metrics[metric]
}

// Set applies one METRIC=TOL or DETECTOR.METRIC=TOL assignment (from --tolerance); TOL is a
// number or a percentage. The detector may be "overall".
func (t *Tolerances) Set(assignment string) error {
	key, value, ok := strings.Cut(assignment, "=")
	if !ok || strings.TrimSpace(key) == "" {
		return fmt.Errorf("--tolerance %q: want METRIC=TOL or DETECTOR.METRIC=TOL (e.g. recall=0.02, spoofing.precision=0.05, alerts_per_day=10%%)", assignment)
	}
	detector, metricName := "", strings.TrimSpace(key)
	if i := strings.LastIndex(metricName, "."); i >= 0 {
		detector, metricName = metricName[:i], metricName[i+1:]
		if detector == "" {
			return fmt.Errorf("--tolerance %q: empty detector name", assignment)
		}
	}
	metric, err := ParseRegressMetric(metricName)
	if err != nil {
		return fmt.Errorf("--tolerance %q: %w", assignment, err)
	}
	tol, err := ParseTolerance(value)
	if err != nil {
		return fmt.Errorf("--tolerance %q: %w", assignment, err)
	}
	t.set(detector, metric, tol)
	return nil
}

func (t *Tolerances) set(detector, metric string, tol Tolerance) {
	if detector == "" {
		if t.Metrics == nil {
			t.Metrics = map[string]Tolerance{}
		}
		t.Metrics[metric] = tol
		return
	}
	if t.Detectors == nil {
		t.Detectors = map[string]map[string]Tolerance{}
	}
	if t.Detectors[detector] == nil {
		t.Detectors[detector] = map[string]Tolerance{}
	}
	t.Detectors[detector][metric] = tol
}

// LoadTolerances reads a tolerances file over base (normally DefaultTolerances()):
//
//	metrics:             # every detector
//	  recall: 0.02
//	  alerts_per_day: 10%
//	detectors:           # per detector (or overall), over the above
//	  spoofing:
//	    precision: 0.05
func LoadTolerances(path string, base Tolerances) (Tolerances, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return base, fmt.Errorf("tolerances: %w", err)
	}
	return ParseTolerances(path, data, base)
}

// ParseTolerances parses a tolerances file's content; name is used in errors.
func ParseTolerances(name string, data []byte, base Tolerances) (Tolerances, error) {
	var file struct {
		Metrics   map[string]any            `yaml:"metrics"`
		Detectors map[string]map[string]any `yaml:"detectors"`
	}
	out := base.clone()
	if len(bytes.TrimSpace(data)) == 0 {
		return out, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data), yaml.Strict(), yaml.DisallowUnknownField())
	if err := dec.Decode(&file); err != nil {
		return base, decodeConfigError(name, err)
	}
	apply := func(path, detector string, values map[string]any) error {
		for _, k := range sortedKeys(values) {
			metric, err := ParseRegressMetric(k)
			if err != nil {
				return fmt.Errorf("%s: %s.%s: %w", name, path, k, err)
			}
			tol, err := ParseTolerance(yamlScalar(values[k]))
			if err != nil {
				return fmt.Errorf("%s: %s.%s: %w", name, path, k, err)
			}
			out.set(detector, metric, tol)
		}
		return nil
	}
	if err := apply("metrics", "", file.Metrics); err != nil {
		return base, err
	}
	for _, d := range sortedKeys(file.Detectors) {
		if err := apply("detectors."+d, d, file.Detectors[d]); err != nil {
			return base, err
		}
	}
	return out, nil
}

func yamlScalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (t Tolerances) clone() Tolerances {
	out := Tolerances{Metrics: map[string]Tolerance{}, Detectors: map[string]map[string]Tolerance{}}
	for k, v := range t.Metrics {
		out.Metrics[k] = v
	}
	for d, m := range t.Detectors {
		out.Detectors[d] = map[string]Tolerance{}
		for k, v := range m {
			out.Detectors[d][k] = v
		}
	}
	return out
}

// RegressRun is one side of a comparison: a run folder, or a metrics.json, with the per-alert and
// per-incident outcomes of its matches file when one is available.
type RegressRun struct {
	Path string
	Run  *RunFolder
	// Matches are the rows of the run's matches.parquet, or of matches.tsv in a committed baseline
	// (see WriteBaseline); nil when neither exists next to the metrics.
	Matches     []datasets.MatchRow
	MatchesFile string
}

// LoadRegressRun loads a run folder or a metrics.json (then a matches.parquet or matches.tsv in
// the same folder is used when present).
func LoadRegressRun(path string) (*RegressRun, error) {
	rf, err := LoadRun(path)
	if err != nil {
		return nil, err
	}
	r := &RegressRun{Path: path, Run: rf}
	for _, name := range []string{MatchesFile, BaselineMatchesFile} {
		p := filepath.Join(rf.Dir, name)
		if _, err := os.Stat(p); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("%s: %w", p, unwrapPath(err))
		}
		if name == MatchesFile {
			r.Matches, err = datasets.ReadMatches(p)
		} else {
			r.Matches, err = ReadMatchesTSV(p)
		}
		if err != nil {
			return nil, err
		}
		if r.Matches == nil {
			r.Matches = []datasets.MatchRow{}
		}
		r.MatchesFile = p
		break
	}
	return r, nil
}

// RegressOptions say how to compare two runs.
type RegressOptions struct {
	Tolerances Tolerances
	// Replicates is the number of bootstrap resamples for the confidence intervals; 0 computes
	// none.
	Replicates int
	Seed       uint64
	// Level is the confidence level of the intervals (default 0.95); a change is significant
	// when its bootstrap p-value is below 1 − Level.
	Level float64
	// List is how many appeared and disappeared alerts the diff lists (each).
	List int
	// RequireSignificant counts a worsening beyond tolerance as a regression only when it is
	// also significant (useful when baseline and candidate ran on different data).
	RequireSignificant bool
}

// Metric comparison statuses.
const (
	StatusOK        = "ok"
	StatusRegressed = "regressed"
	StatusImproved  = "improved"
	// StatusUndefined: the metric is undefined on a side (the precision of a run without alerts,
	// a median time-to-detect with nothing detected); the change shows in recall instead.
	StatusUndefined = "undefined"
	// StatusMissing: the baseline has the detector, the candidate does not: a regression.
	StatusMissing = "missing"
	// StatusNew: the candidate has a detector the baseline lacks: reported, never a regression.
	StatusNew = "new"
)

// Regression is the outcome of comparing a candidate run with a baseline.
type Regression struct {
	Baseline  string           `json:"baseline"`
	Candidate string           `json:"candidate"`
	Bootstrap RegressBootstrap `json:"bootstrap"`
	// Detectors are by name, overall last.
	Detectors []DetectorDelta `json:"detectors"`
	// Regressions name the failed checks as DETECTOR.METRIC, in table order; empty when the gate
	// passes.
	Regressions []string  `json:"regressions"`
	AlertDiff   AlertDiff `json:"alert_diff"`
	Notes       []string  `json:"notes"`
}

// RegressBootstrap describes how the confidence intervals were computed.
type RegressBootstrap struct {
	Replicates int     `json:"replicates"`
	Seed       uint64  `json:"seed"`
	Level      float64 `json:"level"`
	Method     string  `json:"method"`
	// Unavailable says why there are no intervals ("" when there are).
	Unavailable string `json:"unavailable,omitempty"`
}

// DetectorDelta is one detector's comparison.
type DetectorDelta struct {
	Detector string `json:"detector"`
	// Presence is "both", "baseline_only" (missing from the candidate) or "candidate_only".
	Presence string        `json:"presence"`
	Metrics  []MetricDelta `json:"metrics"`
}

// MetricDelta is one metric's comparison. Values are null where undefined or not computed.
type MetricDelta struct {
	Metric    string   `json:"metric"`
	Baseline  *float64 `json:"baseline"`
	Candidate *float64 `json:"candidate"`
	// Delta is candidate − baseline.
	Delta *float64 `json:"delta"`
	// CILow and CIHigh bound Delta at the bootstrap's level; P is the bootstrap p-value of "no
	// change".
	CILow       *float64 `json:"ci_low"`
	CIHigh      *float64 `json:"ci_high"`
	P           *float64 `json:"p"`
	Significant bool     `json:"significant"`
	Tolerance   string   `json:"tolerance"`
	// Allowed is the worsening the tolerance allows here, in the metric's unit.
	Allowed float64 `json:"allowed"`
	// BeyondTolerance says the metric worsened by more than Allowed (a regression unless
	// RequireSignificant and the change is not significant).
	BeyondTolerance bool   `json:"beyond_tolerance"`
	Status          string `json:"status"`
}

// Failed reports whether the check fails the gate.
func (m *MetricDelta) Failed() bool { return m.Status == StatusRegressed || m.Status == StatusMissing }

// Passed reports whether the gate passes.
func (r *Regression) Passed() bool { return len(r.Regressions) == 0 }

// regressEpsilon absorbs floating-point noise in "worse than allowed" (0.3 − 0.29 > 0.01).
const regressEpsilon = 1e-9

// Compare compares a candidate run with a baseline: per detector present in either (and overall)
// and per metric, the two values, the change, a bootstrap interval of the change when both runs
// have matches, and the verdict against the tolerances; plus the diff of their alerts.
func Compare(base, cand *RegressRun, opts RegressOptions) *Regression {
	if opts.Level <= 0 || opts.Level >= 1 {
		opts.Level = 0.95
	}
	if opts.Tolerances.Metrics == nil {
		opts.Tolerances = DefaultTolerances()
	}
	r := &Regression{Baseline: base.Path, Candidate: cand.Path, Regressions: []string{}, Notes: []string{},
		Bootstrap: RegressBootstrap{Seed: opts.Seed, Level: opts.Level, Method: bootstrapMethod}}
	bm, cm := base.Run.Metrics, cand.Run.Metrics

	names := map[string]bool{}
	for n := range bm.Detectors {
		names[n] = true
	}
	for n := range cm.Detectors {
		names[n] = true
	}
	order := sortedKeys(names)
	for _, d := range sortedKeys(opts.Tolerances.Detectors) {
		if d != OverallName && !names[d] {
			r.Notes = append(r.Notes, fmt.Sprintf("tolerances name detector %s, which neither run has", d))
		}
	}

	r.Notes = append(r.Notes, configChanges(base.Run.Config, cand.Run.Config)...)

	var intervals map[string]map[string]deltaInterval
	switch {
	case opts.Replicates <= 0:
		r.Bootstrap.Unavailable = "no resampling asked for (--bootstrap 0)"
	case base.Matches == nil || cand.Matches == nil:
		var which []string
		if base.Matches == nil {
			which = append(which, "baseline "+base.Path)
		}
		if cand.Matches == nil {
			which = append(which, "candidate "+cand.Path)
		}
		r.Bootstrap.Unavailable = "no matches file (matches.parquet or matches.tsv) for " + strings.Join(which, " and ")
	default:
		r.Bootstrap.Replicates = opts.Replicates
		var notes []string
		intervals, notes = pairedIntervals(base, cand, order, opts)
		r.Notes = append(r.Notes, notes...)
	}

	for _, n := range append(order, OverallName) {
		var bd, cd DetectorMetrics
		var inB, inC bool
		if n == OverallName {
			bd, cd, inB, inC = bm.Overall, cm.Overall, true, true
		} else {
			bd, inB = bm.Detectors[n]
			cd, inC = cm.Detectors[n]
		}
		dd := DetectorDelta{Detector: n, Presence: "both"}
		switch {
		case !inC:
			dd.Presence = "baseline_only"
		case !inB:
			dd.Presence = "candidate_only"
		}
		if inB && inC && n != OverallName && bd.Incidents != cd.Incidents {
			r.Notes = append(r.Notes, fmt.Sprintf("%s: the baseline counts %d incidents, the candidate %d: the runs did not use the same labels, so their figures are not comparable", n, bd.Incidents, cd.Incidents))
		}
		for _, metric := range RegressMetrics {
			md := compareMetric(n, metric, bd, cd, inB, inC, opts)
			if iv, ok := intervals[n][metric]; ok && md.Delta != nil {
				lo, hi, p := iv.lo+*md.Delta, iv.hi+*md.Delta, iv.p
				md.CILow, md.CIHigh, md.P = &lo, &hi, &p
				md.Significant = p < 1-opts.Level
			}
			if md.BeyondTolerance {
				md.Status = StatusRegressed
				if opts.RequireSignificant && md.P != nil && !md.Significant {
					md.Status = StatusOK
				}
			}
			if md.Failed() {
				r.Regressions = append(r.Regressions, n+"."+metric)
			}
			dd.Metrics = append(dd.Metrics, md)
		}
		r.Detectors = append(r.Detectors, dd)
	}
	r.AlertDiff = DiffRuns(base, cand, opts.List)
	return r
}

func compareMetric(detector, metric string, bd, cd DetectorMetrics, inB, inC bool, opts RegressOptions) MetricDelta {
	tol := opts.Tolerances.For(detector, metric)
	md := MetricDelta{Metric: metric, Tolerance: tol.String()}
	bv, bok := regressValue(bd, metric)
	cv, cok := regressValue(cd, metric)
	bok, cok = bok && inB, cok && inC
	if bok {
		md.Baseline = &bv
		md.Allowed = tol.Allowed(bv)
	}
	if cok {
		md.Candidate = &cv
	}
	switch {
	case !inC:
		md.Status = StatusMissing
		return md
	case !inB:
		md.Status = StatusNew
		return md
	case !bok || !cok:
		md.Status = StatusUndefined
		return md
	}
	delta := cv - bv
	md.Delta = &delta
	worse := -delta
	if LowerIsBetter(metric) {
		worse = delta
	}
	md.Status = StatusOK
	switch {
	case worse > md.Allowed+regressEpsilon:
		md.BeyondTolerance = true
	case -worse > md.Allowed+regressEpsilon:
		md.Status = StatusImproved
	}
	return md
}

// configChanges lists the parameters whose values differ between two runs' configurations, so
// that a report says what changed (when both runs recorded their config.yaml).
func configChanges(b, c Config) []string {
	if len(b.Detectors) == 0 || len(c.Detectors) == 0 {
		return nil
	}
	var out []string
	show := func(m map[string]float64, p string) string {
		if v, ok := m[p]; ok {
			return formatFloat(v)
		}
		return "default"
	}
	for _, d := range sortedKeys(b.Detectors) {
		cp, ok := c.Detectors[d]
		if !ok {
			continue
		}
		bp := b.Detectors[d]
		params := map[string]bool{}
		for p := range bp {
			params[p] = true
		}
		for p := range cp {
			params[p] = true
		}
		for _, p := range sortedKeys(params) {
			bv, okb := bp[p]
			cv, okc := cp[p]
			if okb != okc || bv != cv {
				out = append(out, fmt.Sprintf("configuration changed: %s.%s %s -> %s", d, p, show(bp, p), show(cp, p)))
			}
		}
	}
	if b.Match != c.Match {
		out = append(out, fmt.Sprintf("configuration changed: match windows lead %gs tolerance %gs -> lead %gs tolerance %gs",
			b.Match.LeadSeconds, b.Match.ToleranceSeconds, c.Match.LeadSeconds, c.Match.ToleranceSeconds))
	}
	return out
}
