package reports

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"
)

// summaryCases bounds the misses and false alerts a Markdown summary lists: a pull request
// comment should stay short; the PDF and HTML list more.
const summaryCases = 5

// WriteSummaryMarkdown writes the document as a Markdown summary for a pull request: the run,
// the metrics table (as report.md writes it), the detector comparison with its intervals, the
// alerts by incident type, the first few misses and false alerts, and links to the figures
// under figureDir (relative to the summary; empty for no links).
func WriteSummaryMarkdown(w io.Writer, doc *Document, figs []*Figure, figureDir string) error {
	var head bytes.Buffer
	r := Report{Title: doc.Title, Identity: doc.Identity, Detectors: doc.Metrics, Overall: doc.Overall, Uncovered: doc.Uncovered}
	if doc.Redaction != "" {
		r.Identity = append(append([]Field(nil), r.Identity...), Field{Name: "account ids", Value: "redacted: " + doc.Redaction})
	}
	if err := WriteMarkdown(&head, r); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.Write(head.Bytes())

	if len(doc.Comparison) > 0 {
		fmt.Fprintf(bw, "## Detector comparison\n\n")
		fmt.Fprintln(bw, "| Detector | Precision | Recall | F1 |")
		fmt.Fprintln(bw, "|---|--:|--:|--:|")
		for _, c := range doc.Comparison {
			fmt.Fprintf(bw, "| %s | %.3f%s | %.3f%s | %.3f%s |\n", cell(c.Detector),
				c.Precision, formatCI(c.PrecisionCI), c.Recall, formatCI(c.RecallCI), c.F1, formatCI(c.F1CI))
		}
		fmt.Fprintln(bw)
		if doc.CINote != "" {
			fmt.Fprintf(bw, "Brackets: %s.\n\n", oneLine(doc.CINote))
		}
	}

	if c := doc.Confusion; len(c.Detectors) > 0 {
		fmt.Fprintf(bw, "## Alerts by incident type\n\n")
		fmt.Fprint(bw, "| Detector |")
		for _, t := range c.Types {
			fmt.Fprintf(bw, " %s |", cell(t))
		}
		fmt.Fprintln(bw, " no incident | alerts |")
		fmt.Fprint(bw, "|---|")
		fmt.Fprint(bw, strings.Repeat("--:|", len(c.Types)+2))
		fmt.Fprintln(bw)
		for d, det := range c.Detectors {
			fmt.Fprintf(bw, "| %s |", cell(det))
			for t := range c.Types {
				v := fmt.Sprint(c.Counts[d][t])
				if c.Types[t] == c.Own[d] {
					v = "**" + v + "**"
				}
				fmt.Fprintf(bw, " %s |", v)
			}
			fmt.Fprintf(bw, " %d | %d |\n", c.Outside[d], c.Alerts[d])
		}
		fmt.Fprintln(bw)
		fmt.Fprintf(bw, "%s Bold: the type the detector is scored on.\n\n", strings.ReplaceAll(confusionExplanation, " * marks the type the detector is scored on.", ""))
	}

	if doc.MissesTotal > 0 {
		fmt.Fprintf(bw, "## Missed incidents (%d)\n\n", doc.MissesTotal)
		for i, m := range doc.Misses {
			if i == summaryCases {
				fmt.Fprintf(bw, "- … %d more in the PDF and HTML reports\n", doc.MissesTotal-summaryCases)
				break
			}
			fmt.Fprintf(bw, "- **%s** missed `%s` (%s) on %s, %s to %s; accounts %s; nearest alert: %s\n",
				cell(m.Detector), cell(m.IncidentID), cell(m.Type), cell(m.Symbol), FormatTime(m.Start), FormatTime(m.End),
				cell(formatAccounts(m.Accounts)), cell(nearestText(m.Nearest)))
		}
		fmt.Fprintln(bw)
	}
	if doc.FalseAlertsTotal > 0 {
		fmt.Fprintf(bw, "## False alerts (%d)\n\n", doc.FalseAlertsTotal)
		for i, a := range doc.FalseAlerts {
			if i == summaryCases {
				fmt.Fprintf(bw, "- … %d more in the PDF and HTML reports\n", doc.FalseAlertsTotal-summaryCases)
				break
			}
			dup := ""
			if a.Duplicate {
				dup = " (repeat on a detected incident)"
			}
			fmt.Fprintf(bw, "- **%s** on %s at %s, score %s%s; accounts %s; features: %s\n",
				cell(a.Detector), cell(a.Symbol), FormatTime(a.TS), formatScore(a.Score), dup,
				cell(formatAccounts(a.Accounts)), cell(formatFeatures(a.Features)))
		}
		fmt.Fprintln(bw)
	}

	if figureDir != "" && len(figs) > 0 {
		fmt.Fprintf(bw, "## Figures\n\n")
		for _, f := range figs {
			fmt.Fprintf(bw, "- [%s](%s)\n", oneLine(f.Title), path.Join(figureDir, f.Name+".png"))
		}
		fmt.Fprintln(bw)
	}
	if len(doc.Notes) > 0 {
		fmt.Fprintf(bw, "## Notes\n\n")
		for _, n := range doc.Notes {
			fmt.Fprintf(bw, "- %s\n", oneLine(n))
		}
		fmt.Fprintln(bw)
	}
	return bw.Flush()
}
