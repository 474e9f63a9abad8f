package backtest

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/fds-dev/fds/reports"
)

// The renderings of a Regression: a benchstat-like text table for people, Markdown for pull
// request comments and JUnit XML for CI systems (JSON is the struct itself). None reads a clock:
// the same comparison gives the same bytes.

// formatMetricValue writes a metric value in its unit.
func formatMetricValue(metric string, v float64) string {
	switch metric {
	case RegressAlertsPerDay:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case RegressTTDMedian:
		return strconv.FormatFloat(v, 'f', 1, 64) + "s"
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

// formatMetricDelta writes a signed change in the metric's unit.
func formatMetricDelta(metric string, v float64) string {
	s := formatMetricValue(metric, v)
	if v >= 0 || s == formatMetricValue(metric, 0) {
		s = "+" + strings.TrimPrefix(s, "-")
	}
	return s
}

func optValue(metric string, v *float64) string {
	if v == nil {
		return "-"
	}
	return formatMetricValue(metric, *v)
}

func (m *MetricDelta) deltaText() string {
	if m.Delta == nil {
		return "-"
	}
	return formatMetricDelta(m.Metric, *m.Delta)
}

func (m *MetricDelta) ciText() string {
	if m.CILow == nil || m.CIHigh == nil {
		return "-"
	}
	return "[" + formatMetricDelta(m.Metric, *m.CILow) + ", " + formatMetricDelta(m.Metric, *m.CIHigh) + "]"
}

func (m *MetricDelta) pText() string {
	if m.P == nil {
		return "-"
	}
	if *m.P < 0.001 {
		return "<0.001"
	}
	return strconv.FormatFloat(*m.P, 'f', 3, 64)
}

func (m *MetricDelta) toleranceText() string {
	unit := ""
	if m.Metric == RegressTTDMedian && !strings.HasSuffix(m.Tolerance, "%") {
		unit = "s"
	}
	return m.Tolerance + unit
}

func (m *MetricDelta) statusText() string {
	switch m.Status {
	case StatusRegressed:
		return "REGRESSED"
	case StatusMissing:
		return "MISSING"
	case StatusOK:
		if m.BeyondTolerance {
			return "ok (beyond tolerance, not significant)"
		}
	}
	return m.Status
}

// describe explains a failed check in one line.
func (m *MetricDelta) describe(detector string) string {
	if m.Status == StatusMissing {
		return fmt.Sprintf("%s.%s: the candidate has no detector %s (the baseline had %s)", detector, m.Metric, detector, optValue(m.Metric, m.Baseline))
	}
	dir := "dropped"
	if LowerIsBetter(m.Metric) {
		dir = "rose"
	}
	allowed := ""
	if strings.HasSuffix(m.Tolerance, "%") {
		allowed = " = " + formatMetricValue(m.Metric, m.Allowed)
	}
	return fmt.Sprintf("%s.%s %s by %s (%s -> %s), beyond the tolerance %s%s", detector, m.Metric, dir,
		strings.TrimPrefix(formatMetricDelta(m.Metric, math.Abs(*m.Delta)), "+"), optValue(m.Metric, m.Baseline),
		optValue(m.Metric, m.Candidate), m.toleranceText(), allowed)
}

func (r *Regression) intervalLine() string {
	if r.Bootstrap.Unavailable != "" {
		return "intervals: none: " + r.Bootstrap.Unavailable
	}
	return fmt.Sprintf("intervals: %g%% %s; %d resamples, seed %d", r.Bootstrap.Level*100, r.Bootstrap.Method,
		r.Bootstrap.Replicates, r.Bootstrap.Seed)
}

// Summary is the verdict in one line.
func (r *Regression) Summary() string {
	if r.Passed() {
		checks := 0
		for _, d := range r.Detectors {
			checks += len(d.Metrics)
		}
		return fmt.Sprintf("PASS: no metric worsened beyond its tolerance (%d checks)", checks)
	}
	return fmt.Sprintf("FAIL: %d regression(s) beyond tolerance: %s", len(r.Regressions), strings.Join(r.Regressions, ", "))
}

// WriteText writes the comparison for people: a table with one line per detector and metric,
// the failed checks explained, the alert diff and notes.
func (r *Regression) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "baseline:  %s\ncandidate: %s\n%s\n\n", r.Baseline, r.Candidate, r.intervalLine())
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	level := fmt.Sprintf("%g%% CI", r.Bootstrap.Level*100)
	fmt.Fprintf(tw, "detector\tmetric\tbaseline\tcandidate\tdelta\t%s\tp\ttolerance\tstatus\n", level)
	for _, d := range r.Detectors {
		for i := range d.Metrics {
			m := &d.Metrics[i]
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Detector, m.Metric, optValue(m.Metric, m.Baseline),
				optValue(m.Metric, m.Candidate), m.deltaText(), m.ciText(), m.pText(), m.toleranceText(), m.statusText())
		}
	}
	tw.Flush()
	bw.WriteString("\n")
	for _, d := range r.Detectors {
		for i := range d.Metrics {
			if m := &d.Metrics[i]; m.Failed() {
				fmt.Fprintf(bw, "regression: %s\n", m.describe(d.Detector))
			}
		}
	}
	if !r.Passed() {
		bw.WriteString("\n")
	}
	r.writeDiffText(bw)
	for _, n := range r.Notes {
		fmt.Fprintf(bw, "note: %s\n", n)
	}
	if len(r.Notes) > 0 {
		bw.WriteString("\n")
	}
	fmt.Fprintln(bw, r.Summary())
	return bw.Flush()
}

func (a *DiffAlert) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", a.Time, a.Detector, a.Symbol)
	if a.Accounts != "" {
		fmt.Fprintf(&b, " accounts=%s", a.Accounts)
	}
	if a.Score != nil {
		fmt.Fprintf(&b, " score=%s", strconv.FormatFloat(*a.Score, 'g', 6, 64))
	}
	if a.Outcome != "" {
		fmt.Fprintf(&b, " %s", a.Outcome)
		if a.IncidentID != "" {
			fmt.Fprintf(&b, " (incident %s)", a.IncidentID)
		}
	}
	return b.String()
}

func (r *Regression) writeDiffText(w *bufio.Writer) {
	d := &r.AlertDiff
	switch {
	case !d.Available:
		w.WriteString("alerts: not compared (a run has neither alerts.parquet nor a matches file)\n\n")
		return
	case d.Empty():
		w.WriteString("alerts: identical (no alert appeared or disappeared)\n\n")
		return
	}
	fmt.Fprintf(w, "alerts: %d appeared, %d disappeared (paired by detector|symbol|accounts|ts)\n", d.Appeared, d.Disappeared)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "detector\tbaseline\tcandidate\tappeared\tdisappeared\t")
	for _, x := range d.Detectors {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", x.Detector, x.Baseline, x.Candidate, x.Appeared, x.Disappeared)
	}
	tw.Flush()
	list := func(title, sign string, alerts []DiffAlert, total int) {
		if total == 0 {
			return
		}
		fmt.Fprintf(w, "%s (first %d of %d):\n", title, len(alerts), total)
		for i := range alerts {
			fmt.Fprintf(w, "  %s %s\n", sign, alerts[i].text())
		}
	}
	list("disappeared", "-", d.FirstDisappeared, d.Disappeared)
	list("appeared", "+", d.FirstAppeared, d.Appeared)
	w.WriteString("\n")
}

// mdCell escapes a table cell.
func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// WriteMarkdown writes the comparison as GitHub-flavoured Markdown for a pull-request comment:
// the verdict, the table (failed checks in bold), the alert diff folded in a details block.
func (r *Regression) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if r.Passed() {
		bw.WriteString("### fds regress: no regression\n\n")
	} else {
		fmt.Fprintf(bw, "### fds regress: %d regression(s)\n\n", len(r.Regressions))
		for _, d := range r.Detectors {
			for i := range d.Metrics {
				if m := &d.Metrics[i]; m.Failed() {
					fmt.Fprintf(bw, "- **%s**\n", mdCell(m.describe(d.Detector)))
				}
			}
		}
		bw.WriteString("\n")
	}
	fmt.Fprintf(bw, "Baseline `%s`, candidate `%s`. %s.\n\n", r.Baseline, r.Candidate, mdCell(r.intervalLine()))
	fmt.Fprintf(bw, "| detector | metric | baseline | candidate | Δ | %g%% CI of Δ | p | tolerance | status |\n", r.Bootstrap.Level*100)
	bw.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, d := range r.Detectors {
		for i := range d.Metrics {
			m := &d.Metrics[i]
			cells := []string{d.Detector, m.Metric, optValue(m.Metric, m.Baseline), optValue(m.Metric, m.Candidate),
				m.deltaText(), m.ciText(), m.pText(), m.toleranceText(), m.statusText()}
			for k := range cells {
				cells[k] = mdCell(cells[k])
				if m.Failed() {
					cells[k] = "**" + cells[k] + "**"
				}
			}
			fmt.Fprintf(bw, "| %s |\n", strings.Join(cells, " | "))
		}
	}
	bw.WriteString("\n")
	d := &r.AlertDiff
	switch {
	case !d.Available:
		bw.WriteString("Alerts not compared: a run has neither alerts.parquet nor a matches file.\n")
	case d.Empty():
		bw.WriteString("Alerts: identical (no alert appeared or disappeared).\n")
	default:
		fmt.Fprintf(bw, "<details><summary>Alerts: %d appeared, %d disappeared</summary>\n\n", d.Appeared, d.Disappeared)
		bw.WriteString("| detector | baseline | candidate | appeared | disappeared |\n|---|---:|---:|---:|---:|\n")
		for _, x := range d.Detectors {
			fmt.Fprintf(bw, "| %s | %d | %d | %d | %d |\n", mdCell(x.Detector), x.Baseline, x.Candidate, x.Appeared, x.Disappeared)
		}
		bw.WriteString("\n```diff\n")
		for i := range d.FirstDisappeared {
			fmt.Fprintf(bw, "- %s\n", d.FirstDisappeared[i].text())
		}
		for i := range d.FirstAppeared {
			fmt.Fprintf(bw, "+ %s\n", d.FirstAppeared[i].text())
		}
		bw.WriteString("```\n\n</details>\n")
	}
	if len(r.Notes) > 0 {
		bw.WriteString("\n")
		for _, n := range r.Notes {
			fmt.Fprintf(bw, "- note: %s\n", mdCell(n))
		}
	}
	return bw.Flush()
}

// JUnit converts the comparison to JUnit: one test suite per detector (and overall), one test
// case per metric; a regression is a failure, a metric undefined on a side is skipped.
func (r *Regression) JUnit() reports.JUnitSuites {
	out := reports.JUnitSuites{Name: "fds regress"}
	for _, d := range r.Detectors {
		s := reports.JUnitSuite{Name: d.Detector}
		for i := range d.Metrics {
			m := &d.Metrics[i]
			c := reports.JUnitCase{ClassName: "fds.regress." + d.Detector, Name: m.Metric}
			c.Output = fmt.Sprintf("baseline %s, candidate %s, delta %s, CI %s, p %s, tolerance %s: %s",
				optValue(m.Metric, m.Baseline), optValue(m.Metric, m.Candidate), m.deltaText(), m.ciText(),
				m.pText(), m.toleranceText(), m.statusText())
			switch {
			case m.Failed():
				c.Failure = &reports.JUnitProblem{Message: m.describe(d.Detector), Type: "regression", Detail: c.Output}
			case m.Status == StatusUndefined:
				c.Skipped = &reports.JUnitProblem{Message: m.Metric + " is undefined on a side (no alert, or nothing detected)"}
			}
			s.Cases = append(s.Cases, c)
		}
		out.Suites = append(out.Suites, s)
	}
	return out
}
