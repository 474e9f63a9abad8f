package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fds-dev/fds/backtest"
)

// runBacktestVerify is fds backtest --verify RUN: the run folder's inputs against the hashes in
// its manifest, then a rerun with its config.yaml against its alerts.parquet and metrics.json.
// A mismatch is exit status 1 with the reason on one line.
func runBacktestVerify(c *cobra.Command, app *App, opts backtestOptions) error {
	for _, name := range []string{"out", "config", "detectors", "set", "strict", "report"} {
		if fl := c.Flags().Lookup(name); fl != nil && fl.Changed {
			return usagef("--verify takes the configuration from the run folder: drop --%s (only --data may point at the dataset's new place)", name)
		}
	}
	sorter, closeSorter, err := openSorter(c.Context())
	if err != nil {
		return err
	}
	defer closeSorter()
	v, err := backtest.Verify(c.Context(), opts.Verify, backtest.VerifyOptions{DataDir: opts.Data, Sorter: sorter})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(app.Stdout, "verified %s: %d input file%s unchanged in %s; a rerun gives identical %s (%d alerts, sha256 %s) and %s (sha256 %s)\n",
		opts.Verify, v.Inputs, plural(v.Inputs), v.DataDir, backtest.AlertsFile, v.Alerts, v.AlertsSHA256[:16], backtest.MetricsFile, v.MetricsSHA256[:16])
	return err
}
