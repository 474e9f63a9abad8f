package backtest

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/reports"
)

// This file turns a run folder into a reports.Document: the publishable report of fds report.
// The run folder is the source of truth (metrics.json, alerts.parquet, matches.parquet,
// config.yaml, manifest.json); the dataset it names adds what the run folder does not keep:
// incident ends, types and accounts (from the labels, re-matched and checked against
// metrics.json) and the prices drawn in the incident timelines.

// Report defaults.
const (
	// DefaultReportTimelines is the number of timelines drawn for misses and for false alerts each.
	DefaultReportTimelines = 3
	// DefaultReportCases is the number of misses and of false alerts listed with their evidence.
	DefaultReportCases = 30
	// DefaultReportSeed seeds the comparison's bootstrap intervals.
	DefaultReportSeed = 1
	// minBootstrapDays: with fewer days, resampling false alerts by day says little.
	minBootstrapDays = 5
)

// ReportOptions say how to build a report from a run folder.
type ReportOptions struct {
	// DataDir overrides the dataset folder recorded in the run's manifest ("" = the manifest's,
	// read relative to the working directory as fds backtest was given it).
	DataDir string
	// Redactor, when set, replaces every account id of the report by its keyed hash.
	Redactor *reports.Redactor
	// Timelines is the number of timelines drawn for misses and for false alerts each
	// (0: DefaultReportTimelines; negative: none).
	Timelines int
	// MaxCases bounds the misses and the false alerts listed (0: DefaultReportCases).
	MaxCases int
	// Resamples, Level and Seed set the comparison's bootstrap intervals (Resamples 0:
	// DefaultResamples, negative: no intervals; Level outside (0, 1): DefaultCILevel; Seed 0:
	// DefaultReportSeed).
	Resamples int
	Level     float64
	Seed      uint64
	// Generator names the program in the report (default "fds " + Version).
	Generator string
	// Notice receives one-line notices (dataset not found, labels changed since the run).
	Notice func(string)
}

// reportBuild holds what BuildReport gathers.
type reportBuild struct {
	opts      ReportOptions
	rf        *RunFolder
	cfgYAML   []byte
	rows      []datasets.MatchRow
	names     []string
	first     detectors.Micros
	last      detectors.Micros
	ds        *datasets.Dataset
	dataDir   string
	sameData  bool // the dataset found has the run's input files (by size)
	incidents []datasets.Incident
	// full says match was recomputed from the labels and agrees with metrics.json: incident
	// ends, types and accounts are known.
	full  bool
	match MatchResult
	red   *reports.Redactor
	// minScore is each detector's min_score in the run.
	minScore map[string]float64
	notes    []string
	doc      *reports.Document
	// alertTP[i] says alert i matched an incident.
	alertTP []bool
}

// BuildReport reads a run folder and returns its publishable report.
func BuildReport(runDir string, opts ReportOptions) (*reports.Document, error) {
	if opts.Timelines == 0 {
		opts.Timelines = DefaultReportTimelines
	}
	if opts.MaxCases <= 0 {
		opts.MaxCases = DefaultReportCases
	}
	if opts.Resamples == 0 {
		opts.Resamples = DefaultResamples
	}
	if !(opts.Level > 0 && opts.Level < 1) {
		opts.Level = DefaultCILevel
	}
	if opts.Seed == 0 {
		opts.Seed = DefaultReportSeed
	}
	if opts.Generator == "" {
		opts.Generator = "fds " + Version
	}
	fi, err := os.Stat(runDir)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", runDir, unwrapPath(err))
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("run %s: not a run folder (fds report reads the folder fds backtest writes)", runDir)
	}
	b := &reportBuild{opts: opts, red: opts.Redactor}
	if err := b.load(runDir); err != nil {
		return nil, err
	}
	b.openDataset()
	if err := b.rematch(); err != nil {
		return nil, err
	}
	if err := b.assemble(runDir); err != nil {
		return nil, err
	}
	return b.doc, nil
}

func (b *reportBuild) note(msg string) {
	b.notes = append(b.notes, msg)
	if b.opts.Notice != nil {
		b.opts.Notice(msg)
	}
}

// load reads the run folder's files. Unlike LoadRun it accepts a config.yaml that no longer
// loads (a run made by an fds whose detectors had other parameters): the report needs only the
// matching windows and each detector's min_score from it.
func (b *reportBuild) load(runDir string) error {
	rf := &RunFolder{Dir: runDir}
	b.rf = rf
	if err := readJSON(filepath.Join(runDir, MetricsFile), &rf.Metrics); err != nil {
		return err
	}
	if err := readJSON(filepath.Join(runDir, ManifestFile), &rf.Manifest); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var err error
	if rf.Alerts, err = datasets.ReadAlerts(filepath.Join(runDir, AlertsFile)); err != nil {
		return err
	}
	if b.rows, err = datasets.ReadMatches(filepath.Join(runDir, MatchesFile)); err != nil {
		return err
	}
	b.names = append([]string(nil), rf.Manifest.Detectors...)
	if len(b.names) == 0 {
		for n := range rf.Metrics.Detectors {
			b.names = append(b.names, n)
		}
	}
	sort.Strings(b.names)
	cfgPath := filepath.Join(runDir, ConfigFile)
	if b.cfgYAML, err = os.ReadFile(cfgPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: %w", cfgPath, unwrapPath(err))
	}
	rf.Config = DefaultConfig()
	rf.Config.Detectors = map[string]map[string]float64{}
	if len(b.cfgYAML) > 0 {
		if cfg, err := ParseConfig(cfgPath, b.cfgYAML); err == nil {
			rf.Config = cfg
		} else {
			b.note(fmt.Sprintf("%v: the report reads only its matching windows and min_score values", err))
			var loose Config
			if err := yaml.Unmarshal(b.cfgYAML, &loose); err != nil {
				return fmt.Errorf("%s: %v", cfgPath, oneLine(err.Error()))
			}
			rf.Config = loose
		}
	}
	b.minScore = map[string]float64{}
	for _, n := range b.names {
		if v, ok := rf.Config.Detectors[n][detectors.MinScoreParam]; ok {
			b.minScore[n] = v
		} else if spec, ok := detectors.Lookup(n); ok {
			b.minScore[n] = spec.DefaultMinScore
		}
	}
	if b.first, err = parseRunTS(rf.Manifest.FirstTS); err != nil {
		return fmt.Errorf("%s: first_ts: %w", filepath.Join(runDir, ManifestFile), err)
	}
	if b.last, err = parseRunTS(rf.Manifest.LastTS); err != nil {
		return fmt.Errorf("%s: last_ts: %w", filepath.Join(runDir, ManifestFile), err)
	}
	return nil
}

// parseRunTS reads a manifest timestamp ("" is 0).
func parseRunTS(s string) (detectors.Micros, error) {
	if s == "" {
		return 0, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, err
	}
	return t.UnixMicro(), nil
}

// openDataset opens the run's dataset and checks that it still holds the run's inputs.
func (b *reportBuild) openDataset() {
	b.dataDir = b.opts.DataDir
	if b.dataDir == "" {
		b.dataDir = b.rf.Manifest.DataDir
	}
	if b.dataDir == "" {
		b.note("the run's manifest names no dataset: timelines and incident details are left out")
		return
	}
	ds, err := datasets.Open(b.dataDir)
	if err != nil {
		b.note(fmt.Sprintf("dataset not available (%v): timelines and incident details are left out; give its folder with --data", err))
		return
	}
	b.ds = ds
	b.sameData = true
	for _, in := range b.rf.Manifest.Inputs {
		st, err := os.Stat(filepath.Join(b.dataDir, filepath.FromSlash(in.Path)))
		if err != nil || st.Size() != in.Bytes {
			b.sameData = false
			b.note(fmt.Sprintf("dataset %s differs from the run's inputs (%s changed or missing): timelines and incident details are left out",
				b.dataDir, in.Path))
			return
		}
	}
}

// rematch matches the run's alerts to the dataset's labels again, which gives what
// matches.parquet does not keep (incident ends and accounts, repeats, the time-to-detect of the
// first eligible alert), and checks the counts against metrics.json. Without the dataset, or if
// the counts differ, the matching is rebuilt from matches.parquet alone.
func (b *reportBuild) rematch() error {
	span := b.last - b.first
	if b.ds != nil && b.sameData {
		incidents, err := b.ds.Labels()
		if err != nil {
			return err
		}
		m, _, _ := Evaluate(b.rf.Alerts, incidents, b.names, b.rf.Config.Match.MatchConfig(), span)
		if b.agrees(&m) {
			b.incidents, b.match, b.full = incidents, m, true
		} else {
			b.note("matching the run's alerts to the dataset's labels again gives counts other than metrics.json: " +
				"incident details come from matches.parquet only")
		}
	}
	if !b.full {
		b.match, b.incidents = matchFromRows(b.rows, b.rf.Alerts, b.names)
	}
	b.alertTP = make([]bool, len(b.rf.Alerts))
	for _, d := range b.match.Detectors {
		for _, a := range d.Alerts {
			if a.Index >= 0 && a.Index < len(b.alertTP) {
				b.alertTP[a.Index] = a.TP
			}
		}
	}
	return nil
}

// agrees says a matching has metrics.json's counts for every detector.
func (b *reportBuild) agrees(m *MatchResult) bool {
	if len(m.Detectors) != len(b.rf.Metrics.Detectors) {
		return false
	}
	for i := range m.Detectors {
		d := &m.Detectors[i]
		dm, ok := b.rf.Metrics.Detectors[d.Detector]
		if !ok || dm.TP != d.TP || dm.FP != d.FP || dm.FN != d.FN || dm.Duplicates != d.Duplicates {
			return false
		}
	}
	return true
}

// matchFromRows rebuilds a matching from matches.parquet: alerts in decision order with their
// outcomes, detected incidents from "tp" rows and missed ones from "fn" rows. Incident ends are
// unknown (set to the start), accounts empty, and time-to-detect is the matched alert's.
func matchFromRows(rows []datasets.MatchRow, alerts []detectors.Alert, names []string) (MatchResult, []datasets.Incident) {
	byKey := map[string][]int{}
	for i := range alerts {
		k := alerts[i].Key()
		byKey[k] = append(byKey[k], i)
	}
	var res MatchResult
	seen := map[string]bool{}
	var incidents []datasets.Incident
	for _, name := range names {
		d := DetectorMatch{Detector: name}
		typ := detectors.IncidentType("")
		if spec, ok := detectors.Lookup(name); ok {
			typ = spec.Type
			d.Types = []detectors.IncidentType{typ}
		}
		for _, r := range rows {
			if r.Detector != name {
				continue
			}
			switch r.Outcome {
			case datasets.OutcomeTP, datasets.OutcomeFP:
				idx := -1
				if list := byKey[r.AlertKey]; len(list) > 0 {
					idx, byKey[r.AlertKey] = list[0], list[1:]
				}
				a := AlertOutcome{Index: idx, Key: r.AlertKey, Symbol: r.Symbol, TS: r.AlertTS, Score: r.Score}
				if r.Outcome == datasets.OutcomeTP {
					a.TP, a.IncidentID, a.IncidentStart = true, r.IncidentID, r.IncidentStart
					d.TP++
					d.Incidents = append(d.Incidents, IncidentOutcome{ID: r.IncidentID, Type: typ, Symbol: r.Symbol,
						Start: r.IncidentStart, End: r.IncidentStart, Detected: true, AlertKey: r.AlertKey, AlertTS: r.AlertTS,
						TimeToDetect: r.TimeToDetect})
				} else {
					d.FP++
				}
				d.Alerts = append(d.Alerts, a)
			case datasets.OutcomeFN:
				d.FN++
				d.Incidents = append(d.Incidents, IncidentOutcome{ID: r.IncidentID, Type: typ, Symbol: r.Symbol,
					Start: r.IncidentStart, End: r.IncidentStart})
			}
		}
		sort.SliceStable(d.Incidents, func(i, j int) bool {
			if d.Incidents[i].Start != d.Incidents[j].Start {
				return d.Incidents[i].Start < d.Incidents[j].Start
			}
			return d.Incidents[i].ID < d.Incidents[j].ID
		})
		for _, in := range d.Incidents {
			if !seen[in.ID] {
				seen[in.ID] = true
				incidents = append(incidents, datasets.Incident{ID: in.ID, Type: in.Type, Symbol: in.Symbol, Start: in.Start, End: in.End})
			}
		}
		res.Detectors = append(res.Detectors, d)
	}
	return res, incidents
}

// Redaction helpers: identity when no redactor is set.

func (b *reportBuild) accounts(ids []string) []string {
	if b.red == nil {
		return append([]string(nil), ids...)
	}
	return b.red.Accounts(ids)
}

func (b *reportBuild) text(s string) string {
	if b.red == nil {
		return s
	}
	return b.red.Text(s)
}

// key is an alert's Key with its accounts redacted.
func (b *reportBuild) key(a *detectors.Alert) string {
	if b.red == nil {
		return a.Key()
	}
	r := *a
	r.Accounts = b.red.Accounts(a.Accounts)
	return r.Key()
}

// assemble builds the document.
func (b *reportBuild) assemble(runDir string) error {
	rf := b.rf
	if b.red != nil {
		// Every id that may appear in free text: the accounts table, the alerts' and the labels'.
		if b.ds != nil && b.ds.Has(datasets.TableAccounts) {
			if accts, err := b.ds.Accounts(); err == nil {
				ids := make([]string, 0, len(accts))
				for id := range accts {
					ids = append(ids, id)
				}
				sort.Strings(ids)
				b.red.Learn(ids...)
			}
		}
		for i := range rf.Alerts {
			b.red.Learn(rf.Alerts[i].Accounts...)
		}
		for i := range b.incidents {
			b.red.Learn(b.incidents[i].Accounts...)
		}
	}
	params := map[string]detectors.Params{}
	for n, v := range b.minScore {
		params[n] = detectors.Params{detectors.MinScoreParam: v}
	}
	res := &Result{Config: rf.Config, Params: params, Alerts: rf.Alerts, Incidents: b.incidents, Match: b.match,
		Metrics: rf.Metrics, Manifest: rf.Manifest, Stats: ReplayStats{FirstTS: b.first, LastTS: b.last}}
	md := res.MarkdownReport(b.cfgYAML, false)

	abs, err := filepath.Abs(runDir)
	if err != nil {
		abs = runDir
	}
	doc := &reports.Document{
		Title:     "Backtest report",
		Run:       filepath.Base(abs),
		Date:      time.UnixMicro(b.last).UTC(),
		Generator: b.opts.Generator,
		Config:    string(b.cfgYAML),
		Metrics:   md.Detectors,
		Overall:   md.Overall,
		Uncovered: md.Uncovered,
	}
	for _, f := range md.Identity {
		if strings.HasPrefix(f.Name, "input ") {
			continue // listed with full hashes in the dataset summary
		}
		if f.Name == "dataset" {
			f.Value = b.text(f.Value)
		}
		doc.Identity = append(doc.Identity, f)
	}
	if b.red != nil {
		doc.Redaction = "each account id is replaced by acct- and the first 16 hex digits of its HMAC-SHA256 under a secret key"
	}
	b.doc = doc

	b.datasetSummary()
	b.comparison()
	if b.full {
		b.confusion()
	}
	doc.PR = res.PRSeries()
	b.curves(params)
	misses, falseAlerts := b.cases()
	if err := b.timelines(misses, falseAlerts); err != nil {
		return err
	}
	for _, n := range md.Notes {
		doc.Notes = append(doc.Notes, b.text(n))
	}
	for _, n := range b.notes {
		doc.Notes = append(doc.Notes, b.text(n))
	}
	if !b.full {
		doc.Notes = append(doc.Notes, "without the run's labels, incident ends and accounts are unknown: each missed incident "+
			"is shown from its start, time-to-detect is the matched alert's, and the alerts-by-type table is left out")
	}
	return nil
}

func (b *reportBuild) datasetSummary() {
	m := &b.rf.Manifest
	s := reports.DatasetSummary{Dir: b.text(b.dataDir), Available: b.ds != nil && b.sameData, From: m.FirstTS, To: m.LastTS,
		SpanDays: m.SpanDays, Accounts: -1}
	for _, in := range m.Inputs {
		s.Inputs = append(s.Inputs, reports.InputRow{Table: in.Table, Path: in.Path, Bytes: in.Bytes, SHA256: in.SHA256})
	}
	if s.Available {
		for _, t := range b.ds.Tables() {
			if n, err := b.ds.RowCount(t); err == nil {
				s.Tables = append(s.Tables, reports.TableRows{Table: t, Rows: n})
			}
		}
		if b.ds.Has(datasets.TableAccounts) {
			if n, err := b.ds.RowCount(datasets.TableAccounts); err == nil {
				s.Accounts = int(n)
			}
		}
	} else {
		for _, t := range sortedKeys(m.Tables) {
			s.Tables = append(s.Tables, reports.TableRows{Table: t, Rows: m.Tables[t].Read})
		}
	}
	byType := map[string]int{}
	for _, in := range b.incidents {
		byType[string(in.Type)]++
	}
	for _, t := range detectors.IncidentTypes {
		if n := byType[string(t)]; n > 0 {
			s.Incidents = append(s.Incidents, reports.TypeCount{Type: string(t), Incidents: n})
		}
	}
	b.doc.Dataset = s
}

// comparison sets the detector comparison with percentile-bootstrap intervals over incidents and
// days (Bootstrap on the run's matches).
func (b *reportBuild) comparison() {
	withCI := b.opts.Resamples > 0
	for _, name := range b.names {
		dm := b.rf.Metrics.Detectors[name]
		row := reports.ComparisonRow{Detector: name, Precision: dm.Precision, Recall: dm.Recall, F1: dm.F1}
		if withCI && (dm.Alerts > 0 || dm.Incidents > 0) {
			ci := Bootstrap(BootstrapSampleFromRows(b.rows, name, b.first, b.last), b.opts.Resamples, b.opts.Level, b.opts.Seed)
			row.PrecisionCI = &reports.CI{Low: ci.Precision.Low, High: ci.Precision.High}
			row.RecallCI = &reports.CI{Low: ci.Recall.Low, High: ci.Recall.High}
			row.F1CI = &reports.CI{Low: ci.F1.Low, High: ci.F1.High}
		}
		b.doc.Comparison = append(b.doc.Comparison, row)
	}
	if withCI {
		b.doc.CINote = fmt.Sprintf("%g%% percentile bootstrap intervals, %d resamples of the incidents and of the days "+
			"(false alerts counted per day), seed %d", 100*b.opts.Level, b.opts.Resamples, b.opts.Seed)
		if days := (Period{Start: b.first, End: b.last}).Days(); days < minBootstrapDays {
			b.doc.CINote += fmt.Sprintf("; the run spans %d day(s), too few to resample false alerts by day, so the intervals "+
				"reflect the incidents' sampling only and understate the uncertainty of precision", days)
		}
	}
}

// confusion counts, per detector and incident type, the alerts eligible for an incident of that
// type under the run's matching rules (symbol, window, accounts), whatever the detector's type.
func (b *reportBuild) confusion() {
	cfg := b.rf.Config.Match.MatchConfig()
	idx := newIncidentIndex(b.incidents, max(cfg.Lead, 0), max(cfg.Tolerance, 0))
	present := map[detectors.IncidentType]bool{}
	for _, in := range b.incidents {
		present[in.Type] = true
	}
	c := reports.Confusion{}
	row := map[string]int{}
	for i, name := range b.names {
		row[name] = i
		own := ""
		if spec, ok := detectors.Lookup(name); ok {
			own = string(spec.Type)
			present[spec.Type] = true
		}
		c.Detectors = append(c.Detectors, name)
		c.Own = append(c.Own, own)
	}
	var types []detectors.IncidentType
	for _, t := range detectors.IncidentTypes {
		if present[t] {
			types = append(types, t)
			c.Types = append(c.Types, string(t))
		}
	}
	c.Counts = make([][]int, len(b.names))
	for i := range c.Counts {
		c.Counts[i] = make([]int, len(types))
	}
	c.Outside = make([]int, len(b.names))
	c.Alerts = make([]int, len(b.names))
	var buf []int
	for i := range b.rf.Alerts {
		d, ok := row[b.rf.Alerts[i].Detector]
		if !ok {
			continue
		}
		c.Alerts[d]++
		probe := b.rf.Alerts[i]
		inside := false
		for t, typ := range types {
			probe.Type = typ
			if buf = idx.eligible(&probe, buf[:0]); len(buf) > 0 {
				c.Counts[d][t]++
				inside = true
			}
		}
		if !inside {
			c.Outside[d]++
		}
	}
	b.doc.Confusion = c
}

// curves sets the threshold curves and time-to-detect distributions.
func (b *reportBuild) curves(params map[string]detectors.Params) {
	span := b.last - b.first
	for i := range b.match.Detectors {
		d := &b.match.Detectors[i]
		var ttd []float64
		for _, in := range d.Incidents {
			if in.Detected {
				ttd = append(ttd, float64(in.TimeToDetect)/float64(detectors.Second))
			}
		}
		if len(d.Incidents) > 0 {
			b.doc.TTD = append(b.doc.TTD, reports.TTDSeries{Name: d.Detector, Seconds: ttd})
		}
		c := PRCurve(d.Scored(), len(d.Incidents), span)
		s := reports.ThresholdSeries{Name: d.Detector, MinScore: params[d.Detector][detectors.MinScoreParam]}
		for _, p := range c.Points {
			if math.IsInf(p.Threshold, 0) || math.IsNaN(p.Threshold) {
				continue // NaN scores share the -Inf threshold: not a point of a score axis
			}
			s.Threshold = append(s.Threshold, p.Threshold)
			s.Precision = append(s.Precision, p.Precision)
			s.Recall = append(s.Recall, p.Recall)
			s.F1 = append(s.F1, p.F1)
			s.AlertsPerDay = append(s.AlertsPerDay, p.AlertsPerDay)
		}
		if len(s.Threshold) > 0 {
			s.MinScore = min(s.MinScore, s.Threshold[len(s.Threshold)-1])
			b.doc.Thresholds = append(b.doc.Thresholds, s)
		}
	}
}

// missCase and falseCase are the cases before redaction, with what their timelines need.
type missCase struct {
	detector string
	incident datasets.Incident
}

type falseCase struct {
	alert     int // index into the run's alerts
	duplicate bool
}

// cases lists the misses (longest first) and false alerts (highest score first, repeats of
// detected incidents last), taking the detectors in turn so that each is represented, and sets
// the document's case lists.
func (b *reportBuild) cases() ([]missCase, []falseCase) {
	incByID := map[string]*datasets.Incident{}
	for i := range b.incidents {
		incByID[b.incidents[i].ID] = &b.incidents[i]
	}
	var missLists [][]missCase
	var falseLists [][]falseCase
	for i := range b.match.Detectors {
		d := &b.match.Detectors[i]
		var ms []missCase
		for _, in := range d.Incidents {
			if in.Detected {
				continue
			}
			inc := datasets.Incident{ID: in.ID, Type: in.Type, Symbol: in.Symbol, Start: in.Start, End: in.End}
			if full, ok := incByID[in.ID]; ok {
				inc = *full
			}
			ms = append(ms, missCase{detector: d.Detector, incident: inc})
		}
		sort.SliceStable(ms, func(i, j int) bool {
			di, dj := ms[i].incident.End-ms[i].incident.Start, ms[j].incident.End-ms[j].incident.Start
			if di != dj {
				return di > dj
			}
			if ms[i].incident.Start != ms[j].incident.Start {
				return ms[i].incident.Start < ms[j].incident.Start
			}
			return ms[i].incident.ID < ms[j].incident.ID
		})
		missLists = append(missLists, ms)
		var fresh, repeats []falseCase
		for _, a := range d.Alerts { // decision order: highest score first
			if a.TP || a.Index < 0 {
				continue
			}
			if a.Duplicate {
				repeats = append(repeats, falseCase{alert: a.Index, duplicate: true})
			} else {
				fresh = append(fresh, falseCase{alert: a.Index})
			}
		}
		falseLists = append(falseLists, append(fresh, repeats...))
	}
	misses := roundRobin(missLists)
	falses := roundRobin(falseLists)
	b.doc.MissesTotal, b.doc.FalseAlertsTotal = len(misses), len(falses)
	for _, m := range misses[:min(len(misses), b.opts.MaxCases)] {
		in := m.incident
		b.doc.Misses = append(b.doc.Misses, reports.Miss{
			Detector: m.detector, IncidentID: b.text(in.ID), Type: string(in.Type), Symbol: in.Symbol,
			Accounts: b.accounts(in.Accounts), Start: in.Start, End: in.End, Nearest: b.nearest(m),
		})
	}
	for _, f := range falses[:min(len(falses), b.opts.MaxCases)] {
		a := &b.rf.Alerts[f.alert]
		b.doc.FalseAlerts = append(b.doc.FalseAlerts, reports.FalseAlert{
			Detector: a.Detector, Key: b.key(a), Symbol: a.Symbol, Accounts: b.accounts(a.Accounts), TS: a.TS,
			WindowStart: a.WindowStart, WindowEnd: a.WindowEnd, Score: a.Score, Duplicate: f.duplicate,
			Features: reports.SortedFeatures(a.Evidence.Features), OrderIDs: a.Evidence.OrderIDs, TradeIDs: a.Evidence.TradeIDs,
			Note: b.text(a.Evidence.Note),
		})
	}
	return misses, falses
}

// roundRobin interleaves lists: the first of each, then the second of each, ...
func roundRobin[T any](lists [][]T) []T {
	var out []T
	for k := 0; ; k++ {
		added := false
		for _, l := range lists {
			if k < len(l) {
				out = append(out, l[k])
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

// nearest finds the detector's alert on the incident's symbol closest in time to the incident
// and says why it did not match the incident.
func (b *reportBuild) nearest(m missCase) *reports.NearAlert {
	in := m.incident
	best := -1
	var bestDist detectors.Micros
	for i := range b.rf.Alerts {
		a := &b.rf.Alerts[i]
		if a.Detector != m.detector || a.Symbol != in.Symbol {
			continue
		}
		dist := max(in.Start-a.TS, a.TS-in.End, 0)
		if best < 0 || dist < bestDist || (dist == bestDist && a.Score > b.rf.Alerts[best].Score) {
			best, bestDist = i, dist
		}
	}
	if best < 0 {
		return nil
	}
	a := &b.rf.Alerts[best]
	n := &reports.NearAlert{Key: b.key(a), TS: a.TS, Score: a.Score}
	cfg := b.rf.Config.Match.MatchConfig()
	lead, tol := max(cfg.Lead, 0), max(cfg.Tolerance, 0)
	switch {
	case !b.full:
		n.Reason = fmt.Sprintf("%s from the incident's start (matching details need the run's labels)", signedGap(a.TS-in.Start))
	case a.TS < in.Start-lead:
		n.Reason = fmt.Sprintf("came %s before the start, earlier than the %s lead window", seconds(in.Start-a.TS), seconds(lead))
	case a.TS > satAdd(in.End, tol):
		n.Reason = fmt.Sprintf("came %s after the end, later than the %s tolerance", seconds(a.TS-in.End), seconds(tol))
	case len(in.Accounts) > 0 && !overlap(canonicalAccounts(a.Accounts), detectors.SortAccounts(append([]string(nil), in.Accounts...))):
		n.Reason = "in the window but about other accounts (" + formatList(b.accounts(a.Accounts)) + ")"
	default:
		taken := "another incident"
		for _, d := range b.match.Detectors {
			for _, o := range d.Alerts {
				if o.Index == best && o.TP {
					taken = "incident " + b.text(o.IncidentID)
				}
			}
		}
		n.Reason = "in the window, but it matched " + taken + " (one alert matches one incident, the one ending first)"
	}
	return n
}

func seconds(us detectors.Micros) string {
	return fmt.Sprintf("%g s", math.Round(float64(us)/float64(detectors.Millisecond))/1000)
}

func signedGap(us detectors.Micros) string {
	if us < 0 {
		return seconds(-us) + " before"
	}
	return seconds(us) + " after"
}

func formatList(ids []string) string {
	if len(ids) == 0 {
		return "none named"
	}
	return strings.Join(ids, ", ")
}
