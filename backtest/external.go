package backtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/internal/fsutil"
	"github.com/fds-dev/fds/reports"
)

// This file scores alerts raised by any other system (an ML model, a vendor export) with the
// same matcher and metrics as a backtest, so that rules and models compare on one table.

// Alert CSV columns (docs/tuning.md, "Evaluating other systems' alerts").
var (
	alertCSVRequired = []string{"detector", "symbol", "ts", "score"}
	alertCSVOptional = []string{"type", "accounts", "window_start", "window_end", "note"}
)

// ReadAlertsFile reads alerts from an alerts Parquet file (the schema of a run's alerts.parquet,
// datasets.ReadAlerts) or, for a .csv name, from a CSV file (ReadAlertsCSV).
func ReadAlertsFile(path string) ([]detectors.Alert, error) {
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("alerts: %w", err)
		}
		defer f.Close()
		return ReadAlertsCSV(path, f)
	}
	return datasets.ReadAlerts(path)
}

// ReadAlertsCSV reads alerts from CSV with a header row. Columns, in any order: detector,
// symbol, ts, score (required); type (required unless detector names an fds detector, whose
// type it then takes), accounts (separated by ';'), window_start, window_end (default ts) and
// note. Timestamps are RFC 3339 UTC times or integer microseconds since the epoch; scores are
// finite numbers. name is used in errors, which give the line and column.
func ReadAlertsCSV(name string, r io.Reader) ([]detectors.Alert, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	cr.FieldsPerRecord = 0
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty file (want a header row: %s)", name, strings.Join(append(alertCSVRequired, alertCSVOptional...), ","))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	col := map[string]int{}
	known := map[string]bool{}
	for _, c := range append(append([]string{}, alertCSVRequired...), alertCSVOptional...) {
		known[c] = true
	}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if !known[h] {
			return nil, fmt.Errorf("%s: line 1: unknown column %q (want %s; optional %s)", name, h,
				strings.Join(alertCSVRequired, ", "), strings.Join(alertCSVOptional, ", "))
		}
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("%s: line 1: column %q appears twice", name, h)
		}
		col[h] = i
	}
	for _, c := range alertCSVRequired {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("%s: line 1: missing column %q", name, c)
		}
	}
	var out []detectors.Alert
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		line, _ := cr.FieldPos(0)
		get := func(c string) string {
			if i, ok := col[c]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		bad := func(c, format string, args ...any) error {
			return fmt.Errorf("%s: line %d: column %s: %s", name, line, c, fmt.Sprintf(format, args...))
		}
		a := detectors.Alert{Detector: get("detector"), Symbol: get("symbol"), Evidence: detectors.Evidence{Note: get("note")}}
		if a.Detector == "" {
			return nil, bad("detector", "empty")
		}
		if a.Symbol == "" {
			return nil, bad("symbol", "empty")
		}
		if t := get("type"); t != "" {
			if a.Type, err = detectors.ParseIncidentType(t); err != nil {
				return nil, bad("type", "%v", err)
			}
		} else if spec, ok := detectors.Lookup(a.Detector); ok {
			a.Type = spec.Type
		} else {
			return nil, bad("type", "empty, and %q is not an fds detector whose type could be taken", a.Detector)
		}
		if a.TS, err = parseCSVTime(get("ts")); err != nil {
			return nil, bad("ts", "%v", err)
		}
		a.WindowStart, a.WindowEnd = a.TS, a.TS
		for _, w := range []struct {
			c   string
			dst *detectors.Micros
		}{{"window_start", &a.WindowStart}, {"window_end", &a.WindowEnd}} {
			if s := get(w.c); s != "" {
				if *w.dst, err = parseCSVTime(s); err != nil {
					return nil, bad(w.c, "%v", err)
				}
			}
		}
		s := get("score")
		if a.Score, err = strconv.ParseFloat(s, 64); err != nil || math.IsNaN(a.Score) || math.IsInf(a.Score, 0) {
			return nil, bad("score", "%q is not a finite number", s)
		}
		if acc := get("accounts"); acc != "" {
			for _, x := range strings.Split(acc, ";") {
				if x = strings.TrimSpace(x); x != "" {
					a.Accounts = append(a.Accounts, x)
				}
			}
			a.Accounts = detectors.SortAccounts(a.Accounts)
		}
		out = append(out, a)
	}
}

// parseCSVTime reads an RFC 3339 time or integer microseconds since the epoch.
func parseCSVTime(s string) (detectors.Micros, error) {
	if s == "" {
		return 0, errors.New("empty")
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither an RFC 3339 time (2024-01-01T00:00:05.25Z) nor integer microseconds", s)
	}
	return t.UTC().UnixMicro(), nil
}

// ReadIncidents reads labelled incidents from a dataset folder (its labels table) or from one
// Parquet file in the labels schema, whatever its name.
func ReadIncidents(path string) ([]datasets.Incident, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("labels %s: %w", path, unwrapPath(err))
	}
	if fi.IsDir() {
		ds, err := datasets.Open(path)
		if err != nil {
			return nil, err
		}
		if !ds.Has(datasets.TableLabels) {
			return nil, fmt.Errorf("labels %s: the dataset folder has no labels table", path)
		}
		return ds.Labels()
	}
	// The data layer reads tables of dataset folders: show it the file as one, through a link.
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "fds-labels-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	link := filepath.Join(tmp, datasets.TableLabels+".parquet")
	if err := os.Symlink(abs, link); err != nil {
		return nil, err
	}
	ds, err := datasets.Open(tmp)
	if err != nil {
		return nil, errors.New(strings.ReplaceAll(err.Error(), link, path))
	}
	incidents, err := ds.Labels()
	if err != nil {
		return nil, errors.New(strings.ReplaceAll(err.Error(), link, path))
	}
	return incidents, nil
}

// EvaluateOptions say how external alerts are scored.
type EvaluateOptions struct {
	Match MatchSettings
	// From and To bound the evaluated period for alerts per day; zero values default to the
	// earliest and latest of the alerts' ts and the incidents' start and end.
	From, To detectors.Micros
	// AlertsPath and LabelsPath are recorded in the report.
	AlertsPath, LabelsPath string
}

// Evaluation is external alerts scored against incidents.
type Evaluation struct {
	Options   EvaluateOptions
	Alerts    []detectors.Alert
	Incidents []datasets.Incident
	Detectors []string
	From, To  detectors.Micros
	Match     MatchResult
	Matches   []datasets.MatchRow
	Metrics   Metrics
	Manifest  Manifest
}

// EvaluateAlerts scores alerts from any system against incidents with the backtest's matcher and
// metrics (docs/metrics.md). Each alert's detector and type say which incidents it may match.
func EvaluateAlerts(alerts []detectors.Alert, incidents []datasets.Incident, opts EvaluateOptions) (*Evaluation, error) {
	if err := (Config{Match: opts.Match}).Validate(); err != nil {
		return nil, err
	}
	ev := &Evaluation{Options: opts, Alerts: append([]detectors.Alert(nil), alerts...), Incidents: incidents}
	SortAlerts(ev.Alerts)
	seen := map[string]bool{}
	first, last := detectors.Micros(math.MaxInt64), detectors.Micros(math.MinInt64)
	for _, a := range ev.Alerts {
		if !seen[a.Detector] {
			seen[a.Detector] = true
			ev.Detectors = append(ev.Detectors, a.Detector)
		}
		first, last = min(first, a.TS), max(last, a.TS)
	}
	sort.Strings(ev.Detectors)
	for _, in := range incidents {
		first, last = min(first, in.Start), max(last, in.End)
	}
	if first > last {
		first, last = 0, 0
	}
	ev.From, ev.To = first, last
	if opts.From != 0 {
		ev.From = opts.From
	}
	if opts.To != 0 {
		ev.To = opts.To
	}
	if ev.To < ev.From {
		return nil, fmt.Errorf("evaluation period ends (%s) before it starts (%s)", formatTS(ev.To), formatTS(ev.From))
	}
	mc := opts.Match.MatchConfig()
	mc.Detectors = map[string]detectors.IncidentType{}
	for _, a := range ev.Alerts {
		mc.Detectors[a.Detector] = a.Type
	}
	ev.Match = Match(ev.Alerts, incidents, mc)
	ev.Matches = ev.Match.Rows()
	ev.Metrics = ComputeMetrics(&ev.Match, ev.To-ev.From)
	ev.Manifest = Manifest{SchemaVersion: 1, FDSVersion: Version, DataDir: opts.LabelsPath, Tables: map[string]Rows{},
		Detectors: ev.Detectors, FirstTS: formatTS(ev.From), LastTS: formatTS(ev.To),
		SpanDays: float64(ev.To-ev.From) / float64(detectors.Day), Notices: []string{}, TimingsSeconds: map[string]float64{}}
	ev.Manifest.Tables["alerts"] = Rows{Read: int64(len(alerts)), Replayed: int64(len(alerts))}
	ev.Manifest.Tables[datasets.TableLabels] = Rows{Read: int64(len(incidents)), Replayed: int64(len(incidents))}
	for _, p := range []struct{ table, path string }{{"alerts", opts.AlertsPath}, {datasets.TableLabels, opts.LabelsPath}} {
		if p.path == "" {
			continue
		}
		if in, err := hashFile(p.table, p.path); err == nil {
			ev.Manifest.Inputs = append(ev.Manifest.Inputs, in)
		}
	}
	return ev, nil
}

func hashFile(table, path string) (InputFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return InputFile{}, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.IsDir() {
		return InputFile{}, fmt.Errorf("%s: not a file", path)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return InputFile{}, err
	}
	return InputFile{Table: table, Path: filepath.ToSlash(path), Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// WriteEvaluationFolder writes an evaluation as a run folder: metrics.json, matches.parquet,
// alerts.parquet, manifest.json, report.md and pr_curve.png, so that fds report and fds regress
// read it like a backtest's (it has no config.yaml: no fds configuration made the alerts).
func WriteEvaluationFolder(ctx context.Context, dir string, ev *Evaluation) error {
	st, err := fsutil.NewStaging(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Abort()
	if err := fsutil.WriteJSON(st.Path(MetricsFile), ev.Metrics); err != nil {
		return err
	}
	if err := fsutil.WriteJSON(st.Path(ManifestFile), ev.Manifest); err != nil {
		return err
	}
	if err := datasets.WriteAlerts(st.Path(AlertsFile), ev.Alerts); err != nil {
		return err
	}
	if err := datasets.WriteMatches(st.Path(MatchesFile), ev.Matches); err != nil {
		return err
	}
	if err := st.Err(); err != nil {
		return err
	}
	var series []reports.PRSeries
	for i := range ev.Match.Detectors {
		d := &ev.Match.Detectors[i]
		if len(d.Alerts) == 0 && len(d.Incidents) == 0 {
			continue
		}
		c := PRCurve(d.Scored(), len(d.Incidents), ev.To-ev.From)
		lowest := math.Inf(1)
		for _, a := range d.Alerts {
			lowest = math.Min(lowest, a.Score)
		}
		if math.IsInf(lowest, 1) {
			lowest = 0
		}
		series = append(series, c.PlotSeries(d.Detector, lowest))
	}
	if len(series) > 0 {
		if err := reports.PlotPRCurves(st.Path(PRCurveFile), series); err != nil {
			return err
		}
	}
	r := reports.Report{Title: "Evaluation report", Identity: []reports.Field{
		{Name: "alerts", Value: ev.Options.AlertsPath},
		{Name: "labels", Value: ev.Options.LabelsPath},
		{Name: "detectors", Value: strings.Join(ev.Detectors, ", ")},
		{Name: "fds version", Value: Version},
		{Name: "period", Value: fmt.Sprintf("%s to %s (%.3f days; for alerts per day)", formatTS(ev.From), formatTS(ev.To), float64(ev.To-ev.From)/float64(detectors.Day))},
		{Name: "matching", Value: fmt.Sprintf("alert ts within [start − %gs, end + %gs], one-to-one in score order",
			ev.Options.Match.LeadSeconds, ev.Options.Match.ToleranceSeconds)},
	}}
	for _, in := range ev.Manifest.Inputs {
		r.Identity = append(r.Identity, reports.Field{Name: "input " + in.Path, Value: fmt.Sprintf("%d bytes, sha256 %s", in.Bytes, in.SHA256[:16])})
	}
	rows, overall := ev.Metrics.ReportRows()
	r.Detectors, r.Overall = rows, &overall
	byType := map[string]int{}
	for _, in := range ev.Match.Uncovered {
		byType[string(in.Type)]++
	}
	types := make([]string, 0, len(byType))
	for t := range byType {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		r.Uncovered = append(r.Uncovered, reports.TypeCount{Type: t, Incidents: byType[t]})
	}
	if len(series) > 0 {
		r.PRPlot = PRCurveFile
	}
	r.Notes = append(r.Notes, "Alerts from another system, scored with the backtest's matcher and metrics: every alert counts, its score ranks it for the PR curve.")
	var md bytes.Buffer
	if err := reports.WriteMarkdown(&md, r); err != nil {
		return err
	}
	if err := fsutil.WriteFile(st.Path(ReportFile), md.Bytes(), 0o644); err != nil {
		return err
	}
	return st.Commit()
}
