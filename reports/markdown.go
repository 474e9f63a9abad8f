package reports

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Field is one named value of a run's identity (run id, dataset, detectors, config hash, ...).
type Field struct {
	Name  string
	Value string
}

// MetricsRow is one line of report.md's table: a detector's figures, or the overall ones.
type MetricsRow struct {
	Detector         string
	Alerts           int
	Incidents        int
	TP               int
	FP               int
	FN               int
	Duplicates       int
	Precision        float64
	Recall           float64
	F1               float64
	AveragePrecision float64
	// TTDMedianS is the median time-to-detect in seconds, meaningful when TTDCount > 0.
	TTDCount     int
	TTDMedianS   float64
	AlertsPerDay float64
}

// TypeCount is a number of incidents of one type.
type TypeCount struct {
	Type      string
	Incidents int
}

// Report is what report.md shows. Everything is given by the caller: the renderer reads no
// clock and no environment, so the same Report gives the same bytes.
type Report struct {
	// Title defaults to "Backtest report".
	Title string
	// Identity is listed in the given order.
	Identity  []Field
	Detectors []MetricsRow
	// Overall, when set, is the table's last line, in bold.
	Overall *MetricsRow
	// Uncovered counts labelled incidents of types no detector of the run detects.
	Uncovered []TypeCount
	// PRPlot is the PR plot's path relative to report.md; empty for none.
	PRPlot string
	Notes  []string
}

// WriteMarkdown renders r as GitHub-flavoured Markdown.
func WriteMarkdown(w io.Writer, r Report) error {
	bw := bufio.NewWriter(w)
	title := r.Title
	if title == "" {
		title = "Backtest report"
	}
	fmt.Fprintf(bw, "# %s\n\n", oneLine(title))
	if len(r.Identity) > 0 {
		fmt.Fprintf(bw, "## Run\n\n")
		for _, f := range r.Identity {
			fmt.Fprintf(bw, "- **%s**: %s\n", oneLine(f.Name), oneLine(f.Value))
		}
		fmt.Fprintln(bw)
	}

	fmt.Fprintf(bw, "## Detection quality\n\n")
	if len(r.Detectors) == 0 && r.Overall == nil {
		fmt.Fprintf(bw, "No detector ran.\n\n")
	} else {
		fmt.Fprintln(bw, "| Detector | Alerts | Incidents | TP | FP (dup.) | FN | Precision | Recall | F1 | AP | TTD median (s) | Alerts/day |")
		fmt.Fprintln(bw, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
		for _, row := range r.Detectors {
			writeRow(bw, row, false)
		}
		if r.Overall != nil {
			writeRow(bw, *r.Overall, true)
		}
		fmt.Fprintln(bw)
		fmt.Fprintln(bw, "Event-level, one-to-one matching of alerts to labelled incidents (docs/metrics.md). "+
			"FP (dup.): false positives, of which repeats inside an already-detected incident's window. "+
			"Precision is 0 with no alerts and recall 0 with no incidents (scikit-learn's zero_division=0). "+
			"AP: average precision with recall relative to all incidents. "+
			"TTD: time from incident start to the detector's first eligible alert.")
		fmt.Fprintln(bw)
	}

	if len(r.Uncovered) > 0 {
		fmt.Fprintf(bw, "## Incidents no detector covers\n\n")
		fmt.Fprintf(bw, "Labelled incidents of these types are not counted anywhere: no detector of the run detects them.\n\n")
		for _, u := range r.Uncovered {
			fmt.Fprintf(bw, "- %s: %d\n", oneLine(u.Type), u.Incidents)
		}
		fmt.Fprintln(bw)
	}

	if r.PRPlot != "" {
		fmt.Fprintf(bw, "## Precision–recall curves\n\n![Precision-recall curves](%s)\n\n", r.PRPlot)
	}

	if len(r.Notes) > 0 {
		fmt.Fprintf(bw, "## Notes\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(bw, "- %s\n", oneLine(n))
		}
		fmt.Fprintln(bw)
	}
	return bw.Flush()
}

func writeRow(w io.Writer, r MetricsRow, bold bool) {
	name := cell(r.Detector)
	if bold {
		name = "**" + name + "**"
	}
	ttd := "–"
	if r.TTDCount > 0 {
		ttd = fmt.Sprintf("%.1f", r.TTDMedianS)
	}
	fmt.Fprintf(w, "| %s | %d | %d | %d | %d (%d) | %d | %.3f | %.3f | %.3f | %.3f | %s | %.2f |\n",
		name, r.Alerts, r.Incidents, r.TP, r.FP, r.Duplicates, r.FN,
		r.Precision, r.Recall, r.F1, r.AveragePrecision, ttd, r.AlertsPerDay)
}

// cell makes s safe inside a table cell: one line, pipes escaped.
func cell(s string) string { return strings.ReplaceAll(oneLine(s), "|", `\|`) }

// oneLine folds line breaks so a value cannot break the document's structure.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(s)), " ")
}
