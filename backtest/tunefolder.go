package backtest

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/fds-dev/fds/internal/fsutil"
	"github.com/fds-dev/fds/reports"
)

// The files of a tuning run folder.
const (
	LeaderboardJSONFile = "leaderboard.json"
	LeaderboardMDFile   = "leaderboard.md"
	TunedConfigFile     = "tuned.yaml"
	CurvesFile          = "curves.json"
	GridFile            = "grid.yaml"
	TunePRCurveFile     = "pr_curves.png"
)

// curvesDoc is curves.json: the chosen configurations' PR and threshold curves.
type curvesDoc struct {
	SchemaVersion int `json:"schema_version"`
	// Note explains the points, for a reader of the file.
	Note   string     `json:"note"`
	Curves []CurveSet `json:"curves"`
}

// WriteTuneFolder writes a sweep's run folder at dir: leaderboard.json and leaderboard.md,
// tuned.yaml (when every detector met the objective; written by FormatConfig, so `fds backtest
// --config` loads it unchanged), curves.json, the grid, manifest.json and pr_curves.png. The
// folder is built beside dir and swapped in whole. Everything but manifest.json's timings is a
// function of the inputs, options and seed.
func WriteTuneFolder(ctx context.Context, dir string, res *TuneResult) error {
	st, err := fsutil.NewStaging(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Abort()
	if err := fsutil.WriteJSON(st.Path(LeaderboardJSONFile), res); err != nil {
		return err
	}
	var md bytes.Buffer
	WriteLeaderboardMarkdown(&md, res, DefaultTop)
	if err := fsutil.WriteFile(st.Path(LeaderboardMDFile), md.Bytes(), 0o644); err != nil {
		return err
	}
	if res.Feasible {
		y, err := FormatConfig(res.Tuned)
		if err != nil {
			return err
		}
		if err := fsutil.WriteFile(st.Path(TunedConfigFile), y, 0o644); err != nil {
			return err
		}
	}
	curves := curvesDoc{SchemaVersion: TuneSchemaVersion,
		Note: "per detector, the chosen configuration's operating points by descending threshold (min_score): " +
			"alerts scoring at least the threshold are kept; precision, recall, F1 and alerts/day of each period",
		Curves: res.Curves}
	if curves.Curves == nil {
		curves.Curves = []CurveSet{}
	}
	if err := fsutil.WriteJSON(st.Path(CurvesFile), curves); err != nil {
		return err
	}
	if res.Grid != nil && len(res.Grid.Source) > 0 {
		if err := fsutil.WriteFile(st.Path(GridFile), res.Grid.Source, 0o644); err != nil {
			return err
		}
	}
	if err := fsutil.WriteJSON(st.Path(ManifestFile), res.Manifest); err != nil {
		return err
	}
	if err := st.Err(); err != nil {
		return err
	}
	if series := res.prSeries(); len(series) > 0 {
		if err := reports.PlotPRCurves(st.Path(TunePRCurveFile), series); err != nil {
			return err
		}
	}
	return st.Commit()
}

// prSeries draws each chosen configuration's in-sample curve and, with a split, its
// out-of-sample curve, marking the chosen threshold.
func (res *TuneResult) prSeries() []reports.PRSeries {
	var out []reports.PRSeries
	add := func(name string, points []PRPoint, minScore float64) {
		if len(points) == 0 {
			return
		}
		s := reports.PRSeries{Name: name}
		prev := 0.0
		for _, p := range points {
			s.Recall = append(s.Recall, p.Recall)
			s.Precision = append(s.Precision, p.Precision)
			s.AveragePrecision += (p.Recall - prev) * p.Precision
			prev = p.Recall
		}
		c := Curve{Points: points}
		op := c.At(minScore)
		s.Operating = &reports.PRMark{Recall: op.Recall, Precision: op.Precision, Threshold: minScore}
		out = append(out, s)
	}
	for _, c := range res.Curves {
		if len(c.OutOfSample) > 0 {
			add(c.Config+" in-sample", c.InSample, c.MinScore)
			add(c.Config+" out-of-sample", c.OutOfSample, c.MinScore)
		} else {
			add(c.Config, c.Full, c.MinScore)
		}
	}
	return out
}

// WriteLeaderboardMarkdown renders leaderboard.md: the settings, warnings, then per detector
// the top configurations with in-sample and out-of-sample figures and intervals.
func WriteLeaderboardMarkdown(b *bytes.Buffer, res *TuneResult, top int) {
	f3 := func(x float64) string { return fmt.Sprintf("%.3f", x) }
	withCI := func(x float64, iv func(*BootstrapCI) Interval, ci *BootstrapCI) string {
		if ci == nil {
			return f3(x)
		}
		v := iv(ci)
		return fmt.Sprintf("%.3f [%.3f, %.3f]", x, v.Low, v.High)
	}
	prec := func(c *BootstrapCI) Interval { return c.Precision }
	rec := func(c *BootstrapCI) Interval { return c.Recall }
	f1 := func(c *BootstrapCI) Interval { return c.F1 }

	fmt.Fprintf(b, "# Tuning leaderboard\n\n")
	fmt.Fprintf(b, "- **objective**: `%s`\n", res.Objective)
	fmt.Fprintf(b, "- **dataset**: %s (%d events, replayed once for %d configurations)\n", res.DataDir, res.Events, res.Configurations)
	v := res.Validation
	switch v.Mode {
	case "split":
		fmt.Fprintf(b, "- **validation**: time split. Tuned (in-sample) on %s to %s (%.2f days); reported (out-of-sample) on %s to %s (%.2f days)\n",
			v.InSample.From, v.InSample.To, v.InSample.Days, v.OutOfSample.From, v.OutOfSample.To, v.OutOfSample.Days)
	case "walk_forward":
		fmt.Fprintf(b, "- **validation**: walk-forward, %d folds over %s to %s. The leaderboard and tuned.yaml are tuned on all the data; the fold table estimates how such a choice fares on data it has not seen\n",
			v.Folds, v.InSample.From, v.InSample.To)
	default:
		fmt.Fprintf(b, "- **validation**: none: every figure is in-sample (tuned and reported on %s to %s) and flatters the choice; use --split or --folds\n",
			v.InSample.From, v.InSample.To)
	}
	fmt.Fprintf(b, "- **intervals**: %g%% percentile bootstrap, %d resamples of %s, seed %d\n",
		res.Bootstrap.Level*100, res.Bootstrap.Resamples, res.Bootstrap.Units, res.Bootstrap.Seed)
	fmt.Fprintf(b, "- **matching**: alert ts within [start − %gs, end + %gs], one-to-one in score order\n", res.Match.LeadSeconds, res.Match.ToleranceSeconds)
	if res.Feasible {
		fmt.Fprintf(b, "- **tuned configuration**: `%s` (load with `fds backtest --config %s`)\n", TunedConfigFile, TunedConfigFile)
	} else {
		fmt.Fprintf(b, "- **tuned configuration**: none: a detector has no configuration meeting the objective\n")
	}
	fmt.Fprintln(b)
	if len(res.Warnings) > 0 {
		fmt.Fprintf(b, "## Warnings\n\n")
		for _, w := range res.Warnings {
			fmt.Fprintf(b, "- %s\n", w)
		}
		fmt.Fprintln(b)
	}

	for _, dt := range res.Detectors {
		if dt.Feasible {
			fmt.Fprintf(b, "## %s: chose %s at min_score %s\n\n", dt.Detector, dt.Chosen, formatFloat(dt.MinScore))
		} else {
			fmt.Fprintf(b, "## %s: no configuration meets the objective\n\n", dt.Detector)
		}
		var params []string
		if len(dt.Leaderboard) > 0 {
			for _, p := range dt.Leaderboard[0].Params {
				params = append(params, p.Name)
			}
		}
		n := min(top, len(dt.Leaderboard))
		fmt.Fprintf(b, "Top %d of %d configurations by in-sample `%s`.\n\n", n, dt.Configurations, res.Objective)
		head := []string{"rank", "config"}
		head = append(head, params...)
		head = append(head, "min_score")
		split := v.Mode == "split"
		if split {
			head = append(head, "in P", "in R", "in F1", "out P", "out R", "out F1", "out alerts/day")
		} else {
			head = append(head, "P", "R", "F1", "alerts/day")
		}
		head = append(head, "feasible")
		fmt.Fprintf(b, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("--:|", len(head)))
		for _, cs := range dt.Leaderboard[:n] {
			row := []string{fmt.Sprint(cs.Rank), cs.ID}
			for _, p := range cs.Params {
				row = append(row, formatFloat(p.Value))
			}
			row = append(row, formatFloat(cs.MinScore))
			feasible := cs.InSample.Feasible
			if split {
				o := cs.OutOfSample
				row = append(row, f3(cs.InSample.Precision), f3(cs.InSample.Recall), f3(cs.InSample.F1),
					withCI(o.Precision, prec, o.CI), withCI(o.Recall, rec, o.CI), withCI(o.F1, f1, o.CI), fmt.Sprintf("%.2f", o.AlertsPerDay))
			} else {
				fu := cs.Full
				row = append(row, withCI(fu.Precision, prec, fu.CI), withCI(fu.Recall, rec, fu.CI), withCI(fu.F1, f1, fu.CI), fmt.Sprintf("%.2f", fu.AlertsPerDay))
			}
			row = append(row, map[bool]string{true: "yes", false: "no"}[feasible])
			fmt.Fprintf(b, "| %s |\n", strings.Join(row, " | "))
		}
		fmt.Fprintln(b)
		if len(dt.Folds) > 0 {
			fmt.Fprintf(b, "Walk-forward folds (each tuned on the blocks before its test block):\n\n")
			fmt.Fprintf(b, "| fold | test from | test to | chosen | min_score | in F1 | out P | out R | out F1 | out incidents |\n|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
			for _, fr := range dt.Folds {
				fmt.Fprintf(b, "| %d | %s | %s | %s | %s | %s | %s | %s | %s | %d |\n", fr.Fold, fr.Test.From, fr.Test.To, fr.Chosen,
					formatFloat(fr.MinScore), f3(fr.InSample.F1), f3(fr.OutOfSample.Precision), f3(fr.OutOfSample.Recall), f3(fr.OutOfSample.F1), fr.OutOfSample.Incidents)
			}
			wf := dt.WalkForward
			fmt.Fprintf(b, "| **pooled** | | | | | | %s | %s | %s | %d |\n\n", withCI(wf.Precision, prec, wf.CI), withCI(wf.Recall, rec, wf.CI), withCI(wf.F1, f1, wf.CI), wf.Incidents)
		}
	}

	if res.TunedMetrics != nil {
		fmt.Fprintf(b, "## Tuned configuration on all the data\n\n")
		fmt.Fprintf(b, "What `fds backtest --config %s` reports on this dataset (all of it, tuning period included).\n\n", TunedConfigFile)
		fmt.Fprintf(b, "| detector | alerts | incidents | TP | FP | FN | precision | recall | F1 | alerts/day |\n|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		names := make([]string, 0, len(res.TunedMetrics.Detectors))
		for n := range res.TunedMetrics.Detectors {
			names = append(names, n)
		}
		sort.Strings(names)
		row := func(n string, m DetectorMetrics) {
			fmt.Fprintf(b, "| %s | %d | %d | %d | %d | %d | %s | %s | %s | %.2f |\n", n, m.Alerts, m.Incidents, m.TP, m.FP, m.FN,
				f3(m.Precision), f3(m.Recall), f3(m.F1), m.AlertsPerDay)
		}
		for _, n := range names {
			row(n, res.TunedMetrics.Detectors[n])
		}
		row("**overall**", res.TunedMetrics.Overall)
		fmt.Fprintln(b)
	}
	fmt.Fprintf(b, "Intervals are percentile-bootstrap intervals at the stated level. Incidents starting in a period belong to it, with the alerts that matched them; false positives belong to the period they were raised in.\n")
}
