package cli

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/fds-dev/fds/backtest"
)

// writeMetricsTable prints the per-detector table people read after a backtest.
func writeMetricsTable(w io.Writer, m backtest.Metrics) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "detector\tincidents\talerts\ttp\tfp\tfn\tprecision\trecall\tF1\tAP\tTTD median\talerts/day\t")
	names := make([]string, 0, len(m.Detectors))
	for n := range m.Detectors {
		names = append(names, n)
	}
	sort.Strings(names)
	row := func(name string, d backtest.DetectorMetrics) {
		ttd := "-"
		if d.TimeToDetect.Count > 0 {
			ttd = fmt.Sprintf("%.1fs", d.TimeToDetect.Median)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%s\t%.1f\t\n", name, d.Incidents, d.Alerts,
			d.TP, d.FP, d.FN, d.Precision, d.Recall, d.F1, d.AveragePrecision, ttd, d.AlertsPerDay)
	}
	for _, n := range names {
		row(n, m.Detectors[n])
	}
	row("overall", m.Overall)
	return tw.Flush()
}
