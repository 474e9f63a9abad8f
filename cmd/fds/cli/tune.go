package cli

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fds-dev/fds/backtest"
)

func init() { register(newTuneCmd) }

type tuneOptions struct {
	Data      string
	Grid      string
	Objective string
	Out       string
	Split     string
	Folds     int
	Seed      uint64
	Resamples int
	Level     float64
	Workers   int
	Verify    bool
}

func newTuneCmd(app *App) *cobra.Command {
	var opts tuneOptions
	c := &cobra.Command{
		Use:   "tune",
		Short: "Sweep detector parameters and thresholds on a dataset and choose a configuration",
		Long: `tune reads the dataset once and feeds every event to one detector instance per
configuration of the grid (docs/tuning.md), sweeps each configuration's score threshold from its
alerts' scores, ranks the configurations by the objective and writes a run folder: leaderboard.json
and leaderboard.md (in-sample and out-of-sample figures with bootstrap intervals), tuned.yaml (the
chosen configuration, loadable by fds backtest --config), curves.json, grid.yaml, manifest.json and
pr_curves.png.

Objectives: fbeta:BETA (maximise F-beta), recall@precision>=P, recall@alerts_per_day<=B,
min_alerts@recall>=R. Validation: --split FRACTION|TIME tunes on the data before the split and
reports the data after it; --folds K runs walk-forward validation over K+1 equal time blocks.
Without either every figure is in-sample.`,
		Example: `  fds tune --data data/demo --grid grid.yaml --objective fbeta:1 --split 0.7 --out runs/tune
  fds tune --data data/demo --grid grid.yaml --objective 'recall@precision>=0.8' --folds 4 --out runs/wf
  fds tune --data data/demo --grid grid.yaml --objective 'recall@alerts_per_day<=20' --split 2024-01-01T18:00:00Z --out runs/budget`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if opts.Data == "" || opts.Grid == "" || opts.Out == "" {
				return usagef("tune needs --data DIR, --grid GRID.yaml and --out RUN")
			}
			return runTune(c, app, opts)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Data, "data", "", "dataset folder (one Parquet file or folder per table)")
	f.StringVar(&opts.Grid, "grid", "", "grid file: the parameters to sweep (docs/tuning.md)")
	f.StringVar(&opts.Objective, "objective", "fbeta:1", "what to optimise: "+backtest.ObjectiveSyntax)
	f.StringVar(&opts.Out, "out", "", "run folder to write (replaced atomically if it exists)")
	f.StringVar(&opts.Split, "split", "", "tune before, report after: a fraction of the time span (0.7) or a UTC time (2024-03-01T00:00:00Z)")
	f.IntVar(&opts.Folds, "folds", 0, "walk-forward validation with K folds over K+1 equal time blocks")
	f.Uint64Var(&opts.Seed, "seed", 1, "seed of the bootstrap resampling")
	f.IntVar(&opts.Resamples, "resamples", backtest.DefaultResamples, "bootstrap resamples")
	f.Float64Var(&opts.Level, "level", backtest.DefaultCILevel, "confidence level of the bootstrap intervals")
	f.IntVar(&opts.Workers, "workers", 0, "goroutines sharing the detector instances (0: one per CPU)")
	f.BoolVar(&opts.Verify, "verify", false, "also backtest tuned.yaml (one more replay) and report its metrics, warning where they differ from the sweep's (always done for a detector that reads min_score)")
	return c
}

func runTune(c *cobra.Command, app *App, opts tuneOptions) error {
	obj, err := backtest.ParseObjective(opts.Objective)
	if err != nil {
		return &UsageError{Err: fmt.Errorf("--objective: %w", err)}
	}
	var val backtest.Validation
	if opts.Split != "" && opts.Folds != 0 {
		return usagef("--split and --folds exclude each other: choose one validation")
	}
	if opts.Split != "" {
		if val, err = backtest.ParseSplit(opts.Split); err != nil {
			return &UsageError{Err: err}
		}
	}
	if opts.Folds < 0 || opts.Folds > backtest.MaxFolds {
		return usagef("--folds %d: want a number of folds in [1, %d]", opts.Folds, backtest.MaxFolds)
	}
	val.Folds = opts.Folds
	if opts.Resamples < 1 {
		return usagef("--resamples %d: want at least 1", opts.Resamples)
	}
	if !(opts.Level > 0 && opts.Level < 1) {
		return usagef("--level %v: want a number strictly between 0 and 1", opts.Level)
	}
	if opts.Workers < 0 {
		return usagef("--workers %d: want 0 (one per CPU) or more", opts.Workers)
	}
	grid, err := backtest.LoadGrid(opts.Grid)
	if err != nil {
		return err
	}
	if err := checkWritableParent(opts.Out); err != nil {
		return err
	}
	sorter, closeSorter, err := openSorter(c.Context())
	if err != nil {
		return err
	}
	defer closeSorter()
	app.Infof("fds: sweeping %d configurations of %d detector(s) in one replay", grid.Size(), len(grid.Detectors))
	bar := newProgress(app, "replaying")
	res, err := backtest.Tune(c.Context(), backtest.TuneOptions{
		Options: backtest.Options{
			DataDir:  opts.Data,
			Sorter:   sorter,
			Notice:   func(s string) { app.Infof("fds: %s", s) },
			Progress: bar.Update,
		},
		Grid: grid, Objective: obj, Validation: val,
		Seed: opts.Seed, Resamples: opts.Resamples, Level: opts.Level, Workers: opts.Workers,
		Verify: opts.Verify,
	})
	bar.Finish()
	if err != nil {
		return err
	}
	if err := backtest.WriteTuneFolder(c.Context(), opts.Out, res); err != nil {
		return err
	}
	if err := writeTuneSummary(app.Stdout, res); err != nil {
		return err
	}
	for _, w := range res.Warnings {
		app.Infof("fds: warning: %s", w)
	}
	if !res.Feasible {
		var missing []string
		for _, d := range res.Detectors {
			if !d.Feasible {
				missing = append(missing, d.Detector)
			}
		}
		return fmt.Errorf("no configuration meets %s for %s: no tuned.yaml written (leaderboard: %s)",
			obj, strings.Join(missing, ", "), filepath.Join(opts.Out, backtest.LeaderboardMDFile))
	}
	verified := ""
	if _, ok := res.Manifest.TimingsSeconds["verify"]; ok {
		verified = ", and the choice backtested once more to verify it"
	}
	app.Infof("\n%d configurations, %d events replayed once%s, in %.2fs. Tuned configuration: %s (leaderboard: %s)",
		res.Configurations, res.Events, verified, res.Manifest.TimingsSeconds["total"],
		filepath.Join(opts.Out, backtest.TunedConfigFile), filepath.Join(opts.Out, backtest.LeaderboardMDFile))
	return nil
}

// writeTuneSummary prints each detector's choice with its in-sample and reported figures.
func writeTuneSummary(w io.Writer, res *backtest.TuneResult) error {
	if res == nil {
		return errors.New("no result")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	reported := "all-data"
	switch res.Validation.Mode {
	case "split":
		reported = "out-of-sample"
	case "walk_forward":
		reported = "walk-forward"
	}
	fmt.Fprintf(tw, "detector\tchosen\tmin_score\tin-sample objective\t%s P\tR\tF1\tF1 %g%% CI\t\n", reported, res.Bootstrap.Level*100)
	for _, d := range res.Detectors {
		if !d.Feasible || len(d.Leaderboard) == 0 {
			fmt.Fprintf(tw, "%s\t(none)\t-\t-\t-\t-\t-\t-\t\n", d.Detector)
			continue
		}
		best := d.Leaderboard[0]
		rep := best.Full
		switch {
		case best.OutOfSample != nil:
			rep = *best.OutOfSample
		case d.WalkForward != nil:
			rep = *d.WalkForward
		}
		ci := "-"
		if rep.CI != nil {
			ci = fmt.Sprintf("[%.3f, %.3f]", rep.CI.F1.Low, rep.CI.F1.High)
		}
		fmt.Fprintf(tw, "%s\t%s\t%g\t%.3f\t%.3f\t%.3f\t%.3f\t%s\t\n", d.Detector, d.Chosen, d.MinScore,
			best.InSample.Objective, rep.Precision, rep.Recall, rep.F1, ci)
	}
	return tw.Flush()
}
