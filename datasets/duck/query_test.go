package duck

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fds-dev/fds/datasets"
)

func openSession(t *testing.T) *Session {
	t.Helper()
	s, err := OpenSession(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// queryStrings runs a query and returns every value as text ("(null)" for NULL), row by row.
func queryStrings(t *testing.T, s *Session, q string) [][]string {
	t.Helper()
	rows, err := s.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			if v == nil {
				row[i] = "(null)"
			} else {
				row[i] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func registerDataset(t *testing.T, s *Session, dir string) {
	t.Helper()
	ds, err := datasets.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range ds.Tables() {
		if err := s.RegisterParquet(context.Background(), table, table, ds.Files(table)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestQueryOverDatasetInQuotedFolder(t *testing.T) {
	s := openSession(t)
	registerDataset(t, s, writeQueryFixture(t))

	// Counts by symbol, from the fixture's facts.
	got := queryStrings(t, s, "SELECT symbol, count(*) FROM trades GROUP BY symbol ORDER BY symbol")
	want := [][]string{{"BTCUSDT", "2"}, {"ETHUSDT", "1"}, {evilSymbol, "1"}}
	if !equalRows(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	// The hostile symbol is only data: filtering on it finds its row and the table survives.
	got = queryStrings(t, s, "SELECT trade_id FROM trades WHERE symbol = 'x''); DROP TABLE trades; --'")
	if !equalRows(got, [][]string{{"3"}}) {
		t.Fatalf("hostile symbol lookup: got %q", got)
	}
	if got := queryStrings(t, s, "SELECT count(*) FROM trades"); !equalRows(got, [][]string{{"4"}}) {
		t.Fatalf("trades after hostile data: %q", got)
	}
	// Timestamps come back in UTC whatever the machine's zone.
	got = queryStrings(t, s, "SELECT CAST(min(ts) AS VARCHAR) FROM trades")
	if !equalRows(got, [][]string{{"2024-01-01 00:00:01+00"}}) {
		t.Fatalf("min ts: %q", got)
	}
}

func equalRows(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.Join(a[i], "\x00") != strings.Join(b[i], "\x00") {
			return false
		}
	}
	return true
}

func TestViewsListCanonicalColumnsAndTypes(t *testing.T) {
	s := openSession(t)
	registerDataset(t, s, writeQueryFixture(t))
	var names []string
	for _, v := range s.Views() {
		names = append(names, v.Name)
	}
	// datasets.AllTables order.
	if got := strings.Join(names, ","); got != "orders,trades,marks,accounts,labels" {
		t.Fatalf("views %s", got)
	}
	v, _ := s.View("labels")
	want := map[string]string{"incident_id": "VARCHAR", "accounts": "VARCHAR[]", "start_ts": "TIMESTAMP WITH TIME ZONE"}
	for _, c := range v.Columns {
		if w, ok := want[c.Name]; ok && c.Type != w {
			t.Errorf("labels.%s: %s, want %s", c.Name, c.Type, w)
		}
		delete(want, c.Name)
	}
	if len(want) != 0 {
		t.Errorf("labels lacks %v", want)
	}
}

func TestRegisterRowsBindsValues(t *testing.T) {
	s := openSession(t)
	ctx := context.Background()
	cols := []Column{{"detector", "VARCHAR"}, {"tp", "BIGINT"}, {"precision", "DOUBLE"}, {"ok", "BOOLEAN"}}
	rows := [][]any{{evilSymbol, int64(3), 0.75, true}, {"b", nil, nil, nil}}
	if err := s.RegisterRows(ctx, "metrics", "test", cols, rows); err != nil {
		t.Fatal(err)
	}
	got := queryStrings(t, s, `SELECT detector, tp, "precision", ok FROM metrics ORDER BY detector`)
	want := [][]string{{"b", "(null)", "(null)", "(null)"}, {evilSymbol, "3", "0.75", "true"}}
	if !equalRows(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if err := s.RegisterRows(ctx, "bad", "test", []Column{{"x", "HUGEINT"}}, nil); err == nil {
		t.Fatal("accepted an unsupported column type")
	}
}

func TestRegisterParquetErrorsNameTheFile(t *testing.T) {
	s := openSession(t)
	ctx := context.Background()
	dir := t.TempDir()
	junk := filepath.Join(dir, "it's junk.parquet")
	if err := os.WriteFile(junk, []byte("not parquet at all, just text"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := s.RegisterParquet(ctx, "trades", "trades", []string{junk})
	if err == nil || !strings.Contains(err.Error(), junk) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("want a one-line error naming %s, got %v", junk, err)
	}
	globby := filepath.Join(dir, "t[1].parquet")
	if err := os.WriteFile(globby, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterParquet(ctx, "t", "t", []string{globby}); err == nil || !strings.Contains(err.Error(), "glob") {
		t.Fatalf("want the glob refusal, got %v", err)
	}
	if err := s.RegisterParquet(ctx, "t", "t", []string{filepath.Join(dir, "missing.parquet")}); err == nil {
		t.Fatal("accepted a missing file")
	}
}

func TestInlineArgsQuotesAndNumbersInOrder(t *testing.T) {
	args := make([]any, 12)
	for i := range args {
		args[i] = "v" + string(rune('a'+i))
	}
	args[0] = []string{"a'b", "c"}
	args[11] = []int64{1, 2}
	got, err := inlineArgs("$1 $2 $12 $11", args)
	if err != nil {
		t.Fatal(err)
	}
	// $12 must not be read as $1 followed by "2".
	want := `['a''b', 'c'] 'vb' [1, 2]::BIGINT[] 'vk'`
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if _, err := inlineArgs("$1", []any{3.5}); err == nil {
		t.Fatal("inlined an unsupported value")
	}
}

func TestQueryErrorsAreOneLine(t *testing.T) {
	s := openSession(t)
	_, err := s.Query(context.Background(), "SELECT nope FROM\nnowhere")
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Fatalf("want a one-line error, got %v", err)
	}
}

func TestCopyToParquetWritesAtomically(t *testing.T) {
	s := openSession(t)
	registerDataset(t, s, writeQueryFixture(t))
	out := filepath.Join(t.TempDir(), "it's out.parquet")
	// A trailing comment and semicolon must not swallow the COPY's closing parenthesis.
	if err := s.CopyToParquet(context.Background(), "SELECT trade_id, ts FROM trades ORDER BY trade_id; -- the end", out); err != nil {
		t.Fatal(err)
	}
	got := queryStrings(t, s, "SELECT count(*), min(trade_id), typeof(any_value(ts)) FROM read_parquet("+sqlString(out)+")")
	if !equalRows(got, [][]string{{"4", "1", "TIMESTAMP WITH TIME ZONE"}}) {
		t.Fatalf("read back %q", got)
	}
	bad := filepath.Join(filepath.Dir(out), "bad.parquet")
	if err := s.CopyToParquet(context.Background(), "SELECT nope FROM trades", bad); err == nil {
		t.Fatal("accepted a bad query")
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Fatalf("a failed copy left files behind: %v", entries)
	}
}

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"SELECT 1", []string{"SELECT 1"}},
		{"SELECT 1; -- done\n", []string{"SELECT 1"}},
		{"SELECT ';' AS a; SELECT \"x;y\" FROM t;", []string{"SELECT ';' AS a", `SELECT "x;y" FROM t`}},
		{"SELECT 'it''s;' -- c;\n, 2", []string{"SELECT 'it''s;' -- c;\n, 2"}},
		{"/* a; b */ SELECT $$;$$; ;;", []string{"/* a; b */ SELECT $$;$$"}},
		{"-- only a comment", nil},
		{"SELECT 'unterminated;", []string{"SELECT 'unterminated;"}},
	}
	for _, tc := range tests {
		got := SplitStatements(tc.in)
		if strings.Join(got, "\x00") != strings.Join(tc.want, "\x00") || len(got) != len(tc.want) {
			t.Errorf("SplitStatements(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
