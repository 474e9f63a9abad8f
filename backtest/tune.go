package backtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fds-dev/fds/detectors"
)

// TuneSchemaVersion is the version of leaderboard.json's layout.
const TuneSchemaVersion = 1

// DivergenceF1 is the drop from in-sample to out-of-sample F1 above which tuning warns that the
// chosen configuration may be overfitted.
const DivergenceF1 = 0.1

// DefaultTop is how many configurations per detector the leaderboard table shows and gives
// bootstrap intervals.
const DefaultTop = 10

// TuneOptions say what to tune, by which objective, and how to validate the choice.
type TuneOptions struct {
	// DataDir, Sorter, TempDir, Notice and Progress are used as by Run; Config is ignored.
	Options
	Grid       *Grid
	Objective  Objective
	Validation Validation
	// Seed seeds the bootstrap; Resamples and Level default to 1000 and 0.95.
	Seed      uint64
	Resamples int
	Level     float64
	// Top is how many configurations per detector get bootstrap intervals (0: DefaultTop).
	Top int
	// Workers is the number of goroutines sharing the detector instances (0: GOMAXPROCS).
	Workers int
	// SeparateInstances runs one detector instance per configuration even for detectors that
	// keep the state configurations share once (detectors.Spec.NewGroup): the slow path, which
	// gives the same alerts, for comparing.
	SeparateInstances bool
	// Verify runs a plain backtest of the chosen configuration after the sweep and reports its
	// metrics as TunedMetrics, warning where they differ from the sweep's (one more replay). It
	// always runs when a tuned detector reads min_score (detectors.Spec.ReadsMinScore); for the
	// others the sweep's figures are a backtest's by construction, so it only re-proves them.
	Verify bool
}

// Validation says how a choice is checked on data it was not tuned on. The zero value tunes and
// reports on all the data (in-sample figures only).
type Validation struct {
	// Split, when set, tunes on the data before a time and reports the data from it on. The
	// time is SplitAt when HasSplitAt, else the point SplitFraction of the way through the
	// replayed data.
	Split         bool
	SplitFraction float64
	SplitAt       detectors.Micros
	HasSplitAt    bool
	// Folds > 0 runs walk-forward validation: the replayed span is cut into Folds+1 equal
	// blocks, and fold k (1..Folds) tunes on blocks 0..k−1 and tests on block k.
	Folds int
}

// MaxFolds bounds --folds.
const MaxFolds = 50

// ParseSplit reads --split: a fraction in (0, 1) (0.7 tunes on the first 70% of the replayed
// time span) or a UTC time, RFC 3339 (2024-03-01T12:00:00Z) or a date (2024-03-01).
func ParseSplit(s string) (Validation, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if !(f > 0 && f < 1) {
			return Validation{}, fmt.Errorf("--split %s: a fraction must lie strictly between 0 and 1", s)
		}
		return Validation{Split: true, SplitFraction: f}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return Validation{Split: true, SplitAt: t.UTC().UnixMicro(), HasSplitAt: true}, nil
		}
	}
	return Validation{}, fmt.Errorf("--split %q: want a fraction in (0, 1) or a UTC time such as 2024-03-01 or 2024-03-01T12:00:00Z", s)
}

// TuneResult is a finished sweep: leaderboard.json's content and what the run folder needs.
type TuneResult struct {
	SchemaVersion int    `json:"schema_version"`
	FDSVersion    string `json:"fds_version"`
	DataDir       string `json:"data_dir"`
	Objective     string `json:"objective"`
	// Configurations is the number of detector instances the one replay fed.
	Configurations int               `json:"configurations"`
	Events         int64             `json:"events_replayed"`
	Validation     ValidationReport  `json:"validation"`
	Bootstrap      BootstrapSettings `json:"bootstrap"`
	Match          MatchSettings     `json:"match"`
	Detectors      []DetectorTuning  `json:"detectors"`
	// Feasible says every detector has a configuration meeting the objective; only then is
	// there a tuned configuration.
	Feasible bool     `json:"feasible"`
	Warnings []string `json:"warnings"`
	// TunedMetrics are the figures of Tuned on all the data: what `fds backtest --config
	// tuned.yaml` computes on the same data, to the bit.
	TunedMetrics *Metrics `json:"tuned_metrics,omitempty"`

	Tuned    Config      `json:"-"`
	Curves   []CurveSet  `json:"-"`
	Manifest Manifest    `json:"-"`
	Stats    ReplayStats `json:"-"`
	Grid     *Grid       `json:"-"`

	// sweep and test keep every configuration's matching and the reporting period, for tests.
	sweep []*sweepConfig
	test  Period
}

// BootstrapSettings say how the intervals were computed.
type BootstrapSettings struct {
	Resamples int     `json:"resamples"`
	Level     float64 `json:"level"`
	Seed      uint64  `json:"seed"`
	// Units says what is resampled.
	Units string `json:"units"`
}

// ValidationReport says which periods the figures come from.
type ValidationReport struct {
	// Mode is "none" (in-sample only), "split" or "walk_forward".
	Mode        string        `json:"mode"`
	InSample    PeriodReport  `json:"in_sample"`
	OutOfSample *PeriodReport `json:"out_of_sample,omitempty"`
	Folds       int           `json:"folds,omitempty"`
}

// PeriodReport describes a period in outputs.
type PeriodReport struct {
	From string  `json:"from"`
	To   string  `json:"to"`
	Days float64 `json:"days"`
}

// DetectorTuning is one detector's sweep.
type DetectorTuning struct {
	Detector       string `json:"detector"`
	Configurations int    `json:"configurations"`
	// Chosen is the id of the chosen configuration ("" when none meets the objective).
	Chosen   string  `json:"chosen"`
	MinScore float64 `json:"min_score"`
	Feasible bool    `json:"feasible"`
	// Incidents counts the detector's incidents in-sample and out of sample.
	Incidents map[string]int `json:"incidents"`
	// Leaderboard ranks every configuration by its in-sample objective.
	Leaderboard []ConfigScore `json:"leaderboard"`
	// Folds and WalkForward are set in walk-forward validation: each fold's choice and its
	// test figures, and the test figures pooled over folds.
	Folds       []FoldResult `json:"folds,omitempty"`
	WalkForward *Figures     `json:"walk_forward,omitempty"`
	Warnings    []string     `json:"warnings"`
}

// ConfigScore is one configuration on the leaderboard.
type ConfigScore struct {
	Rank int    `json:"rank"`
	ID   string `json:"id"`
	// Params are the swept values; Fixed values and defaults are in the grid and tuned.yaml.
	Params []ParamValue `json:"params"`
	// MinScore is the threshold chosen in-sample for this configuration.
	MinScore    float64  `json:"min_score"`
	InSample    Figures  `json:"in_sample"`
	OutOfSample *Figures `json:"out_of_sample,omitempty"`
	// Full are the figures on all the data at MinScore.
	Full Figures `json:"full"`
}

// FoldResult is one walk-forward fold.
type FoldResult struct {
	Fold        int          `json:"fold"`
	Train       PeriodReport `json:"train"`
	Test        PeriodReport `json:"test"`
	Chosen      string       `json:"chosen"`
	MinScore    float64      `json:"min_score"`
	InSample    Figures      `json:"in_sample"`
	OutOfSample Figures      `json:"out_of_sample"`
}

// Figures are a configuration's figures on one period at one threshold.
type Figures struct {
	Alerts       int     `json:"alerts"`
	Incidents    int     `json:"incidents"`
	TP           int     `json:"tp"`
	FP           int     `json:"fp"`
	FN           int     `json:"fn"`
	Precision    float64 `json:"precision"`
	Recall       float64 `json:"recall"`
	F1           float64 `json:"f1"`
	AlertsPerDay float64 `json:"alerts_per_day"`
	// Objective is the objective's value (F-beta, recall or alerts/day); Feasible says the
	// point meets its constraint.
	Objective float64      `json:"objective"`
	Feasible  bool         `json:"feasible"`
	CI        *BootstrapCI `json:"ci,omitempty"`
}

// CurveSet holds a chosen configuration's curves for curves.json, by descending threshold.
type CurveSet struct {
	Detector    string    `json:"detector"`
	Config      string    `json:"config"`
	MinScore    float64   `json:"min_score"`
	InSample    []PRPoint `json:"in_sample"`
	OutOfSample []PRPoint `json:"out_of_sample,omitempty"`
	Full        []PRPoint `json:"full"`
}

// sweepConfig is one configuration during a sweep.
type sweepConfig struct {
	GridConfig
	floor  float64
	alerts []detectors.Alert
	match  *DetectorMatch
}

// Tune sweeps a grid in one replay: it reads, decodes and merges the data once and feeds every
// event to one detector instance per configuration, each running at the grid's min_score floor.
// It then matches each configuration's alerts once, sweeps its score threshold on the curve of
// the in-sample period (exact because matching is prefix-consistent), ranks the configurations
// by the objective, reports the in-sample choice out of sample and bootstraps intervals.
func Tune(ctx context.Context, opts TuneOptions) (*TuneResult, error) {
	g := opts.Grid
	if g == nil || len(g.Detectors) == 0 {
		return nil, fmt.Errorf("tune: empty grid")
	}
	if opts.Objective.Kind == 0 {
		return nil, fmt.Errorf("tune: no objective (want %s)", ObjectiveSyntax)
	}
	if opts.Validation.Split && opts.Validation.Folds > 0 {
		return nil, fmt.Errorf("tune: a split and walk-forward folds exclude each other")
	}
	if opts.Validation.Folds < 0 || opts.Validation.Folds > MaxFolds {
		return nil, fmt.Errorf("tune: folds %d out of range [1, %d]", opts.Validation.Folds, MaxFolds)
	}
	if opts.Top <= 0 {
		opts.Top = DefaultTop
	}
	boot := BootstrapSettings{Resamples: opts.Resamples, Level: opts.Level, Seed: opts.Seed,
		Units: "incidents, and false positives by day (by twentieth of the period when it spans under 20 days)"}
	if boot.Resamples <= 0 {
		boot.Resamples = DefaultResamples
	}
	if !(boot.Level > 0 && boot.Level < 1) {
		boot.Level = DefaultCILevel
	}

	names := g.DetectorNames()
	s, err := openSession(opts.Options, names)
	if err != nil {
		return nil, err
	}
	defer s.close()

	configs := make([]*sweepConfig, 0, g.Size())
	instances := make([]Instance, 0, g.Size())
	// sinks collect each instance's alerts; a group's instance routes them itself.
	var sinks []func(detectors.Alert)
	grouped := map[string][]*sweepConfig{}
	groupedValues := map[string][]map[string]float64{}
	for _, gc := range g.Expand() {
		sc := &sweepConfig{GridConfig: gc}
		values := make(map[string]float64, len(gc.Values)+1)
		for k, v := range gc.Values {
			values[k] = v
		}
		if v, ok := values[detectors.MinScoreParam]; ok {
			sc.floor = v
		} else {
			values[detectors.MinScoreParam] = 0
		}
		configs = append(configs, sc)
		if spec, ok := detectors.Lookup(gc.Detector); ok && spec.NewGroup != nil && !opts.SeparateInstances {
			grouped[gc.Detector] = append(grouped[gc.Detector], sc)
			groupedValues[gc.Detector] = append(groupedValues[gc.Detector], values)
			continue
		}
		d, _, err := detectors.Build(gc.Detector, values, s.env)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", gc.ID, err)
		}
		instances = append(instances, Instance{ID: gc.ID, Detector: d})
		sinks = append(sinks, func(a detectors.Alert) { sc.alerts = append(sc.alerts, a) })
	}
	for _, name := range names {
		list := grouped[name]
		if len(list) == 0 {
			continue
		}
		grp, _, err := detectors.BuildGroup(name, groupedValues[name], s.env)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		instances = append(instances, Instance{ID: name + "/group", Detector: &groupInstance{group: grp,
			route: func(i int, a detectors.Alert) { list[i].alerts = append(list[i].alerts, a) }}})
		sinks = append(sinks, nil)
	}
	probes, err := addMinScoreProbes(g, configs, &instances, s.env)
	if err != nil {
		return nil, err
	}
	for _, pr := range probes {
		sinks = append(sinks, func(a detectors.Alert) { pr.alerts = append(pr.alerts, a) })
	}
	if err := s.openSources(ctx); err != nil {
		return nil, err
	}
	stats, err := s.replay(ctx, func(next func() (*detectors.Event, error), progress func(int64)) (ReplayStats, error) {
		return FanOut(ctx, next, instances, func(i int, a detectors.Alert) { sinks[i](a) }, progress, opts.Workers)
	})
	if err != nil {
		return nil, err
	}
	for _, pr := range probes {
		if err := pr.check(); err != nil {
			return nil, err
		}
	}
	incidents, err := s.labels()
	if err != nil {
		return nil, err
	}

	t := time.Now()
	mc := g.Match.MatchConfig()
	idx := matchIndex(incidents, mc) // the same windows for every configuration
	for _, sc := range configs {
		keys := sortAlertsKeyed(sc.alerts) // built once, reused for the ranking in matchKeyed
		spec, _ := detectors.Lookup(sc.Detector)
		cfg := mc
		cfg.Detectors = map[string]detectors.IncidentType{sc.Detector: spec.Type}
		m := matchKeyed(sc.alerts, keys, incidents, idx, cfg)
		sc.match, _ = m.Detector(sc.Detector)
	}

	res := &TuneResult{
		SchemaVersion: TuneSchemaVersion, FDSVersion: Version, DataDir: opts.DataDir,
		Objective: opts.Objective.String(), Configurations: len(configs), Events: stats.Events,
		Bootstrap: boot, Match: g.Match, Warnings: []string{}, Grid: g, Stats: stats, sweep: configs,
	}
	full, train, test, folds, err := validationPeriods(opts.Validation, stats.FirstTS, stats.LastTS)
	if err != nil {
		return nil, err
	}
	res.test = test
	switch {
	case opts.Validation.Split:
		res.Validation = ValidationReport{Mode: "split", InSample: periodReport(train), OutOfSample: ptr(periodReport(test))}
	case opts.Validation.Folds > 0:
		res.Validation = ValidationReport{Mode: "walk_forward", InSample: periodReport(full), Folds: opts.Validation.Folds}
	default:
		res.Validation = ValidationReport{Mode: "none", InSample: periodReport(full)}
	}

	obj := opts.Objective
	res.Feasible = true
	byDetector := map[string][]*sweepConfig{}
	for _, sc := range configs {
		byDetector[sc.Detector] = append(byDetector[sc.Detector], sc)
	}
	chosenConfigs := map[string]*sweepConfig{}
	tuned := Config{Detectors: map[string]map[string]float64{}, Match: g.Match}
	for _, name := range names {
		list := byDetector[name]
		dt := DetectorTuning{Detector: name, Configurations: len(list), Warnings: []string{},
			Incidents: map[string]int{}}
		type scored struct {
			sc        *sweepConfig
			threshold float64
			point     PRPoint
			ap        float64
			margin    float64
			raised    int
		}
		// rank orders the configurations by their best point in a period. Configurations whose
		// points tie go by average precision over the whole curve (the one that ranks its
		// alerts better away from the chosen threshold too), then by the margin between the
		// lowest score kept and the highest dropped (the wider gap separates more safely), then
		// by fewer alerts raised in all (the more selective), then by grid order.
		fixedThreshold := gridDetector(g, name).SweepsMinScore
		rank := func(p Period) []scored {
			out := make([]scored, len(list))
			for i, sc := range list {
				c := periodCurve(sc.match, p)
				pt, th := ChooseThreshold(&c, obj, sc.floor)
				if fixedThreshold {
					pt, th = c.At(sc.floor), sc.floor
				}
				out[i] = scored{sc: sc, threshold: th, point: pt, ap: c.AveragePrecision,
					margin: thresholdMargin(&c, pt, sc.floor), raised: lastAlerts(&c)}
			}
			sort.SliceStable(out, func(i, j int) bool {
				a, b := &out[i], &out[j]
				if obj.Better(a.point, b.point) {
					return true
				}
				if obj.Better(b.point, a.point) {
					return false
				}
				if a.ap != b.ap {
					return a.ap > b.ap
				}
				if a.margin != b.margin {
					return a.margin > b.margin
				}
				return a.raised < b.raised
			})
			return out
		}
		ranked := rank(train)
		dt.Incidents["in_sample"] = countIncidents(list[0].match, train)
		if opts.Validation.Split {
			dt.Incidents["out_of_sample"] = countIncidents(list[0].match, test)
		}
		for r, x := range ranked {
			cs := ConfigScore{Rank: r + 1, ID: x.sc.ID, Params: x.sc.Swept, MinScore: x.threshold}
			if cs.Params == nil {
				cs.Params = []ParamValue{}
			}
			withCI := r < opts.Top
			cs.InSample = figuresAt(x.sc.match, train, x.threshold, obj, withCI && opts.Validation.Split, boot)
			cs.Full = figuresAt(x.sc.match, full, x.threshold, obj, withCI && !opts.Validation.Split, boot)
			if opts.Validation.Split {
				cs.OutOfSample = ptr(figuresAt(x.sc.match, test, x.threshold, obj, withCI, boot))
			} else {
				cs.InSample = cs.Full // tuned on all the data
			}
			dt.Leaderboard = append(dt.Leaderboard, cs)
		}
		best := ranked[0]
		dt.Feasible = obj.Feasible(best.point)
		if dt.Feasible {
			dt.Chosen, dt.MinScore = best.sc.ID, best.threshold
			chosenConfigs[name] = best.sc
			values := map[string]float64{}
			for k, v := range best.sc.Values {
				values[k] = v
			}
			values[detectors.MinScoreParam] = best.threshold
			tuned.Detectors[name] = values
		} else {
			res.Feasible = false
			dt.Warnings = append(dt.Warnings, fmt.Sprintf("no configuration of %s meets %s in-sample (nearest: %s at min_score %s: precision %.3f, recall %.3f, %.2f alerts/day)",
				name, obj, best.sc.ID, formatFloat(best.threshold), best.point.Precision, best.point.Recall, best.point.AlertsPerDay))
		}

		// Walk-forward: each fold chooses on its training blocks and is scored on its test block.
		if len(folds) > 0 {
			var pooled BootstrapSample
			wf := Figures{}
			var inF1 float64
			for f, pair := range folds {
				fr := rank(pair[0])[0]
				in := figuresAt(fr.sc.match, pair[0], fr.threshold, obj, false, boot)
				out := figuresAt(fr.sc.match, pair[1], fr.threshold, obj, false, boot)
				dt.Folds = append(dt.Folds, FoldResult{Fold: f + 1, Train: periodReport(pair[0]), Test: periodReport(pair[1]),
					Chosen: fr.sc.ID, MinScore: fr.threshold, InSample: in, OutOfSample: out})
				inF1 += in.F1
				wf.Alerts += out.Alerts
				wf.Incidents += out.Incidents
				wf.TP += out.TP
				wf.FP += out.FP
				wf.FN += out.FN
				pooled.Append(BootstrapSampleOf(fr.sc.match, fr.threshold, pair[1]))
			}
			testSpan := Period{Start: folds[0][1].Start, End: stats.LastTS}
			wf.Precision = Precision(wf.TP, wf.FP)
			wf.Recall = Recall(wf.TP, wf.FN)
			wf.F1 = F1(wf.Precision, wf.Recall)
			wf.AlertsPerDay = alertsPerDay(wf.Alerts, testSpan.Span())
			pt := PRPoint{Alerts: wf.Alerts, TP: wf.TP, FP: wf.FP, Precision: wf.Precision, Recall: wf.Recall, F1: wf.F1, AlertsPerDay: wf.AlertsPerDay}
			wf.Objective, wf.Feasible = obj.Value(pt), obj.Feasible(pt)
			ci := Bootstrap(pooled, boot.Resamples, boot.Level, boot.Seed)
			wf.CI = &ci
			dt.WalkForward = &wf
			meanIn := inF1 / float64(len(folds))
			dt.Warnings = append(dt.Warnings, divergence(name, "walk-forward", meanIn, wf, obj, "mean in-sample F1 over folds")...)
		}
		if opts.Validation.Split && dt.Feasible {
			cs := dt.Leaderboard[0]
			dt.Warnings = append(dt.Warnings, divergence(name, "out-of-sample", cs.InSample.F1, *cs.OutOfSample, obj, "in-sample F1")...)
		}
		res.Warnings = append(res.Warnings, dt.Warnings...)

		if sc := chosenConfigs[name]; sc != nil {
			cs := CurveSet{Detector: name, Config: sc.ID, MinScore: dt.MinScore}
			fc := periodCurve(sc.match, full)
			cs.Full = finitePoints(fc.Points)
			ic := periodCurve(sc.match, train)
			cs.InSample = finitePoints(ic.Points)
			if opts.Validation.Split {
				oc := periodCurve(sc.match, test)
				cs.OutOfSample = finitePoints(oc.Points)
			}
			res.Curves = append(res.Curves, cs)
		}
		res.Detectors = append(res.Detectors, dt)
	}

	if res.Feasible {
		res.Tuned = tuned
		var alerts []detectors.Alert
		for _, name := range names {
			sc := chosenConfigs[name]
			th := tuned.Detectors[name][detectors.MinScoreParam]
			for _, a := range sc.alerts {
				if !(a.Score < th) { // the min_score gate's rule
					alerts = append(alerts, a)
				}
			}
		}
		SortAlerts(alerts)
		_, _, predicted := Evaluate(alerts, incidents, names, mc, s.span())
		res.TunedMetrics = &predicted
	}
	s.timings["evaluate"] = time.Since(t).Seconds()
	if err := s.finish(); err != nil {
		return nil, err
	}
	res.Manifest = s.manifest

	// Verify the choice with a plain backtest of tuned.yaml (one more replay, of one instance
	// per detector) when asked, or when a detector reads min_score: the sweep's figures are
	// exact when a detector's min_score only gates its alerts, which holds by construction for a
	// detector that never receives it, but one whose state depends on min_score (a cooldown
	// started only by alerts above it) gives other alerts at the chosen threshold than at the
	// floor. tuned_metrics are then the backtest's, so tuned.yaml reproduces them whatever the
	// detector does.
	if res.Feasible && (opts.Verify || readsMinScore(names)) {
		tv := time.Now()
		run, err := Run(ctx, Options{DataDir: opts.DataDir, Config: res.Tuned, Sorter: opts.Sorter, TempDir: opts.TempDir})
		if err != nil {
			return nil, fmt.Errorf("verifying the tuned configuration: %w", err)
		}
		for _, name := range names {
			want, got := res.TunedMetrics.Detectors[name], run.Metrics.Detectors[name]
			if !sameMetrics(want, got) {
				w := fmt.Sprintf("%s: a backtest at the chosen min_score %s differs from the sweep (F1 %.3f, not %.3f): the detector's alerts depend on min_score beyond its gate, so the threshold curve is approximate; sweep min_score as a grid axis for exact figures",
					name, formatFloat(res.Tuned.Detectors[name][detectors.MinScoreParam]), got.F1, want.F1)
				res.Warnings = append(res.Warnings, w)
				for i := range res.Detectors {
					if res.Detectors[i].Detector == name {
						res.Detectors[i].Warnings = append(res.Detectors[i].Warnings, w)
					}
				}
			}
		}
		res.TunedMetrics = &run.Metrics
		res.Manifest.TimingsSeconds["verify"] = time.Since(tv).Seconds()
		res.Manifest.TimingsSeconds["total"] += res.Manifest.TimingsSeconds["verify"]
	}
	return res, nil
}

// groupInstance feeds a detector group inside FanOut and routes each configuration's alerts to
// its own collector; the emit FanOut passes is not used.
type groupInstance struct {
	group detectors.Group
	route detectors.GroupEmit
}

func (gi *groupInstance) OnEvent(ev *detectors.Event, _ detectors.Emit) {
	gi.group.OnEvent(ev, gi.route)
}
func (gi *groupInstance) Flush(detectors.Emit) { gi.group.Flush(gi.route) }

// readsMinScore reports whether one of the named detectors uses min_score beyond the common
// gate, so that a threshold curve swept from a floor is only an approximation for it.
func readsMinScore(names []string) bool {
	for _, n := range names {
		if spec, ok := detectors.Lookup(n); ok && spec.ReadsMinScore {
			return true
		}
	}
	return false
}

// sameMetrics compares two detectors' figures exactly (their JSON forms, which hold every field).
func sameMetrics(a, b DetectorMetrics) bool {
	x, errA := json.Marshal(a)
	y, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(x, y)
}

// minScoreProbe checks, within the sweep's replay, that a detector's min_score only gates its
// alerts: one more instance runs the detector's first configuration at its default min_score,
// and its alerts must be that configuration's alerts (run at the floor) scoring at least the
// default. A detector whose state depends on min_score (a cooldown started only by alerts above
// it) fails the check, and no threshold can be swept for it from one replay.
type minScoreProbe struct {
	config   *sweepConfig
	minScore float64
	alerts   []detectors.Alert
}

// addMinScoreProbes adds a probe instance for every detector of the grid whose threshold is
// swept from a floor below its default min_score.
func addMinScoreProbes(g *Grid, configs []*sweepConfig, instances *[]Instance, env detectors.Env) ([]*minScoreProbe, error) {
	var probes []*minScoreProbe
	seen := map[string]bool{}
	for _, sc := range configs {
		if seen[sc.Detector] {
			continue
		}
		seen[sc.Detector] = true
		spec, _ := detectors.Lookup(sc.Detector)
		if !spec.ReadsMinScore || gridDetector(g, sc.Detector).SweepsMinScore || sc.floor >= spec.DefaultMinScore {
			continue // a detector that never sees min_score cannot depend on it
		}
		values := map[string]float64{}
		for k, v := range sc.Values {
			values[k] = v
		}
		values[detectors.MinScoreParam] = spec.DefaultMinScore
		d, _, err := detectors.Build(sc.Detector, values, env)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sc.ID, err)
		}
		probes = append(probes, &minScoreProbe{config: sc, minScore: spec.DefaultMinScore})
		*instances = append(*instances, Instance{ID: sc.ID + "/probe", Detector: d})
	}
	return probes, nil
}

// check compares the probe's alerts with its configuration's alerts cut at the probe's min_score.
func (p *minScoreProbe) check() error {
	var cut []detectors.Alert
	for _, a := range p.config.alerts {
		if !(a.Score < p.minScore) {
			cut = append(cut, a)
		}
	}
	probe := append([]detectors.Alert(nil), p.alerts...)
	SortAlerts(cut)
	SortAlerts(probe)
	same := len(cut) == len(probe)
	for i := 0; same && i < len(cut); i++ {
		same = cut[i].Key() == probe[i].Key() && cut[i].Score == probe[i].Score
	}
	if same {
		return nil
	}
	return fmt.Errorf("%s: the detector's state depends on min_score (at its default %s it raises %d alerts, not the %d of the floor %s cut at %s), so its threshold cannot be swept from one replay: put min_score under sweep in the grid, e.g. min_score: [%s] (docs/tuning.md)",
		p.config.Detector, formatFloat(p.minScore), len(probe), len(cut), formatFloat(p.config.floor), formatFloat(p.minScore), minScoreSuggestion(p.minScore))
}

// minScoreSuggestion proposes min_score values around a default, for an error message.
func minScoreSuggestion(def float64) string {
	var out []string
	for _, f := range []float64{0.66, 0.83, 1, 1.17} {
		out = append(out, formatFloat(roundSignificant(def*f, 2)))
	}
	return strings.Join(out, ", ")
}

func gridDetector(g *Grid, name string) *GridDetector {
	for i := range g.Detectors {
		if g.Detectors[i].Name == name {
			return &g.Detectors[i]
		}
	}
	return &GridDetector{Name: name}
}

// thresholdMargin is the gap between the lowest score a curve's point keeps and the highest it
// drops (the floor when it drops none); 0 for a point not on the curve.
func thresholdMargin(c *Curve, pt PRPoint, floor float64) float64 {
	for i, p := range c.Points {
		if p.Threshold != pt.Threshold {
			continue
		}
		if i+1 < len(c.Points) && !math.IsInf(c.Points[i+1].Threshold, 0) {
			return p.Threshold - c.Points[i+1].Threshold
		}
		return max(p.Threshold-floor, 0)
	}
	return 0
}

// lastAlerts is the number of alerts a curve holds in all (its last point's).
func lastAlerts(c *Curve) int {
	if len(c.Points) == 0 {
		return 0
	}
	return c.Points[len(c.Points)-1].Alerts
}

// validationPeriods cuts the replayed span [first, last] into the periods a validation scores:
// all of it (full); the tuning period (train: before the split, or all of it without a split);
// with a split, the reporting period from the split on (test); with walk-forward folds, one
// (train, test) pair per fold. The first period is open to the past and the last one to the
// future, so that incidents labelled outside the replayed span still count somewhere.
func validationPeriods(v Validation, first, last detectors.Micros) (full, train, test Period, folds [][2]Period, err error) {
	full = Period{From: math.MinInt64, To: math.MaxInt64, Start: first, End: last}
	train = full
	switch {
	case v.Split:
		at := v.SplitAt
		if !v.HasSplitAt {
			at = first + detectors.Micros(math.Round(v.SplitFraction*float64(full.Span())))
		}
		if at <= first || at >= last {
			return full, train, test, nil, fmt.Errorf("--split %s lies outside the replayed data (%s to %s)", formatTS(at), formatTS(first), formatTS(last))
		}
		train = Period{From: math.MinInt64, To: at, Start: first, End: at}
		test = Period{From: at, To: math.MaxInt64, Start: at, End: last}
	case v.Folds > 0:
		k := v.Folds
		if full.Span() < detectors.Micros(k+1) {
			return full, train, test, nil, fmt.Errorf("--folds %d: the replayed data spans too little time to cut into %d blocks", k, k+1)
		}
		bound := func(j int) detectors.Micros {
			return first + detectors.Micros(math.Round(float64(j)*float64(full.Span())/float64(k+1)))
		}
		for f := 1; f <= k; f++ {
			tr := Period{From: math.MinInt64, To: bound(f), Start: first, End: bound(f)}
			te := Period{From: bound(f), To: bound(f + 1), Start: bound(f), End: bound(f + 1)}
			if f == k {
				te.To, te.End = math.MaxInt64, last
			}
			folds = append(folds, [2]Period{tr, te})
		}
	}
	return full, train, test, folds, nil
}

// ChooseThreshold returns the curve's point the objective prefers and the min_score that selects
// it. The min_score lies midway between the lowest score the point keeps and the highest score
// it drops: any value in that gap gives the same figures on the curve's period, and the middle
// of it does not let out-of-sample alerts scoring just below the lowest kept score decide the
// outcome by accident. When the point keeps every alert the min_score is the floor (the
// min_score the sweep ran at), which keeps every alert too.
func ChooseThreshold(c *Curve, obj Objective, floor float64) (PRPoint, float64) {
	pt, _ := obj.Best(c)
	if math.IsInf(pt.Threshold, 1) {
		return pt, floor // no finite point: no alert at any threshold
	}
	for i, p := range c.Points {
		if p.Threshold != pt.Threshold {
			continue
		}
		if i+1 == len(c.Points) || math.IsInf(c.Points[i+1].Threshold, 0) {
			return pt, floor
		}
		hi, lo := pt.Threshold, c.Points[i+1].Threshold
		mid := lo + (hi-lo)/2
		if !(mid > lo) {
			mid = hi // adjacent floats: no room in the gap
		}
		return pt, max(mid, floor)
	}
	return pt, pt.Threshold
}

// divergence warns when out-of-sample figures fall short of the in-sample ones.
func divergence(name, what string, inF1 float64, out Figures, obj Objective, inWhat string) []string {
	var w []string
	if inF1-out.F1 > DivergenceF1 {
		w = append(w, fmt.Sprintf("%s: %s F1 %.3f is %.3f below the %s %.3f (more than %.1f): the choice may be overfitted",
			name, what, out.F1, inF1-out.F1, inWhat, inF1, DivergenceF1))
	}
	if !out.Feasible {
		w = append(w, fmt.Sprintf("%s: %s figures miss the objective %s (precision %.3f, recall %.3f, %.2f alerts/day)",
			name, what, obj, out.Precision, out.Recall, out.AlertsPerDay))
	}
	if out.Incidents < 10 {
		w = append(w, fmt.Sprintf("%s: only %d incidents %s: recall rests on few cases and its interval is wide", name, out.Incidents, what))
	}
	return w
}

// periodCurve is the PR curve of a detector's matching restricted to a period: the alerts that
// matched the period's incidents and the false positives raised in it.
func periodCurve(d *DetectorMatch, p Period) Curve {
	scored := make([]Scored, 0, len(d.Alerts))
	for _, a := range d.Alerts {
		if (a.TP && p.Holds(a.IncidentStart)) || (!a.TP && p.Holds(a.TS)) {
			scored = append(scored, Scored{Score: a.Score, TP: a.TP})
		}
	}
	return PRCurve(scored, countIncidents(d, p), p.Span())
}

func countIncidents(d *DetectorMatch, p Period) int {
	n := 0
	for _, in := range d.Incidents {
		if p.Holds(in.Start) {
			n++
		}
	}
	return n
}

// figuresAt returns a matching's figures in a period at a threshold, with bootstrap intervals
// when withCI.
func figuresAt(d *DetectorMatch, p Period, threshold float64, obj Objective, withCI bool, boot BootstrapSettings) Figures {
	c := periodCurve(d, p)
	pt := c.At(threshold)
	f := Figures{
		Alerts: pt.Alerts, Incidents: c.Incidents, TP: pt.TP, FP: pt.FP, FN: c.Incidents - pt.TP,
		Precision: pt.Precision, Recall: pt.Recall, F1: pt.F1, AlertsPerDay: pt.AlertsPerDay,
		Objective: obj.Value(pt), Feasible: obj.Feasible(pt),
	}
	if withCI {
		ci := Bootstrap(BootstrapSampleOf(d, threshold, p), boot.Resamples, boot.Level, boot.Seed)
		f.CI = &ci
	}
	return f
}

func finitePoints(points []PRPoint) []PRPoint {
	out := make([]PRPoint, 0, len(points))
	for _, p := range points {
		if !math.IsInf(p.Threshold, 0) && !math.IsNaN(p.Threshold) {
			out = append(out, p)
		}
	}
	return out
}

func periodReport(p Period) PeriodReport {
	return PeriodReport{From: formatTS(p.Start), To: formatTS(p.End), Days: float64(p.Span()) / float64(detectors.Day)}
}

func ptr[T any](v T) *T { return &v }
