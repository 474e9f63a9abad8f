package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/reports"
)

func init() { register(newBacktestCmd) }

type backtestOptions struct {
	Data      string
	Out       string
	Config    string
	Detectors string
	Sets      []string
	JSON      bool
	Report    string
	Strict    bool
	Verify    string
	Shard     string
	Workers   int
}

func newBacktestCmd(app *App) *cobra.Command {
	var opts backtestOptions
	c := &cobra.Command{
		Use:   "backtest",
		Short: "Replay a dataset through the detectors and score their alerts against its labels",
		Long: `backtest replays the dataset's event tables in event-time order through the configured
detectors (every registered detector at its defaults unless --config or --detectors say otherwise),
matches the alerts one-to-one to the labelled incidents and writes a run folder: metrics.json,
alerts.parquet, matches.parquet, config.yaml (the effective configuration), manifest.json
(inputs with hashes, row counts, timings), report.md and pr_curve.png.

Rows with a problem (a null in a required column, an unknown enum value, a NaN, negative or zero
price or quantity, an implausible ts, a repeated id) are rejected and counted by reason in
manifest.json, with the first examples by file, row and column; --strict fails at the first one
instead. Structural problems (a missing column, a corrupt file) always fail. --verify RUN re-checks
a run folder: its inputs against the hashes in its manifest, then a rerun with its config.yaml
against its alerts.parquet and metrics.json, byte for byte.`,
		Example: `  fds backtest --data data/demo --out runs/demo
  fds backtest --data data/demo --out runs/spoof --detectors spoofing --set spoofing.min_score=0.7
  fds backtest --data data/demo --out runs/tuned --config tuned.yaml --json
  fds backtest --verify runs/demo
  fds backtest --data data/demo --out runs/shard0 --shard 0/4   # then: fds merge runs/shard* --out runs/all`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if opts.Verify != "" {
				return runBacktestVerify(c, app, opts)
			}
			if opts.Data == "" || opts.Out == "" {
				return usagef("backtest needs --data DIR and --out RUN")
			}
			return runBacktest(c, app, opts)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Data, "data", "", "dataset folder (one Parquet file or folder per table)")
	f.StringVar(&opts.Out, "out", "", "run folder to write (replaced atomically if it exists)")
	f.StringVar(&opts.Config, "config", "", "YAML config file (detectors, parameters, matching windows)")
	f.StringVar(&opts.Detectors, "detectors", "", "comma-separated detectors to run (default: those in the config, else all)")
	f.StringArrayVar(&opts.Sets, "set", nil, "override a parameter: DETECTOR.PARAM=VALUE (repeatable, applied over --config)")
	f.BoolVar(&opts.JSON, "json", false, "print metrics.json on stdout instead of the table")
	f.BoolVar(&opts.Strict, "strict", false, "fail at the first row with a problem instead of rejecting it and counting it in manifest.json")
	f.StringVar(&opts.Verify, "verify", "", "re-check run folder RUN: input hashes, then a rerun with its config.yaml must give identical alerts.parquet and metrics.json (exit 1 with the reason if not)")
	f.StringVar(&opts.Shard, "shard", "", "process only the symbols of shard K of N (K/N, 0 <= K < N, by a stable hash of the symbol); combine the shard runs with fds merge (docs/scaling.md)")
	f.IntVar(&opts.Workers, "workers", 0, "goroutines for the replay: 1 runs decode, merge and detectors in line; 0 decodes tables ahead and runs detectors on every CPU (same alerts)")
	f.StringVar(&opts.Report, "report", "", "also write a report into RUN/report, as fds report does: comma-separated "+strings.Join(reports.ReportFormats, ", "))
	return c
}

// loadConfig builds the effective config from --config, --detectors and --set.
func loadConfig(path, selected string, sets []string) (backtest.Config, error) {
	cfg := backtest.DefaultConfig()
	if path != "" {
		var err error
		if cfg, err = backtest.LoadConfig(path); err != nil {
			return cfg, err
		}
	}
	if selected != "" {
		if err := cfg.Select(strings.Split(selected, ",")); err != nil {
			return cfg, &UsageError{Err: fmt.Errorf("--detectors: %w", err)}
		}
	}
	for _, s := range sets {
		if err := cfg.Set(s); err != nil {
			return cfg, &UsageError{Err: err}
		}
	}
	if len(cfg.Detectors) == 0 {
		return cfg, usagef("no detector to run")
	}
	return cfg, nil
}

func runBacktest(c *cobra.Command, app *App, opts backtestOptions) error {
	cfg, err := loadConfig(opts.Config, opts.Detectors, opts.Sets)
	if err != nil {
		return err
	}
	if opts.Report != "" {
		if _, err := reports.ParseReportFormats(opts.Report); err != nil {
			return &UsageError{Err: fmt.Errorf("--report: %w", err)}
		}
	}
	var shard backtest.Shard
	if opts.Shard != "" {
		if shard, err = backtest.ParseShard(opts.Shard); err != nil {
			return &UsageError{Err: fmt.Errorf("--shard: %w", err)}
		}
		if cross := backtest.CrossSymbolDetectors(cfg.DetectorNames()); len(cross) > 0 {
			return usagef("--shard: detector %s relates events of different symbols (CrossSymbol) and needs every symbol: run it unsharded, or leave it out with --detectors", strings.Join(cross, ", "))
		}
	}
	if opts.Workers < 0 {
		return usagef("--workers: want 0 (automatic) or a positive number, got %d", opts.Workers)
	}
	if err := checkWritableParent(opts.Out); err != nil {
		return err
	}
	sorter, closeSorter, err := openSorter(c.Context())
	if err != nil {
		return err
	}
	defer closeSorter()
	bar := newProgress(app, "replaying")
	res, err := backtest.Run(c.Context(), backtest.Options{
		DataDir:  opts.Data,
		Config:   cfg,
		Sorter:   sorter,
		Notice:   func(s string) { app.Infof("fds: %s", s) },
		Progress: bar.Update,
		Strict:   opts.Strict,
		Shard:    shard,
		Workers:  opts.Workers,
	})
	bar.Finish()
	if err != nil {
		return err
	}
	if err := backtest.WriteRunFolder(c.Context(), opts.Out, res); err != nil {
		return err
	}
	if opts.Report != "" {
		rep := defaultReportOptions(opts.Out, opts.Report)
		if err := runReport(c.Context(), &App{Stdout: app.Stderr, Stderr: app.Stderr, Quiet: app.Quiet}, rep); err != nil {
			return err
		}
	}
	if opts.JSON {
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res.Metrics)
	}
	if err := writeMetricsTable(app.Stdout, res.Metrics); err != nil {
		return err
	}
	app.Infof("\n%d events replayed in %.2fs; %d alerts. Run folder: %s (report: %s)",
		res.Stats.Events, res.Manifest.TimingsSeconds["total"], len(res.Alerts), opts.Out,
		filepath.Join(opts.Out, "report.md"))
	return nil
}

// checkWritableParent fails early, before any work, when the run folder cannot be created.
func checkWritableParent(out string) error {
	parent := filepath.Dir(filepath.Clean(out))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", out, err)
	}
	f, err := os.CreateTemp(parent, ".fds-write-check-")
	if err != nil {
		return fmt.Errorf("--out %s: folder %s is not writable: %w", out, parent, unwrapPathError(err))
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
