package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/detectors"
)

func init() { register(newEvaluateCmd) }

type evaluateOptions struct {
	Alerts     string
	Labels     string
	Out        string
	LeadS      float64
	ToleranceS float64
	From, To   string
	JSON       bool
}

func newEvaluateCmd(app *App) *cobra.Command {
	var opts evaluateOptions
	c := &cobra.Command{
		Use:   "evaluate",
		Short: "Score alerts from another system against labelled incidents",
		Long: `evaluate scores alerts produced by any system (an ML model, a vendor export, another
fds run) with the backtest's matcher and metrics, so that rules and models compare on one table.

--alerts is a Parquet file in the schema of a run's alerts.parquet, or a .csv file with a header
row and the columns detector, symbol, ts, score (required), type (required unless the detector is
an fds detector), accounts (';'-separated), window_start, window_end and note; times are RFC 3339
or integer microseconds (docs/tuning.md). --labels is a dataset folder or a Parquet file in the
labels schema. The run folder holds metrics.json, matches.parquet, alerts.parquet, manifest.json,
report.md and pr_curve.png.`,
		Example: `  fds evaluate --alerts model_alerts.csv --labels data/demo --out runs/model
  fds evaluate --alerts runs/demo/alerts.parquet --labels data/demo/labels.parquet --out runs/again`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if opts.Alerts == "" || opts.Labels == "" || opts.Out == "" {
				return usagef("evaluate needs --alerts FILE, --labels FILE|DIR and --out RUN")
			}
			return runEvaluate(c.Context(), app, opts)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Alerts, "alerts", "", "alerts: a Parquet file (alerts.parquet schema) or a .csv file")
	f.StringVar(&opts.Labels, "labels", "", "labelled incidents: a dataset folder or a labels Parquet file")
	f.StringVar(&opts.Out, "out", "", "run folder to write (replaced atomically if it exists)")
	f.Float64Var(&opts.LeadS, "lead-s", backtest.DefaultLeadSeconds, "an alert may precede an incident's start by this many seconds")
	f.Float64Var(&opts.ToleranceS, "tolerance-s", backtest.DefaultToleranceSeconds, "an alert may follow an incident's end by this many seconds")
	f.StringVar(&opts.From, "from", "", "start of the evaluated period, for alerts per day (default: earliest alert or incident)")
	f.StringVar(&opts.To, "to", "", "end of the evaluated period (default: latest alert or incident end)")
	f.BoolVar(&opts.JSON, "json", false, "print metrics.json on stdout instead of the table")
	return c
}

func parseFlagTime(flag, s string) (detectors.Micros, error) {
	if s == "" {
		return 0, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().UnixMicro(), nil
		}
	}
	return 0, usagef("--%s %q: want a UTC time such as 2024-03-01 or 2024-03-01T12:00:00Z", flag, s)
}

func runEvaluate(ctx context.Context, app *App, opts evaluateOptions) error {
	from, err := parseFlagTime("from", opts.From)
	if err != nil {
		return err
	}
	to, err := parseFlagTime("to", opts.To)
	if err != nil {
		return err
	}
	match := backtest.MatchSettings{LeadSeconds: opts.LeadS, ToleranceSeconds: opts.ToleranceS}
	if err := (backtest.Config{Match: match}).Validate(); err != nil {
		return &UsageError{Err: err}
	}
	if err := checkWritableParent(opts.Out); err != nil {
		return err
	}
	alerts, err := backtest.ReadAlertsFile(opts.Alerts)
	if err != nil {
		return err
	}
	incidents, err := backtest.ReadIncidents(opts.Labels)
	if err != nil {
		return err
	}
	ev, err := backtest.EvaluateAlerts(alerts, incidents, backtest.EvaluateOptions{
		Match: match, From: from, To: to, AlertsPath: opts.Alerts, LabelsPath: opts.Labels})
	if err != nil {
		return err
	}
	if err := backtest.WriteEvaluationFolder(ctx, opts.Out, ev); err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ev.Metrics)
	}
	if err := writeMetricsTable(app.Stdout, ev.Metrics); err != nil {
		return err
	}
	app.Infof("\n%d alerts of %d detector(s) scored against %d incidents. Run folder: %s (report: %s)",
		len(alerts), len(ev.Detectors), len(incidents), opts.Out, filepath.Join(opts.Out, backtest.ReportFile))
	if len(alerts) == 0 {
		app.Infof("fds: %s holds no alerts", opts.Alerts)
	}
	return nil
}
