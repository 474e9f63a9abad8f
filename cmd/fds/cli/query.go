package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/datasets/duck"
)

func init() { register(newQueryCmd) }

type queryOptions struct {
	Data   string
	Run    string
	Format string
	Output string
	SQL    string
}

// Output formats of fds query.
var queryFormats = []string{"table", "csv", "tsv", "json", "parquet"}

func newQueryCmd(app *App) *cobra.Command {
	var opts queryOptions
	c := &cobra.Command{
		Use:   "query [SQL]",
		Short: "Run SQL (DuckDB) over a dataset's tables and a run's alerts, matches and metrics",
		Long: `query opens an in-memory DuckDB in which every table of the dataset (--data) and of the run
folder (--run) is a view under its canonical name:

  orders, trades, marks, liquidations, accounts, labels   the dataset's tables (docs/schema.md)
  incidents                                               the labels (the incidents alerts match)
  alerts, matches                                         the run's alerts.parquet and matches.parquet
  metrics                                                 the run's metrics.json, one row per detector
                                                          plus a row 'overall', nested figures
                                                          flattened (time_to_detect_s_median)

With --run and no --data, the dataset recorded in the run's manifest is used when it still exists.
Without SQL, query lists the views and their columns. Timestamps are UTC.

Output: an aligned table when stdout is a terminal; CSV (with a header) when it is piped or
redirected, so that the output feeds other tools; or what --format says. --output FILE writes the
result to FILE atomically (format from --format, else from the file's extension: .csv, .tsv,
.json, .parquet). json is an array of objects (non-finite numbers as the strings "NaN",
"Infinity", "-Infinity"); parquet keeps DuckDB's column types (the query must then be one
SELECT-like statement).`,
		Example: `  fds query --data data/demo
  fds query --data data/demo --run runs/demo "SELECT detector, count(*) FROM alerts GROUP BY detector"
  fds query --run runs/demo "SELECT symbol, score, ts FROM alerts WHERE detector = 'spoofing' ORDER BY score DESC LIMIT 10"
  fds query --run runs/demo "SELECT detector, precision, recall, f1 FROM metrics" --format json
  fds query --data data/demo "SELECT * FROM trades WHERE symbol = 'BTCUSDT'" --output btc.parquet`,
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			// Several arguments are one SQL text the shell split: join them back.
			opts.SQL = strings.TrimSpace(strings.Join(args, " "))
			if opts.Data == "" && opts.Run == "" {
				return usagef("query needs --data DIR, --run RUN or both")
			}
			if opts.Format != "" && !contains(queryFormats, opts.Format) {
				return usagef("--format %q: want one of %s", opts.Format, strings.Join(queryFormats, ", "))
			}
			return runQuery(c.Context(), app, opts)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Data, "data", "", "dataset folder whose tables become views")
	f.StringVar(&opts.Run, "run", "", "run folder (fds backtest --out) whose alerts, matches and metrics become views")
	f.StringVar(&opts.Format, "format", "", "output format: "+strings.Join(queryFormats, ", ")+" (default: table on a terminal, else csv)")
	f.StringVarP(&opts.Output, "output", "o", "", "write the result to this file (atomically) instead of stdout")
	_ = c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(queryFormats, cobra.ShellCompDirectiveNoFileComp))
	_ = c.MarkFlagDirname("data")
	_ = c.MarkFlagDirname("run")
	return c
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// queryFormat decides the output format: --format, else the output file's extension, else a
// table on a terminal and CSV otherwise.
func queryFormat(app *App, opts queryOptions) (string, error) {
	if opts.Format != "" {
		return opts.Format, nil
	}
	if opts.Output != "" {
		ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(opts.Output)), ".")
		if contains(queryFormats, ext) && ext != "table" {
			return ext, nil
		}
		return "", usagef("--output %s: cannot tell the format from the extension; add --format", opts.Output)
	}
	if isTerminal(app.Stdout) {
		return "table", nil
	}
	return "csv", nil
}

func runQuery(ctx context.Context, app *App, opts queryOptions) error {
	format, err := queryFormat(app, opts)
	if err != nil {
		return err
	}
	if format == "parquet" && opts.Output == "" {
		return usagef("--format parquet needs --output FILE")
	}
	s, err := openQuerySession(ctx, app, opts.Data, opts.Run)
	if err != nil {
		return err
	}
	defer s.Close()
	if opts.SQL == "" {
		return writeOutput(app, opts.Output, func(w io.Writer) error { return listViews(w, s.Views(), format) })
	}
	if format == "parquet" {
		if err := s.CopyToParquet(ctx, opts.SQL, opts.Output); err != nil {
			return err
		}
		app.Infof("fds: wrote %s", opts.Output)
		return nil
	}
	var n int
	err = writeOutput(app, opts.Output, func(w io.Writer) error {
		rows, err := s.Query(ctx, opts.SQL)
		if err != nil {
			return err
		}
		defer rows.Close()
		n, err = writeRows(w, rows, format)
		return err
	})
	if err != nil {
		return err
	}
	if format == "table" || opts.Output != "" {
		app.Infof("(%d row%s)", n, plural(n))
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// openQuerySession registers the views of a dataset folder and a run folder.
func openQuerySession(ctx context.Context, app *App, dataDir, runDir string) (*duck.Session, error) {
	if runDir != "" {
		if st, err := os.Stat(runDir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("run folder %s: does not exist or is not a folder", runDir)
		}
		if dataDir == "" {
			dataDir = manifestDataDir(app, runDir)
		}
	}
	s, err := duck.OpenSession(ctx)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	if dataDir != "" {
		ds, err := datasets.Open(dataDir)
		if err != nil {
			return nil, err
		}
		for _, table := range ds.Tables() {
			if err := s.RegisterParquet(ctx, table, describeTableSource(ds, table), ds.Files(table)); err != nil {
				return nil, err
			}
		}
		if ds.Has(datasets.TableLabels) {
			if err := s.RegisterAlias(ctx, "incidents", "labels", datasets.TableLabels); err != nil {
				return nil, err
			}
		}
	}
	if runDir != "" {
		for _, v := range []struct{ name, file string }{{"alerts", backtest.AlertsFile}, {"matches", backtest.MatchesFile}} {
			path := filepath.Join(runDir, v.file)
			if _, err := os.Stat(path); err != nil {
				app.Debugf("fds: %s: no %s, no view %s", runDir, v.file, v.name)
				continue
			}
			if err := s.RegisterParquet(ctx, v.name, path, []string{path}); err != nil {
				return nil, err
			}
		}
		path := filepath.Join(runDir, backtest.MetricsFile)
		if data, err := os.ReadFile(path); err == nil {
			cols, rows, err := flattenMetrics(data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			if err := s.RegisterRows(ctx, "metrics", path, cols, rows); err != nil {
				return nil, err
			}
		} else {
			app.Debugf("fds: %s: no %s, no view metrics", runDir, backtest.MetricsFile)
		}
	}
	ok = true
	return s, nil
}

// manifestDataDir returns the dataset folder a run's manifest names, when it still exists.
func manifestDataDir(app *App, runDir string) string {
	b, err := os.ReadFile(filepath.Join(runDir, backtest.ManifestFile))
	if err != nil {
		return ""
	}
	var m struct {
		DataDir string `json:"data_dir"`
	}
	if json.Unmarshal(b, &m) != nil || m.DataDir == "" {
		return ""
	}
	if st, err := os.Stat(m.DataDir); err != nil || !st.IsDir() {
		app.Debugf("fds: the run's dataset %s is not there; only the run's views are registered", m.DataDir)
		return ""
	}
	app.Debugf("fds: dataset %s (from %s)", m.DataDir, filepath.Join(runDir, backtest.ManifestFile))
	return m.DataDir
}

func describeTableSource(ds *datasets.Dataset, table string) string {
	files := ds.Files(table)
	if len(files) == 1 {
		return files[0]
	}
	return fmt.Sprintf("%s (%d files)", filepath.Join(ds.Dir, table)+string(filepath.Separator), len(files))
}

// flattenMetrics turns metrics.json into rows: one per detector (sorted) and one "overall",
// nested objects flattened with "_" (time_to_detect_s.median becomes time_to_detect_s_median),
// columns in the file's order. A column whose values are all whole numbers is BIGINT, all numbers
// DOUBLE, all booleans BOOLEAN, anything else VARCHAR (arrays as JSON text).
func flattenMetrics(data []byte) ([]duck.Column, [][]any, error) {
	var top struct {
		Detectors map[string]json.RawMessage `json:"detectors"`
		Overall   json.RawMessage            `json:"overall"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, nil, fmt.Errorf("not a valid metrics.json: %v", err)
	}
	names := make([]string, 0, len(top.Detectors))
	for n := range top.Detectors {
		names = append(names, n)
	}
	sort.Strings(names)
	type flat struct {
		keys   []string
		values map[string]any
	}
	var records []flat
	var order []string
	seen := map[string]bool{"detector": true}
	add := func(name string, raw json.RawMessage) error {
		f := flat{values: map[string]any{"detector": name}}
		if err := flattenObject(raw, "", &f.keys, f.values); err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		for _, k := range f.keys {
			if !seen[k] {
				seen[k] = true
				order = append(order, k)
			}
		}
		records = append(records, f)
		return nil
	}
	for _, n := range names {
		if err := add(n, top.Detectors[n]); err != nil {
			return nil, nil, err
		}
	}
	if len(top.Overall) > 0 {
		if err := add("overall", top.Overall); err != nil {
			return nil, nil, err
		}
	}
	integral := integerMetricKeys()
	cols := []duck.Column{{Name: "detector", Type: "VARCHAR"}}
	for _, k := range order {
		typ := ""
		for _, r := range records {
			v, ok := r.values[k]
			if !ok || v == nil {
				continue
			}
			var t string
			switch v.(type) {
			case int64, float64:
				// JSON writes 1.0 as 1: a figure's type comes from the Go field behind it.
				t = "DOUBLE"
				if integral[k] {
					t = "BIGINT"
				}
			case bool:
				t = "BOOLEAN"
			default:
				t = "VARCHAR"
			}
			if typ != "" && typ != t {
				t = "VARCHAR"
			}
			typ = t
		}
		if typ == "" {
			typ = "DOUBLE" // only nulls: figures with nothing to measure (time-to-detect of no detection)
			if integral[k] {
				typ = "BIGINT"
			}
		}
		cols = append(cols, duck.Column{Name: k, Type: typ})
	}
	rows := make([][]any, len(records))
	for i, r := range records {
		row := make([]any, len(cols))
		row[0] = r.values["detector"]
		for j, c := range cols[1:] {
			row[j+1] = convertMetric(r.values[c.Name], c.Type)
		}
		rows[i] = row
	}
	return cols, rows, nil
}

// integerMetricKeys are the flattened metrics.json keys of integer fields of
// backtest.DetectorMetrics (tp, fp, ..., time_to_detect_s_count), found by reflection so that new
// fields are typed right without a list to keep.
func integerMetricKeys() map[string]bool {
	out := map[string]bool{}
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name) // TTDStats marshals its fields lower-cased
			}
			switch f.Type.Kind() {
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				out[prefix+name] = true
			case reflect.Struct:
				walk(f.Type, prefix+name+"_")
			}
		}
	}
	walk(reflect.TypeOf(backtest.DetectorMetrics{}), "")
	return out
}

func convertMetric(v any, typ string) any {
	if v == nil {
		return nil
	}
	switch typ {
	case "DOUBLE":
		if i, ok := v.(int64); ok {
			return float64(i)
		}
	case "BIGINT":
		if f, ok := v.(float64); ok {
			if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				return int64(f)
			}
			return nil
		}
	case "VARCHAR":
		if s, ok := v.(string); ok {
			return s
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	return v
}

// flattenObject reads a JSON object in file order into keys and values.
func flattenObject(raw json.RawMessage, prefix string, keys *[]string, values map[string]any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("want an object")
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return err
		}
		key := prefix + kt.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return err
		}
		if t := bytes.TrimSpace(val); len(t) > 0 && t[0] == '{' {
			if err := flattenObject(val, key+"_", keys, values); err != nil {
				return err
			}
			continue
		}
		var v any
		d2 := json.NewDecoder(bytes.NewReader(val))
		d2.UseNumber()
		if err := d2.Decode(&v); err != nil {
			return err
		}
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil && !strings.ContainsAny(n.String(), ".eE") {
				v = i
			} else if f, err := n.Float64(); err == nil {
				v = f
			} else {
				v = n.String()
			}
		}
		*keys = append(*keys, key)
		values[key] = v
	}
	return nil
}

// listViews prints the registered views with their columns.
func listViews(w io.Writer, views []duck.ViewInfo, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if views == nil {
			views = []duck.ViewInfo{}
		}
		return enc.Encode(views)
	}
	if format == "csv" || format == "tsv" {
		sep := ","
		if format == "tsv" {
			sep = "\t"
		}
		var rows [][]string
		for _, v := range views {
			for _, c := range v.Columns {
				rows = append(rows, []string{v.Name, c.Name, c.Type})
			}
		}
		return writeDelimited(w, []string{"view", "column", "type"}, rows, sep)
	}
	for i, v := range views {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s  (%s)\n", v.Name, v.Source)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, c := range v.Columns {
			fmt.Fprintf(tw, "  %s\t%s\n", c.Name, c.Type)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(views) == 0 {
		_, err := fmt.Fprintln(w, "no views")
		return err
	}
	return nil
}
