package backtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/internal/fsutil"
	"github.com/fds-dev/fds/reports"
)

// The files of a run folder: the contract that fds report, fds regress, fds query and fds
// evaluate read.
const (
	MetricsFile  = "metrics.json"
	AlertsFile   = "alerts.parquet"
	MatchesFile  = "matches.parquet"
	ConfigFile   = "config.yaml"
	ManifestFile = "manifest.json"
	ReportFile   = "report.md"
	PRCurveFile  = "pr_curve.png"
)

// WriteRunFolder writes a result as a run folder at dir. The folder is built beside dir and
// swapped in whole, so a failed or interrupted write (ctx cancelled) leaves the previous folder
// (or none).
func WriteRunFolder(ctx context.Context, dir string, res *Result) error {
	st, err := fsutil.NewStaging(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Abort()
	cfgYAML, err := FormatConfig(res.Config)
	if err != nil {
		return err
	}
	if err := fsutil.WriteFile(st.Path(ConfigFile), cfgYAML, 0o644); err != nil {
		return err
	}
	if err := fsutil.WriteJSON(st.Path(MetricsFile), res.Metrics); err != nil {
		return err
	}
	if err := fsutil.WriteJSON(st.Path(ManifestFile), res.Manifest); err != nil {
		return err
	}
	if err := datasets.WriteAlerts(st.Path(AlertsFile), res.Alerts); err != nil {
		return err
	}
	if err := datasets.WriteMatches(st.Path(MatchesFile), res.Matches); err != nil {
		return err
	}
	if err := st.Err(); err != nil {
		return err
	}
	series := res.PRSeries()
	if len(series) > 0 {
		if err := reports.PlotPRCurves(st.Path(PRCurveFile), series); err != nil {
			return err
		}
	}
	var md bytes.Buffer
	if err := reports.WriteMarkdown(&md, res.MarkdownReport(cfgYAML, len(series) > 0)); err != nil {
		return err
	}
	if err := fsutil.WriteFile(st.Path(ReportFile), md.Bytes(), 0o644); err != nil {
		return err
	}
	return st.Commit()
}

// PRSeries returns one PR curve per detector that had incidents or alerts, by name.
func (res *Result) PRSeries() []reports.PRSeries {
	span := res.Stats.LastTS - res.Stats.FirstTS
	var out []reports.PRSeries
	for i := range res.Match.Detectors {
		d := &res.Match.Detectors[i]
		if len(d.Alerts) == 0 && len(d.Incidents) == 0 {
			continue
		}
		c := PRCurve(d.Scored(), len(d.Incidents), span)
		out = append(out, c.PlotSeries(d.Detector, res.Params[d.Detector][detectors.MinScoreParam]))
	}
	return out
}

// MarkdownReport assembles report.md's content. It reads no clock: the same result gives the same
// bytes.
func (res *Result) MarkdownReport(cfgYAML []byte, withPlot bool) reports.Report {
	sum := sha256.Sum256(cfgYAML)
	m := res.Manifest
	r := reports.Report{
		Title: "Backtest report",
		Identity: []reports.Field{
			{Name: "dataset", Value: m.DataDir},
			{Name: "detectors", Value: strings.Join(m.Detectors, ", ")},
			{Name: "config sha256", Value: hex.EncodeToString(sum[:])[:16]},
			{Name: "fds version", Value: m.FDSVersion},
			{Name: "events replayed", Value: fmt.Sprint(m.Events)},
			{Name: "time span", Value: fmt.Sprintf("%s to %s (%.3f days)", m.FirstTS, m.LastTS, m.SpanDays)},
			{Name: "matching", Value: fmt.Sprintf("alert ts within [start − %gs, end + %gs], one-to-one in score order",
				res.Config.Match.LeadSeconds, res.Config.Match.ToleranceSeconds)},
		},
	}
	for _, in := range m.Inputs {
		r.Identity = append(r.Identity, reports.Field{Name: "input " + in.Path, Value: fmt.Sprintf("%d bytes, sha256 %s", in.Bytes, in.SHA256[:16])})
	}
	rows, overall := res.Metrics.ReportRows()
	r.Detectors = rows
	r.Overall = &overall
	byType := map[string]int{}
	for _, in := range res.Match.Uncovered {
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
	if withPlot {
		r.PRPlot = PRCurveFile
	}
	r.Notes = append(r.Notes, m.Notices...)
	return r
}

// RunFolder is a run folder read back.
type RunFolder struct {
	Dir      string
	Metrics  Metrics
	Manifest Manifest
	Config   Config
	Alerts   []detectors.Alert
}

// LoadRun reads a run folder's metrics, manifest, config and alerts. A path to a metrics.json
// loads that file alone.
func LoadRun(path string) (*RunFolder, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", path, unwrapPath(err))
	}
	if !fi.IsDir() {
		rf := &RunFolder{Dir: filepath.Dir(path)}
		return rf, readJSON(path, &rf.Metrics)
	}
	rf := &RunFolder{Dir: path}
	if err := readJSON(filepath.Join(path, MetricsFile), &rf.Metrics); err != nil {
		return nil, err
	}
	if err := readJSON(filepath.Join(path, ManifestFile), &rf.Manifest); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if cfg, err := LoadConfig(filepath.Join(path, ConfigFile)); err == nil {
		rf.Config = cfg
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(path, AlertsFile)); err == nil {
		if rf.Alerts, err = datasets.ReadAlerts(filepath.Join(path, AlertsFile)); err != nil {
			return nil, err
		}
	}
	return rf, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: not a valid %s: %v", path, filepath.Base(path), err)
	}
	return nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
