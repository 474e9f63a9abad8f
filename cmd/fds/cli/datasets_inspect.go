package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/datasets/duck"
)

func init() { registerSub("datasets", newDatasetsInspectCmd) }

type datasetsInspectOptions struct {
	Dir  string
	JSON bool
}

func newDatasetsInspectCmd(app *App) *cobra.Command {
	var opts datasetsInspectOptions
	c := &cobra.Command{
		Use:   "inspect DIR",
		Short: "Describe a dataset: rows, time span, symbols, accounts, nulls, ranges, sortedness, labels",
		Long: `inspect reads every table of a dataset folder (through DuckDB, and the ts column of each event
table through fds's own reader) and prints, per table: rows, files, time span, distinct symbols and
accounts, whether the table is sorted by ts (and the first row out of order if not), and per column
its type, null count and value range; then the labelled incidents per type. It is the first thing
to run on new data.`,
		Example: `  fds datasets inspect data/demo
  fds datasets inspect data/demo --json | jq '.tables[] | {table, rows, sorted_by_ts}'`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("datasets inspect needs one dataset folder, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			opts.Dir = args[0]
			return runDatasetsInspect(c.Context(), app, opts)
		},
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		},
	}
	c.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return c
}

func runDatasetsInspect(ctx context.Context, app *App, opts datasetsInspectOptions) error {
	ds, err := datasets.Open(opts.Dir)
	if err != nil {
		return err
	}
	s, err := duck.OpenSession(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	in, err := s.Inspect(ctx, ds)
	if err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(in)
	}
	return writeInspection(app.Stdout, in)
}

func writeInspection(w io.Writer, in *duck.Inspection) error {
	fmt.Fprintf(w, "dataset %s: %d table%s\n", in.Dir, len(in.Tables), plural(len(in.Tables)))
	for _, t := range in.Tables {
		fmt.Fprintf(w, "\n%s: %d row%s in %d file%s\n", t.Table, t.Rows, plural(int(t.Rows)), len(t.Files), plural(len(t.Files)))
		if t.FirstTS != nil {
			fmt.Fprintf(w, "  span      %s .. %s (%s)\n", *t.FirstTS, *t.LastTS, formatSpan(*t.SpanSeconds))
		}
		if t.Symbols != nil {
			names := ""
			if len(t.SymbolNames) > 0 {
				names = ": " + strings.Join(t.SymbolNames, ", ")
			}
			fmt.Fprintf(w, "  symbols   %d%s\n", *t.Symbols, names)
		}
		if t.Accounts != nil {
			fmt.Fprintf(w, "  accounts  %d\n", *t.Accounts)
		}
		if t.SortedByTS != nil {
			if *t.SortedByTS {
				fmt.Fprintf(w, "  sorted    yes (by ts, across files in read order)\n")
			} else {
				fmt.Fprintf(w, "  sorted    NO: row %d is the first whose ts is below the previous row's (fds sorts it once, with a notice)\n", t.FirstUnsortedRow)
			}
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  column\ttype\tnulls\tmin\tmax")
		for _, c := range t.Columns {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\n", c.Name, c.Type, c.Nulls, orDash(c.Min), orDash(c.Max))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if in.LabelsByType != nil {
		fmt.Fprintln(w, "\nlabels by type:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		var total int64
		for _, tc := range in.LabelsByType {
			fmt.Fprintf(tw, "  %s\t%d\t\n", tc.Type, tc.Count)
			total += tc.Count
		}
		fmt.Fprintf(tw, "  total\t%d\t\n", total)
		return tw.Flush()
	}
	return nil
}

func orDash(s *string) string {
	if s == nil {
		return "-"
	}
	v := []rune(*s)
	if len(v) > 40 {
		v = append(v[:37], []rune("...")...)
	}
	return tsvEscaper.Replace(string(v))
}

// formatSpan writes a duration in seconds in the largest readable unit.
func formatSpan(sec float64) string {
	switch {
	case sec >= 86400:
		return fmt.Sprintf("%.2f days", sec/86400)
	case sec >= 3600:
		return fmt.Sprintf("%.2f h", sec/3600)
	case sec >= 60:
		return fmt.Sprintf("%.1f min", sec/60)
	}
	return fmt.Sprintf("%g s", sec)
}
