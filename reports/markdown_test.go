package reports

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteMarkdown(t *testing.T) {
	overall := MetricsRow{Detector: "overall", Alerts: 7, Incidents: 5, TP: 4, FP: 3, Duplicates: 1, FN: 1,
		Precision: 4.0 / 7, Recall: 0.8, F1: 8.0 / 12, AveragePrecision: 0.61, TTDCount: 4, TTDMedianS: 12.25, AlertsPerDay: 3.5}
	r := Report{
		Identity: []Field{{"Run", "run-42"}, {"Dataset", "data/synth\nsecond line"}},
		Detectors: []MetricsRow{
			{Detector: "spoofing", Alerts: 5, Incidents: 4, TP: 4, FP: 1, FN: 0, Precision: 0.8, Recall: 1, F1: 8.0 / 9,
				AveragePrecision: 0.95, TTDCount: 4, TTDMedianS: 12.25, AlertsPerDay: 2.5},
			{Detector: "odd|name", Alerts: 2, Incidents: 1, FP: 2, Duplicates: 1, FN: 1, AlertsPerDay: 1},
		},
		Overall:   &overall,
		Uncovered: []TypeCount{{"layering", 3}},
		PRPlot:    "pr.png",
		Notes:     []string{"table labels is absent"},
	}
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, r); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	// Table cells: 3 decimals for ratios (8/9 = 0.889), 1 for the TTD median, "–" with no
	// detected incident, 2 for alerts/day; the pipe in a name is escaped; the overall row is bold.
	for _, want := range []string{
		"# Backtest report\n",
		"- **Run**: run-42\n",
		"- **Dataset**: data/synth second line\n",
		"| spoofing | 5 | 4 | 4 | 1 (0) | 0 | 0.800 | 1.000 | 0.889 | 0.950 | 12.2 | 2.50 |\n",
		"| odd\\|name | 2 | 1 | 0 | 2 (1) | 1 | 0.000 | 0.000 | 0.000 | 0.000 | – | 1.00 |\n",
		"| **overall** | 7 | 5 | 4 | 3 (1) | 1 | 0.571 | 0.800 | 0.667 | 0.610 | 12.2 | 3.50 |\n",
		"- layering: 3\n",
		"![Precision-recall curves](pr.png)",
		"- table labels is absent\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report.md lacks %q\n%s", want, got)
		}
	}
	// Sections come in a fixed order.
	order := []string{"## Run", "## Detection quality", "## Incidents no detector covers", "## Precision–recall curves", "## Notes"}
	last := -1
	for _, h := range order {
		i := strings.Index(got, h)
		if i <= last {
			t.Errorf("section %q out of order", h)
		}
		last = i
	}
	var again bytes.Buffer
	WriteMarkdown(&again, r)
	if again.String() != got {
		t.Error("same report rendered twice differs")
	}
}

func TestWriteMarkdownEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, Report{Title: "Tuning"}); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "# Tuning\n\n## Detection quality\n\nNo detector ran.\n\n" {
		t.Errorf("empty report = %q", got)
	}
}
