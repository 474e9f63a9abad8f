package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/datasets/duck"
	"github.com/fds-dev/fds/internal/fsutil"
)

func init() { registerSub("datasets", newDatasetsValidateCmd) }

type datasetsValidateOptions struct {
	Dir      string
	JSON     bool
	Fix      string
	Examples int
}

func newDatasetsValidateCmd(app *App) *cobra.Command {
	var opts datasetsValidateOptions
	c := &cobra.Command{
		Use:   "validate DIR",
		Short: "Check a dataset against the canonical schema: every problem with file, row and column",
		Long: `validate reads every row of every table of a dataset folder and reports each class of problem
with its count and first examples (file, 1-based row, column):

  fatal    unreadable or corrupt files, missing columns, wrong types, a ts column in the wrong
           unit; rows with a null in a required column, an unknown enum value, a NaN, infinite,
           negative or zero price or quantity, a ts before 1990 or after 2100, a repeated id
           (trade id within a symbol, an order's new event, account, incident); labels with an
           unknown type, an end before the start or a symbol no event table holds; event tables
           with no replayable row
  warning  an event table out of ts order (a backtest sorts it once; --fix writes a sorted copy),
           an empty table

A dataset without fatal problems passes fds backtest --strict; fds backtest without --strict
rejects the problem rows and counts them in its manifest. Exit status 1 when any problem is fatal.`,
		Example: `  fds datasets validate data/demo
  fds datasets validate data/raw --json | jq '.problems[] | {class, count}'
  fds datasets validate data/raw --fix data/sorted`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("datasets validate needs one dataset folder, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			opts.Dir = args[0]
			return runDatasetsValidate(c.Context(), app, opts)
		},
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		},
	}
	f := c.Flags()
	f.BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	f.StringVar(&opts.Fix, "fix", "", "write a copy of the dataset to this new folder with every event table sorted by ts (other tables copied as they are)")
	f.IntVar(&opts.Examples, "examples", 5, "examples listed per problem class (-1: every problem row)")
	return c
}

func runDatasetsValidate(ctx context.Context, app *App, opts datasetsValidateOptions) error {
	if opts.Examples == 0 {
		return usagef("--examples 0: want a positive number, or -1 for every problem row")
	}
	if opts.Fix != "" {
		if err := checkFixTarget(opts.Dir, opts.Fix); err != nil {
			return err
		}
	}
	v, err := datasets.ValidateDataset(ctx, opts.Dir, datasets.ValidateOptions{Examples: opts.Examples})
	if err != nil {
		return err
	}
	ds, err := datasets.Open(opts.Dir)
	if err != nil {
		return err
	}
	db, err := duck.Open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	// The table-wide duplicate checks need SQL; they supersede the reader's same-ts check.
	for _, table := range ds.Tables() {
		if v.Structural(table) {
			continue
		}
		p, ok, err := db.DuplicateIDs(ctx, table, ds.Files(table), v.ExampleLimit())
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			v.Add(datasets.SeverityWarning, table, "check: skipped", 0, datasets.Rejection{File: table, Message: "duplicate-id check: " + err.Error()})
			continue
		}
		if ok {
			v.Replace(p)
		}
	}
	v.Sort()
	if opts.JSON {
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			*datasets.Validation
			Fatal bool `json:"fatal"`
		}{v, v.Fatal()}); err != nil {
			return err
		}
	} else if err := writeValidation(app.Stdout, v); err != nil {
		return err
	}
	if opts.Fix != "" {
		if v.Fatal() && anyStructural(v, ds) {
			return fmt.Errorf("--fix %s: not written: the dataset has structural problems a sorted copy cannot repair", opts.Fix)
		}
		sorted, err := writeSortedCopy(ctx, db, ds, v, opts.Fix)
		if err != nil {
			return err
		}
		app.Infof("fds: wrote %s (sorted by ts: %s)", opts.Fix, orNone(sorted))
	}
	if v.Fatal() {
		classes := 0
		for _, p := range v.Problems {
			if p.Severity == datasets.SeverityFatal {
				classes++
			}
		}
		return fmt.Errorf("dataset %s: %d fatal problem class%s: fds backtest --strict would fail", opts.Dir, classes, pluralES(classes))
	}
	return nil
}

func pluralES(n int) string {
	if n == 1 {
		return ""
	}
	return "es"
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none needed"
	}
	return strings.Join(list, ", ")
}

func anyStructural(v *datasets.Validation, ds *datasets.Dataset) bool {
	for _, t := range ds.Tables() {
		if v.Structural(t) {
			return true
		}
	}
	return false
}

func writeValidation(w io.Writer, v *datasets.Validation) error {
	fmt.Fprintf(w, "dataset %s\n\n", v.Dir)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "table\tfiles\trows\tproblem rows\tsymbols\tsorted by ts")
	for _, t := range v.Tables {
		sorted := "-"
		if t.Sorted != nil {
			sorted = map[bool]string{true: "yes", false: "no"}[*t.Sorted]
		}
		symbols := "-"
		if t.Symbols > 0 {
			symbols = fmt.Sprint(t.Symbols)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\n", t.Table, t.Files, t.Rows, t.Rejected, symbols, sorted)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(v.Problems) == 0 {
		_, err := fmt.Fprintf(w, "\nno problems: the dataset is valid\n")
		return err
	}
	fmt.Fprintln(w)
	fatal, warnings := 0, 0
	for _, p := range v.Problems {
		label := "WARNING"
		if p.Severity == datasets.SeverityFatal {
			label = "FATAL"
			fatal++
		} else {
			warnings++
		}
		table := p.Table
		if table == "" {
			table = "-" // a problem of the whole dataset
		}
		count := ""
		if p.Count > 0 {
			unit := "row"
			if strings.HasPrefix(p.Class, "file: ") || strings.HasPrefix(p.Class, "column: ") || p.Class == datasets.ClassWrongUnit {
				unit = "file"
			}
			count = fmt.Sprintf(" (%d %s%s)", p.Count, unit, plural(int(p.Count)))
		}
		fmt.Fprintf(w, "%-7s  %s  %s%s\n", label, table, p.Class, count)
		for _, ex := range p.Examples {
			fmt.Fprintf(w, "         %s\n", strings.Join(strings.Fields(ex.Error()), " "))
		}
		if shown := int64(len(p.Examples)); p.Count > shown && shown > 0 {
			fmt.Fprintf(w, "         ... and %d more\n", p.Count-shown)
		}
	}
	verdict := "fds backtest --strict would fail; fds backtest rejects the problem rows and counts them"
	if fatal == 0 {
		verdict = "no fatal problem"
	}
	_, err := fmt.Fprintf(w, "\n%d fatal, %d warning%s: %s\n", fatal, warnings, plural(warnings), verdict)
	return err
}

// checkFixTarget refuses a --fix folder that is the dataset itself or inside it.
func checkFixTarget(dir, fix string) error {
	absDir, err1 := filepath.Abs(dir)
	absFix, err2 := filepath.Abs(fix)
	if err1 != nil || err2 != nil {
		return usagef("--fix %s: cannot resolve the path", fix)
	}
	if absFix == absDir || strings.HasPrefix(absFix, absDir+string(filepath.Separator)) {
		return usagef("--fix %s: must be a folder outside the dataset %s", fix, dir)
	}
	return checkWritableParent(fix)
}

// writeSortedCopy writes the dataset to out (atomically: built beside it and swapped in), event
// tables out of ts order sorted through DuckDB into one file each, everything else copied.
func writeSortedCopy(ctx context.Context, db *duck.DB, ds *datasets.Dataset, v *datasets.Validation, out string) ([]string, error) {
	unsorted := map[string]bool{}
	for _, t := range v.Tables {
		if t.Sorted != nil && !*t.Sorted {
			unsorted[t.Table] = true
		}
	}
	st, err := fsutil.NewStaging(ctx, out)
	if err != nil {
		return nil, err
	}
	defer st.Abort()
	var sorted []string
	for _, table := range ds.Tables() {
		if err := st.Err(); err != nil {
			return nil, err
		}
		files := ds.Files(table)
		if unsorted[table] {
			if err := db.SortParquet(ctx, files, st.Path(table+".parquet")); err != nil {
				return nil, fmt.Errorf("--fix: %w", err)
			}
			sorted = append(sorted, table)
			continue
		}
		for _, f := range files {
			rel, err := filepath.Rel(ds.Dir, f)
			if err != nil || strings.HasPrefix(rel, "..") {
				return nil, fmt.Errorf("--fix: %s is outside %s", f, ds.Dir)
			}
			if err := copyFile(f, st.Path(rel)); err != nil {
				return nil, fmt.Errorf("--fix: %w", err)
			}
		}
	}
	return sorted, st.Commit()
}

func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("%s: %w", dst, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("%s: %w", dst, err)
	}
	return out.Close()
}
