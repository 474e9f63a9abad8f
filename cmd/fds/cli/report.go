package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/reports"
)

func init() { register(newReportCmd) }

type reportOptions struct {
	Run          string
	Formats      string
	Out          string
	Data         string
	Redact       bool
	RedactKey    string
	RedactKeyEnv string
	Timelines    int
	Cases        int
	Resamples    int
	Seed         uint64
}

func newReportCmd(app *App) *cobra.Command {
	var opts reportOptions
	c := &cobra.Command{
		Use:   "report RUN",
		Short: "Write a publishable report of a run: PDF, HTML page, Markdown summary and figures",
		Long: `report reads a run folder written by fds backtest and writes, into RUN/report unless --out says
otherwise: report.pdf (run identity, dataset summary, metrics, detector comparison with bootstrap
intervals, alerts by incident type, the figures, the misses and false alerts with their evidence,
the configuration), report.html (the same, one self-contained page), summary.md (a short summary
for a pull request) and figures/*.png; --format vector adds the figures as vector PDF.

Figures: PR curves, threshold curves per detector, time-to-detect distributions, the detector
comparison, the alerts-by-type table, and timelines of the worst misses and false alerts (prices
from the run's dataset, found at the path its manifest records, or --data).

--redact replaces every account id by a keyed hash (HMAC-SHA256); the key comes from a file
(--redact-key) or an environment variable (--redact-key-env) and must be at least 16 bytes. The
same input gives byte-identical files (docs/reports.md).`,
		Example: `  fds report runs/demo
  fds report runs/demo --format pdf,html --out reports/demo
  FDS_REDACT_KEY=$(cat key) fds report runs/demo --redact --redact-key-env FDS_REDACT_KEY --out outbox/demo`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("report takes one run folder, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			opts.Run = args[0]
			return runReport(c.Context(), app, opts)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Formats, "format", reports.DefaultReportFormats, "comma-separated outputs: "+strings.Join(reports.ReportFormats, ", "))
	f.BoolVar(&opts.Redact, "redact", false, "replace account ids by keyed hashes (needs --redact-key or --redact-key-env)")
	f.StringVar(&opts.RedactKey, "redact-key", "", "file holding the redaction key, at least 16 bytes (trailing newline ignored)")
	f.StringVar(&opts.RedactKeyEnv, "redact-key-env", "", "environment variable holding the redaction key")
	f.StringVar(&opts.Out, "out", "", "report folder to write (default RUN/report; replaced atomically)")
	f.StringVar(&opts.Data, "data", "", "dataset folder of the run (default: the manifest's data_dir)")
	f.IntVar(&opts.Timelines, "timelines", backtest.DefaultReportTimelines, "timelines drawn for the worst misses and for the worst false alerts each (0: none)")
	f.IntVar(&opts.Cases, "cases", backtest.DefaultReportCases, "misses and false alerts listed with their evidence, each")
	f.IntVar(&opts.Resamples, "resamples", backtest.DefaultResamples, "bootstrap resamples of the comparison's intervals (0: no intervals)")
	f.Uint64Var(&opts.Seed, "seed", backtest.DefaultReportSeed, "seed of the bootstrap")
	return c
}

// reportRedactor checks the redaction flags and reads the key.
func reportRedactor(opts reportOptions) (*reports.Redactor, error) {
	keyGiven := opts.RedactKey != "" || opts.RedactKeyEnv != ""
	if !opts.Redact {
		if keyGiven {
			return nil, usagef("--redact-key and --redact-key-env need --redact")
		}
		return nil, nil
	}
	if !keyGiven {
		return nil, usagef("refusing to redact without a key: give --redact-key FILE or --redact-key-env VAR")
	}
	if opts.RedactKey != "" && opts.RedactKeyEnv != "" {
		return nil, usagef("give the redaction key once: --redact-key or --redact-key-env, not both")
	}
	var key []byte
	if opts.RedactKey != "" {
		b, err := os.ReadFile(opts.RedactKey)
		if err != nil {
			return nil, fmt.Errorf("--redact-key %s: %w", opts.RedactKey, unwrapPathError(err))
		}
		key = bytes.TrimRight(b, "\r\n")
	} else {
		v, ok := os.LookupEnv(opts.RedactKeyEnv)
		if !ok || v == "" {
			return nil, usagef("--redact-key-env %s: the variable is not set or empty", opts.RedactKeyEnv)
		}
		key = []byte(v)
	}
	r, err := reports.NewRedactor(key)
	if err != nil {
		return nil, usagef("redaction key: %v", err)
	}
	return r, nil
}

// reportFolder is where a run's report goes: out, or RUN/report. It refuses a folder that would
// replace the run folder itself.
func reportFolder(run, out string) (string, error) {
	if out == "" {
		return filepath.Join(run, "report"), nil
	}
	absRun, err1 := filepath.Abs(run)
	absOut, err2 := filepath.Abs(out)
	if err1 == nil && err2 == nil {
		if rel, err := filepath.Rel(absOut, absRun); err == nil && !strings.HasPrefix(rel, "..") {
			return "", usagef("--out %s holds the run folder %s: the report folder is replaced whole, give another folder", out, run)
		}
	}
	return out, nil
}

// defaultReportOptions are fds report's defaults, for fds backtest --report.
func defaultReportOptions(run, formats string) reportOptions {
	return reportOptions{Run: run, Formats: formats, Timelines: backtest.DefaultReportTimelines,
		Cases: backtest.DefaultReportCases, Resamples: backtest.DefaultResamples, Seed: backtest.DefaultReportSeed}
}

func runReport(ctx context.Context, app *App, opts reportOptions) error {
	t0 := time.Now()
	formats, err := reports.ParseReportFormats(opts.Formats)
	if err != nil {
		return &UsageError{Err: fmt.Errorf("--format: %w", err)}
	}
	red, err := reportRedactor(opts)
	if err != nil {
		return err
	}
	out, err := reportFolder(opts.Run, opts.Out)
	if err != nil {
		return err
	}
	timelines := opts.Timelines
	if timelines == 0 {
		timelines = -1
	}
	resamples := opts.Resamples
	if resamples == 0 {
		resamples = -1
	}
	if opts.Cases < 1 {
		return usagef("--cases must be at least 1")
	}
	doc, err := backtest.BuildReport(opts.Run, backtest.ReportOptions{
		DataDir: opts.Data, Redactor: red, Timelines: timelines, MaxCases: opts.Cases,
		Resamples: resamples, Seed: opts.Seed, Generator: "fds " + Version,
		Notice: func(s string) { app.Infof("fds: %s", s) },
	})
	if err != nil {
		return err
	}
	written, err := reports.WriteReportFolder(ctx, out, doc, formats)
	if err != nil {
		return err
	}
	if len(written) == 0 {
		return errors.New("report: nothing written")
	}
	figures := 0
	for _, w := range written {
		if strings.HasPrefix(w, reports.FiguresDir+"/") {
			figures++
			continue
		}
		fmt.Fprintln(app.Stdout, filepath.Join(out, filepath.FromSlash(w)))
	}
	if figures > 0 {
		fmt.Fprintf(app.Stdout, "%s (%d files)\n", filepath.Join(out, reports.FiguresDir), figures)
	}
	app.Infof("report of %s written to %s in %.2fs", opts.Run, out, time.Since(t0).Seconds())
	return nil
}
