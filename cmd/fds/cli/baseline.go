package cli

import (
	"github.com/spf13/cobra"

	"github.com/fds-dev/fds/backtest"
)

func init() { register(newBaselineCmd) }

type baselineOptions struct {
	Run string
	Out string
}

func newBaselineCmd(app *App) *cobra.Command {
	var opts baselineOptions
	c := &cobra.Command{
		Use:   "baseline",
		Short: "Save a run as the baseline fds regress compares against",
		Long: `baseline writes the part of a run folder that fds regress needs, small and in text so that it can
be committed and its updates reviewed: metrics.json, config.yaml and matches.tsv (every alert's
key, score and outcome, and every missed incident). The folder is replaced whole and atomically.
Update a committed baseline on purpose only (see CONTRIBUTING.md): make baseline.`,
		Example: `  fds backtest --data data/demo --out runs/regress
  fds baseline --run runs/regress --out testdata/baseline`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if opts.Run == "" || opts.Out == "" {
				return usagef("baseline needs --run RUN and --out DIR")
			}
			if err := backtest.WriteBaseline(c.Context(), opts.Out, opts.Run); err != nil {
				return err
			}
			app.Infof("fds baseline: wrote %s from %s", opts.Out, opts.Run)
			return nil
		},
	}
	c.Flags().StringVar(&opts.Run, "run", "", "run folder written by fds backtest")
	c.Flags().StringVar(&opts.Out, "out", "", "baseline folder to write (replaced whole)")
	return c
}
