package cli

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/spf13/cobra"

	"github.com/fds-dev/fds/backtest"
)

func init() { register(newMergeCmd) }

type mergeOptions struct {
	Runs []string
	Out  string
	Data string
	JSON bool
}

func newMergeCmd(app *App) *cobra.Command {
	var opts mergeOptions
	c := &cobra.Command{
		Use:   "merge RUN... --out RUN",
		Short: "Combine the run folders of the shards of a backtest into one run",
		Long: `merge combines the run folders of fds backtest --shard 0/N ... N-1/N (same configuration,
every shard once) into one run folder, as if one machine had replayed every symbol: the shards'
alerts in canonical order, matched afresh against the labels of the dataset (--data, default the
dataset folder the shards recorded) over the time span of all their events. Matching decides per
symbol, so the merged matches and metrics.json equal those of an unsharded run (docs/scaling.md).`,
		Example: `  fds backtest --data data/demo --out runs/s0 --shard 0/2
  fds backtest --data data/demo --out runs/s1 --shard 1/2
  fds merge runs/s0 runs/s1 --out runs/all`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if opts.Out == "" {
				return usagef("merge needs --out RUN")
			}
			opts.Runs = args
			return runMerge(c.Context(), app, opts)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Out, "out", "", "run folder to write (replaced atomically if it exists)")
	f.StringVar(&opts.Data, "data", "", "dataset folder whose labels the alerts are matched against (default: the one the shards recorded)")
	f.BoolVar(&opts.JSON, "json", false, "print metrics.json on stdout instead of the table")
	return c
}

func runMerge(ctx context.Context, app *App, opts mergeOptions) error {
	if err := checkWritableParent(opts.Out); err != nil {
		return err
	}
	res, err := backtest.MergeRuns(backtest.MergeOptions{Runs: opts.Runs, DataDir: opts.Data})
	if err != nil {
		if errors.Is(err, backtest.ErrShards) {
			return &UsageError{Err: err}
		}
		return err
	}
	if err := backtest.WriteRunFolder(ctx, opts.Out, res); err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res.Metrics)
	}
	if err := writeMetricsTable(app.Stdout, res.Metrics); err != nil {
		return err
	}
	app.Infof("\nmerged %d shard runs: %d events, %d alerts. Run folder: %s", len(opts.Runs), res.Stats.Events, len(res.Alerts), opts.Out)
	return nil
}
