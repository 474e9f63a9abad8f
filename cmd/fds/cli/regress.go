package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/internal/fsutil"
	"github.com/fds-dev/fds/reports"
)

func init() { register(newRegressCmd) }

type regressOptions struct {
	Baseline           string
	Candidate          string
	Tolerances         []string
	TolerancesFile     string
	Format             string
	Output             string
	JUnit              string
	Markdown           string
	Bootstrap          int
	Seed               uint64
	Level              float64
	List               int
	RequireSignificant bool
}

var regressFormats = []string{"text", "markdown", "json", "junit"}

func newRegressCmd(app *App) *cobra.Command {
	var opts regressOptions
	c := &cobra.Command{
		Use:   "regress",
		Short: "Compare a candidate run with a baseline and fail on a regression (the CI gate)",
		Long: `regress compares two runs (run folders written by fds backtest, baseline folders written by
fds baseline, or bare metrics.json files) detector by detector: precision, recall, F1, average
precision, alerts per day and median time-to-detect, each with the change, a paired bootstrap
confidence interval of the change and its p-value (when both runs have their matches), and a
verdict against the tolerances. A metric regresses when it worsens by more than its tolerance (a
drop, or a rise for alerts per day and time-to-detect); a detector of the baseline missing from
the candidate regresses too. It also lists the alerts that appeared or disappeared, paired by
detector, symbol, accounts and time.

Tolerances default to 0.01 for precision, recall, F1 and AP and 10% for alerts per day and
time-to-detect; --tolerances FILE and then each --tolerance override them (docs/ci.md).

Exit codes: 0 no regression, 3 a regression, 1 an error (unreadable run), 2 a usage error.`,
		Example: `  fds regress --baseline testdata/baseline --candidate runs/regress
  fds regress --baseline runs/main --candidate runs/pr --tolerance recall=0.02 --tolerance spoofing.precision=0.05
  fds regress --baseline runs/main --candidate runs/pr --format markdown --output regress.md --junit regress.xml
  fds regress --baseline testdata/baseline --candidate runs/regress --markdown regress.md --junit regress.xml`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if opts.Baseline == "" || opts.Candidate == "" {
				return usagef("regress needs --baseline RUN and --candidate RUN")
			}
			return runRegress(app, opts)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Baseline, "baseline", "", "baseline: a run folder, a baseline folder or a metrics.json")
	f.StringVar(&opts.Candidate, "candidate", "", "candidate: a run folder, a baseline folder or a metrics.json")
	f.StringArrayVar(&opts.Tolerances, "tolerance", nil, "METRIC=TOL or DETECTOR.METRIC=TOL, TOL absolute (0.02) or relative (10%); repeatable")
	f.StringVar(&opts.TolerancesFile, "tolerances", "", "YAML file of tolerances (metrics: and detectors: sections; see docs/ci.md)")
	f.StringVar(&opts.Format, "format", "text", "output format: "+strings.Join(regressFormats, ", "))
	f.StringVar(&opts.Output, "output", "", "write the report to FILE (atomically) instead of stdout")
	f.StringVar(&opts.JUnit, "junit", "", "also write JUnit XML to FILE")
	f.StringVar(&opts.Markdown, "markdown", "", "also write the Markdown report (for a pull-request comment) to FILE")
	f.IntVar(&opts.Bootstrap, "bootstrap", 1000, "bootstrap resamples for the intervals (0: none)")
	f.Uint64Var(&opts.Seed, "seed", 1, "seed of the bootstrap resampling")
	f.Float64Var(&opts.Level, "level", 0.95, "confidence level of the intervals")
	f.IntVar(&opts.List, "list", 10, "how many appeared and disappeared alerts to list (each)")
	f.BoolVar(&opts.RequireSignificant, "require-significant", false, "count a worsening beyond tolerance only when it is also significant")
	return c
}

// regressSettings turns the flags into comparison options; every mistake is a usage error.
func regressSettings(opts regressOptions) (backtest.RegressOptions, error) {
	ro := backtest.RegressOptions{Tolerances: backtest.DefaultTolerances(), Replicates: opts.Bootstrap,
		Seed: opts.Seed, Level: opts.Level, List: opts.List, RequireSignificant: opts.RequireSignificant}
	valid := false
	for _, f := range regressFormats {
		valid = valid || opts.Format == f
	}
	if !valid {
		return ro, usagef("--format %q: want %s", opts.Format, strings.Join(regressFormats, ", "))
	}
	if opts.Bootstrap < 0 {
		return ro, usagef("--bootstrap %d: want 0 or more resamples", opts.Bootstrap)
	}
	if !(opts.Level > 0 && opts.Level < 1) {
		return ro, usagef("--level %v: want a confidence level between 0 and 1, e.g. 0.95", opts.Level)
	}
	if opts.List < 0 {
		return ro, usagef("--list %d: want 0 or more", opts.List)
	}
	if opts.TolerancesFile != "" {
		var err error
		if ro.Tolerances, err = backtest.LoadTolerances(opts.TolerancesFile, ro.Tolerances); err != nil {
			return ro, &UsageError{Err: err}
		}
	}
	for _, s := range opts.Tolerances {
		if err := ro.Tolerances.Set(s); err != nil {
			return ro, &UsageError{Err: err}
		}
	}
	return ro, nil
}

func runRegress(app *App, opts regressOptions) error {
	ro, err := regressSettings(opts)
	if err != nil {
		return err
	}
	base, err := backtest.LoadRegressRun(opts.Baseline)
	if err != nil {
		return fmt.Errorf("--baseline: %w", err)
	}
	cand, err := backtest.LoadRegressRun(opts.Candidate)
	if err != nil {
		return fmt.Errorf("--candidate: %w", err)
	}
	r := backtest.Compare(base, cand, ro)

	var out bytes.Buffer
	if err := renderRegression(&out, r, opts.Format); err != nil {
		return err
	}
	if opts.Output != "" {
		if err := fsutil.WriteFile(opts.Output, out.Bytes(), 0o644); err != nil {
			return fmt.Errorf("--output: %w", err)
		}
	} else if _, err := app.Stdout.Write(out.Bytes()); err != nil {
		return err
	}
	if opts.JUnit != "" {
		if err := reports.WriteJUnitFile(opts.JUnit, r.JUnit()); err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
	}
	if opts.Markdown != "" {
		var md bytes.Buffer
		if err := r.WriteMarkdown(&md); err != nil {
			return err
		}
		if err := fsutil.WriteFile(opts.Markdown, md.Bytes(), 0o644); err != nil {
			return fmt.Errorf("--markdown: %w", err)
		}
	}
	if opts.Output != "" || opts.Format != "text" {
		app.Infof("fds regress: %s", r.Summary())
	}
	if !r.Passed() {
		return &RegressionError{Msg: r.Summary()}
	}
	return nil
}

func renderRegression(w io.Writer, r *backtest.Regression, format string) error {
	switch format {
	case "markdown":
		return r.WriteMarkdown(w)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(r)
	case "junit":
		return reports.WriteJUnit(w, r.JUnit())
	}
	return r.WriteText(w)
}
