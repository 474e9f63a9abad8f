package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/datasets/synth"
)

// fds runs the CLI in memory and returns its exit code, stdout and stderr.
func fds(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// queryData generates a tiny market into a folder whose name holds a single quote.
func queryData(t *testing.T) string {
	t.Helper()
	data := filepath.Join(t.TempDir(), "quant's work", "data")
	if _, err := synth.Generate(synth.Config{Preset: "small", Seed: 1, Events: 5000}, data); err != nil {
		t.Fatal(err)
	}
	return data
}

// TestQueryViewsAndAlerts generates the small market (big enough for alerts of every detector
// it injects) and back-tests it, then lists the views and checks a query of one detector's
// alerts against the run's files.
func TestQueryViewsAndAlerts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "quant's work")
	data, run := filepath.Join(dir, "data"), filepath.Join(dir, "runs", "demo")
	if _, err := synth.Generate(synth.Config{Preset: "small", Seed: 1}, data); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := fds(t, "backtest", "--data", data, "--out", run, "--quiet"); code != ExitOK {
		t.Fatalf("backtest: exit %d: %s", code, stderr)
	}
	t.Run("listing", func(t *testing.T) { testQueryListsEveryView(t, data, run) })
	t.Run("alerts", func(t *testing.T) { testQueryAlertsAgreeWithTheRunFiles(t, run) })
}

func testQueryListsEveryView(t *testing.T, data, run string) {
	code, out, stderr := fds(t, "query", "--data", data, "--run", run)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// Piped output is CSV: view,column,type.
	for _, want := range []string{
		"view,column,type\n", "trades,ts,TIMESTAMP WITH TIME ZONE\n", "labels,accounts,VARCHAR[]\n",
		"incidents,type,VARCHAR\n", "alerts,score,DOUBLE\n", "matches,outcome,VARCHAR\n",
		"metrics,tp,BIGINT\n", "metrics,precision,DOUBLE\n", "metrics,time_to_detect_s_median,DOUBLE\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("listing lacks %q", want)
		}
	}
	// --run alone finds the dataset through the run's manifest.
	code, out, _ = fds(t, "query", "--run", run, "--format", "json")
	var views []struct{ Name string }
	if err := json.Unmarshal([]byte(out), &views); code != ExitOK || err != nil {
		t.Fatalf("exit %d, %v: %s", code, err, out)
	}
	var names []string
	for _, v := range views {
		names = append(names, v.Name)
	}
	if got := strings.Join(names, ","); got != "orders,trades,marks,liquidations,accounts,labels,incidents,alerts,matches,metrics" {
		t.Errorf("views %s", got)
	}
}

func testQueryAlertsAgreeWithTheRunFiles(t *testing.T, run string) {
	alerts, err := datasets.ReadAlerts(filepath.Join(run, "alerts.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, a := range alerts {
		if a.Detector == "spoofing" {
			want++
		}
	}
	if want == 0 {
		t.Fatal("the fixture has no spoofing alert to count")
	}
	code, out, stderr := fds(t, "query", "--run", run, "--format", "json",
		"SELECT count(*) AS n, min(score) AS lo FROM alerts WHERE detector = 'spoofing'")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got []struct {
		N  int64   `json:"n"`
		Lo float64 `json:"lo"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 {
		t.Fatalf("%v: %s", err, out)
	}
	if got[0].N != int64(want) {
		t.Errorf("SQL counts %d spoofing alerts, alerts.parquet holds %d", got[0].N, want)
	}
	// The metrics view is metrics.json flattened: its alert count is the same figure.
	code, out, _ = fds(t, "query", "--run", run, "--format", "csv", "SELECT alerts, tp + fp AS decided FROM metrics WHERE detector = 'spoofing'")
	if code != ExitOK || out != "alerts,decided\n"+strconv.Itoa(want)+","+strconv.Itoa(want)+"\n" {
		t.Errorf("metrics view: exit %d %q, want %d alerts = tp+fp", code, out, want)
	}
}

func TestQueryOutputFormats(t *testing.T) {
	data := queryData(t)
	q := "SELECT 1 AS a, 'x,\"y\"' AS b, NULL::DOUBLE AS c, 2.5 AS d, TIMESTAMPTZ '2024-01-01 00:00:01.5+00' AS ts UNION ALL SELECT 2, 'tab\there', 0.0, NULL, NULL ORDER BY a"
	tests := []struct{ format, want string }{
		{"csv", "a,b,c,d,ts\n1,\"x,\"\"y\"\"\",,2.5,2024-01-01T00:00:01.5Z\n2,tab\there,0,,\n"},
		{"tsv", "a\tb\tc\td\tts\n1\tx,\"y\"\t\t2.5\t2024-01-01T00:00:01.5Z\n2\ttab\\there\t0\t\t\n"},
		{"json", "[\n  {\"a\": 1, \"b\": \"x,\\\"y\\\"\", \"c\": null, \"d\": 2.5, \"ts\": \"2024-01-01T00:00:01.5Z\"},\n  {\"a\": 2, \"b\": \"tab\\there\", \"c\": 0, \"d\": null, \"ts\": null}\n]\n"},
		{"table", "a  b          c     d     ts\n-  -          -     -     --\n1  x,\"y\"      NULL  2.5   2024-01-01T00:00:01.5Z\n2  tab\\there  0     NULL  NULL\n"},
	}
	for _, tc := range tests {
		code, out, stderr := fds(t, "query", "--data", data, "--format", tc.format, q)
		if code != ExitOK || out != tc.want {
			t.Errorf("%s: exit %d %s\ngot  %q\nwant %q", tc.format, code, stderr, out, tc.want)
		}
	}
	// --output picks the format from the extension and writes atomically.
	dir := t.TempDir()
	for _, name := range []string{"out.csv", "out.json", "it's.parquet"} {
		path := filepath.Join(dir, name)
		if code, _, stderr := fds(t, "query", "--data", data, "--output", path, "--quiet", "SELECT symbol, count(*) AS n FROM trades GROUP BY symbol ORDER BY symbol"); code != ExitOK {
			t.Fatalf("%s: exit %d %s", name, code, stderr)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "out.csv"))
	if !strings.HasPrefix(string(b), "symbol,n\nBTCUSDT,") {
		t.Errorf("out.csv: %q", b)
	}
	// The Parquet file reads back through DuckDB with the same rows.
	code, out, _ := fds(t, "query", "--data", data, "--format", "csv",
		"SELECT string_agg(symbol || ':' || n, ' ' ORDER BY symbol) FROM read_parquet('"+strings.ReplaceAll(filepath.Join(dir, "it's.parquet"), "'", "''")+"')")
	code2, out2, _ := fds(t, "query", "--data", data, "--format", "csv",
		"SELECT string_agg(symbol || ':' || n, ' ' ORDER BY symbol) FROM (SELECT symbol, count(*) AS n FROM trades GROUP BY symbol)")
	if code != ExitOK || code2 != ExitOK || out != out2 {
		t.Errorf("parquet read back %q, want %q", out, out2)
	}
	// A failing query leaves nothing behind.
	if code, _, _ := fds(t, "query", "--data", data, "--output", filepath.Join(dir, "bad.csv"), "SELECT nope FROM trades"); code != ExitError {
		t.Errorf("bad query: exit %d, want %d", code, ExitError)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("files after a failed query: %v", entries)
	}
}

func TestQueryErrors(t *testing.T) {
	data := queryData(t)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"query", "SELECT 1"}, ExitUsage, "needs --data"},
		{[]string{"query", "--data", data, "--format", "xml", "SELECT 1"}, ExitUsage, "--format"},
		{[]string{"query", "--data", data, "--format", "parquet", "SELECT 1"}, ExitUsage, "needs --output"},
		{[]string{"query", "--data", data, "--output", "x.txt", "SELECT 1"}, ExitUsage, "extension"},
		{[]string{"query", "--data", data, "SELECT nope\nFROM trades"}, ExitError, "nope"},
		{[]string{"query", "--data", filepath.Join(data, "missing")}, ExitError, "does not exist"},
		{[]string{"query", "--run", filepath.Join(data, "nope")}, ExitError, "run folder"},
	}
	for _, tc := range tests {
		code, _, stderr := fds(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and one line with %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}

func TestFlattenMetricsTypesAndOrder(t *testing.T) {
	// A hand-written metrics.json: precision 1 is written without a decimal point but is a
	// float field; tp is an int field; time_to_detect_s nests and may be null.
	doc := `{"schema_version": 1, "detectors": {
	  "b": {"precision": 1, "tp": 3, "time_to_detect_s": {"count": 0, "median": null}},
	  "a": {"precision": 0.5, "tp": 1, "time_to_detect_s": {"count": 1, "median": 2.5}}},
	  "overall": {"precision": 0.75, "tp": 4, "time_to_detect_s": {"count": 1, "median": 2.5}}}`
	cols, rows, err := flattenMetrics([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cols {
		got = append(got, c.Name+":"+c.Type)
	}
	want := "detector:VARCHAR precision:DOUBLE tp:BIGINT time_to_detect_s_count:BIGINT time_to_detect_s_median:DOUBLE"
	if strings.Join(got, " ") != want {
		t.Errorf("columns %s\nwant    %s", strings.Join(got, " "), want)
	}
	// Detectors sorted, then overall.
	wantRows := [][]any{{"a", 0.5, int64(1), int64(1), 2.5}, {"b", 1.0, int64(3), int64(0), nil}, {"overall", 0.75, int64(4), int64(1), 2.5}}
	for i, r := range rows {
		for j := range r {
			if r[j] != wantRows[i][j] {
				t.Errorf("row %d col %d: %#v, want %#v", i, j, r[j], wantRows[i][j])
			}
		}
	}
	if _, _, err := flattenMetrics([]byte(`{"detectors": [1]}`)); err == nil {
		t.Error("accepted a malformed metrics.json")
	}
}
