package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fds-dev/fds/datasets/importers"
	"github.com/fds-dev/fds/detectors"
)

func init() { registerSub("datasets", newDatasetsImportCmd) }

type datasetsImportOptions struct {
	Format        string
	Out           string
	Symbol        string
	TimeUnit      string
	Quotes        []string
	Aliases       []string
	Date          string
	Timezone      string
	LabelExchange string
	LabelLead     time.Duration
	LabelDuration time.Duration
	Inputs        []string
}

func newDatasetsImportCmd(app *App) *cobra.Command {
	var opts datasetsImportOptions
	var formats []string
	for _, f := range importers.Formats() {
		formats = append(formats, fmt.Sprintf("  %-16s %s", f.Name, f.Summary))
	}
	c := &cobra.Command{
		Use:   "import --format FORMAT --out DIR INPUT...",
		Short: "Import exchange or research files into a dataset folder",
		Long: "Import converts files of a known format into the canonical tables of a dataset folder. It adds\n" +
			"or replaces only the tables it produces, each atomically; a file it cannot map fails the whole\n" +
			"import with one line naming the file, line and column, and nothing is written.\n\nFormats:\n" +
			strings.Join(formats, "\n") + "\n\nThe mapping of every format, and the normalisation of timestamps, sides and symbols,\nis in docs/importers.md.",
		Example: `  fds datasets import --format ccxt-trades --out data/pnd ../shared/data/pnd-binance-trades/*.csv.gz
  fds datasets import --format pump-labels --out data/pnd '../shared/data/pnd-binance-trades/P&Ds.csv' \
      ../shared/data/pnd-sapienza-labels/pump_telegram.csv ../shared/data/pnd-binance-labels-498/pumps.json
  fds datasets import --format lobster --out data/amzn ../shared/data/lobster-amzn-2021-l3/*_message_*.csv`,
		RunE: func(c *cobra.Command, args []string) error {
			opts.Inputs = args
			return runDatasetsImport(c.Context(), app, app.Stdout, opts)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Format, "format", "", "input format: "+strings.Join(importers.FormatNames(), ", "))
	f.StringVar(&opts.Out, "out", "", "dataset folder to write (created if needed)")
	f.StringVar(&opts.Symbol, "symbol", "", "symbol of inputs that do not name one (default: from the file name)")
	f.StringVar(&opts.TimeUnit, "time-unit", "auto", "unit of epoch timestamps: auto (by magnitude), s, ms, us or ns")
	f.StringSliceVar(&opts.Quotes, "quote", nil, "extra quote currency for splitting symbols like NULSBTC (repeatable)")
	f.StringSliceVar(&opts.Aliases, "symbol-alias", nil, "FROM=TO: map canonical symbol FROM to TO (repeatable)")
	f.StringVar(&opts.Date, "date", "", "lobster: trading day YYYY-MM-DD (default: from the file name)")
	f.StringVar(&opts.Timezone, "timezone", "America/New_York", "lobster: time zone of the seconds after midnight")
	f.StringVar(&opts.LabelExchange, "label-exchange", "binance", `pump-labels: keep rows of this exchange ("*" for all)`)
	f.DurationVar(&opts.LabelLead, "label-lead", time.Duration(importers.DefaultLabelLead)*time.Microsecond,
		"pump-labels: an incident starts this long before the announced time")
	f.DurationVar(&opts.LabelDuration, "label-duration", time.Duration(importers.DefaultLabelDuration)*time.Microsecond,
		"pump-labels: an incident ends this long after the announced time")
	return c
}

func runDatasetsImport(ctx context.Context, app *App, stdout io.Writer, opts datasetsImportOptions) error {
	if opts.Format == "" {
		return usagef("--format is required (one of %s)", strings.Join(importers.FormatNames(), ", "))
	}
	if opts.Out == "" {
		return usagef("--out is required")
	}
	if len(opts.Inputs) == 0 {
		return usagef("no input files")
	}
	known := false
	for _, n := range importers.FormatNames() {
		known = known || n == opts.Format
	}
	if !known {
		return usagef("unknown --format %q (have %s)", opts.Format, strings.Join(importers.FormatNames(), ", "))
	}
	if _, err := importers.ParseTimeUnit(opts.TimeUnit); err != nil {
		return usagef("--time-unit: %v", err)
	}
	iopts := importers.Options{
		Symbol: opts.Symbol, TimeUnit: opts.TimeUnit, Quotes: opts.Quotes, Date: opts.Date,
		Timezone: opts.Timezone, LabelExchange: opts.LabelExchange,
		LabelLead:     detectors.Micros(opts.LabelLead / time.Microsecond),
		LabelDuration: detectors.Micros(opts.LabelDuration / time.Microsecond),
	}
	if opts.LabelLead == 0 {
		iopts.LabelLead = -1 // an explicit 0 means no lead (Options treats 0 as the default)
	}
	if len(opts.Aliases) > 0 {
		iopts.SymbolAliases = map[string]string{}
		for _, a := range opts.Aliases {
			from, to, ok := strings.Cut(a, "=")
			if !ok || from == "" || to == "" {
				return usagef("--symbol-alias %q: want FROM=TO", a)
			}
			iopts.SymbolAliases[strings.ToUpper(from)] = strings.ToUpper(to)
		}
	}
	rep, err := importers.ImportContext(ctx, opts.Format, opts.Inputs, opts.Out, iopts)
	if err != nil {
		return err
	}
	for _, in := range rep.Inputs {
		unit := in.TimeUnit
		if unit == "" {
			unit = "n/a"
		}
		app.Debugf("%s: %s, %d rows, %d skipped, time unit %s", in.Path, in.Kind, in.Rows, in.Skipped, unit)
	}
	var skipped int64
	for _, in := range rep.Inputs {
		skipped += in.Skipped
	}
	for _, t := range rep.Tables {
		fmt.Fprintf(stdout, "%s\t%d rows\t%s\n", t.Table, t.Rows, t.Path)
	}
	if skipped > 0 {
		app.Infof("skipped %d rows by rule (see --verbose and docs/importers.md)", skipped)
	}
	return nil
}
