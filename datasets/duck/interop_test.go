package duck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// Interop: every Parquet file fds writes must open, with the types docs/schema.md documents, in
// arrow-go, in DuckDB and in a third implementation that shares no code with either (hyparquet,
// pure JavaScript, from the npm registry).

// interopFile is one Parquet file fds writes and the schema documented for it.
type interopFile struct {
	name   string // for messages
	path   string
	schema *arrow.Schema
	// storesArrowSchema says fds's own writer wrote the file (with the Arrow schema in its
	// metadata, so arrow-go restores dictionary types); DuckDB-written files hold plain strings.
	storesArrowSchema bool
	rows              int64
	// first holds some first-row values as text, the way every reader is asked to render them:
	// timestamps as microseconds, lists as JSON.
	first map[string]string
}

// writeInteropFiles writes every kind of Parquet file fds produces into a folder whose name holds a
// single quote: the six dataset tables (fds's writer), a run's alerts.parquet and matches.parquet,
// a table sorted by DuckDB (SortParquet) and a query result (CopyToParquet).
func writeInteropFiles(t *testing.T) []interopFile {
	t.Helper()
	dir := writeQueryFixture(t)
	liq := filepath.Join(dir, "liquidations.parquet")
	writeEvents(t, liq, datasets.TableLiquidations, []detectors.Event{
		{TS: fixtureT0 + 7*detectors.Second, Symbol: "BTCUSDT", Kind: detectors.KindLiquidation,
			Liquidation: detectors.Liquidation{Account: "B", Side: detectors.Sell, Qty: 0.25, Price: 99.5}},
	})
	run := filepath.Join(filepath.Dir(dir), "run")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	alerts := filepath.Join(run, "alerts.parquet")
	if err := datasets.WriteAlerts(alerts, []detectors.Alert{{
		Detector: "wash_trade", Type: detectors.WashTrade, Symbol: "BTCUSDT", Accounts: []string{"A", "B"},
		TS: fixtureT0 + 3*detectors.Second, WindowStart: fixtureT0 + detectors.Second, WindowEnd: fixtureT0 + 3*detectors.Second,
		Score: 0.75, Evidence: detectors.Evidence{OrderIDs: []int64{7}, TradeIDs: []int64{1, 2}, Features: map[string]float64{"n": 2}, Note: "n'ote"},
	}}); err != nil {
		t.Fatal(err)
	}
	matches := filepath.Join(run, "matches.parquet")
	if err := datasets.WriteMatches(matches, []datasets.MatchRow{
		{Detector: "wash_trade", Outcome: "tp", AlertKey: "k1", IncidentID: "w1", Symbol: "BTCUSDT", Score: 0.75,
			AlertTS: fixtureT0 + 3*detectors.Second, IncidentStart: fixtureT0 + detectors.Second, TimeToDetect: 2 * detectors.Second},
		{Detector: "wash_trade", Outcome: "fn", IncidentID: "w2", Symbol: evilSymbol, Score: math.NaN(),
			IncidentStart: fixtureT0 + 2*detectors.Second},
	}); err != nil {
		t.Fatal(err)
	}
	s := openSession(t)
	sorted := filepath.Join(run, "trades sorted.parquet")
	if err := s.db.SortParquet(context.Background(), []string{filepath.Join(dir, "trades.parquet")}, sorted); err != nil {
		t.Fatal(err)
	}
	registerDataset(t, s, dir)
	queried := filepath.Join(run, "query.parquet")
	if err := s.CopyToParquet(context.Background(), "SELECT symbol, count(*) AS n, min(ts) AS first_ts FROM trades GROUP BY symbol ORDER BY symbol", queried); err != nil {
		t.Fatal(err)
	}
	us := func(sec int64) string { return fmt.Sprint(int64(fixtureT0 + sec*detectors.Second)) }
	return []interopFile{
		{"orders", filepath.Join(dir, "orders.parquet"), datasets.OrdersSchema, true, 2,
			map[string]string{"ts": us(1), "account_id": "A", "order_id": "7", "event": "new", "price": "99", "post_only": "false"}},
		{"trades", filepath.Join(dir, "trades.parquet"), datasets.TradesSchema, true, 4,
			map[string]string{"ts": us(1), "symbol": "BTCUSDT", "trade_id": "1", "maker_account": "A", "maker_order_id": "null"}},
		{"marks", filepath.Join(dir, "marks.parquet"), datasets.MarksSchema, true, 2,
			map[string]string{"ts": us(0), "mark_price": "100", "funding_rate": "0.0001", "open_interest": "null"}},
		{"liquidations", liq, datasets.LiquidationsSchema, true, 1,
			map[string]string{"ts": us(7), "account_id": "B", "side": "sell", "qty": "0.25"}},
		{"accounts", filepath.Join(dir, "accounts.parquet"), datasets.AccountsSchema, true, 3,
			map[string]string{"account_id": "A", "created_at": us(-86400), "ip_hash": "null"}},
		{"labels", filepath.Join(dir, "labels.parquet"), datasets.LabelsSchema, true, 3,
			map[string]string{"incident_id": "w1", "accounts": `["A","B"]`, "start_ts": us(1), "end_ts": us(3)}},
		{"alerts", alerts, datasets.AlertsSchema, true, 1,
			map[string]string{"detector": "wash_trade", "accounts": `["A","B"]`, "ts": us(3), "score": "0.75",
				"evidence_trades": "[1,2]", "features": `{"n":2}`, "note": "n'ote"}},
		{"matches", matches, datasets.MatchesSchema, true, 2,
			map[string]string{"outcome": "tp", "score": "0.75", "alert_ts": us(3), "time_to_detect_us": "2000000"}},
		{"sorted trades (DuckDB)", sorted, datasets.TradesSchema, false, 4,
			map[string]string{"ts": us(1), "trade_id": "1", "taker_account": "B"}},
		{"query output (DuckDB)", queried, arrow.NewSchema([]arrow.Field{
			{Name: "symbol", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "first_ts", Type: datasets.TS, Nullable: true},
		}, nil), false, 3, map[string]string{"symbol": "BTCUSDT", "n": "2", "first_ts": us(1)}},
	}
}

// plainType is the logical type a reader without Arrow's schema sees: dictionaries as their values.
func plainType(t arrow.DataType) arrow.DataType {
	if d, ok := t.(*arrow.DictionaryType); ok {
		return d.ValueType
	}
	return t
}

func TestParquetInteropArrowGo(t *testing.T) {
	for _, f := range writeInteropFiles(t) {
		pf, err := file.OpenParquetFile(f.path, false)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		tbl, err := fr.ReadTable(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		got := tbl.Schema()
		if got.NumFields() != f.schema.NumFields() {
			t.Errorf("%s: %d columns, documented %d", f.name, got.NumFields(), f.schema.NumFields())
		}
		for i := 0; i < min(got.NumFields(), f.schema.NumFields()); i++ {
			g, w := got.Field(i), f.schema.Field(i)
			wantType := w.Type
			if !f.storesArrowSchema {
				wantType = plainType(wantType)
			}
			if g.Name != w.Name || !arrow.TypeEqual(g.Type, wantType) || (f.storesArrowSchema && g.Nullable != w.Nullable) {
				t.Errorf("%s: column %d is %s %s nullable=%v, documented %s %s nullable=%v", f.name, i, g.Name, g.Type, g.Nullable, w.Name, wantType, w.Nullable)
			}
		}
		if tbl.NumRows() != f.rows {
			t.Errorf("%s: %d rows, want %d", f.name, tbl.NumRows(), f.rows)
		}
		tbl.Release()
		pf.Close()
	}
}

// duckTypeOf is the DuckDB type of a documented Arrow type.
func duckTypeOf(t arrow.DataType) string {
	switch t := plainType(t).(type) {
	case *arrow.TimestampType:
		return "TIMESTAMP WITH TIME ZONE"
	case *arrow.ListType:
		return duckTypeOf(t.Elem()) + "[]"
	case *arrow.StringType:
		return "VARCHAR"
	case *arrow.Int64Type:
		return "BIGINT"
	case *arrow.Float64Type:
		return "DOUBLE"
	case *arrow.BooleanType:
		return "BOOLEAN"
	}
	return t.String()
}

func TestParquetInteropDuckDB(t *testing.T) {
	files := writeInteropFiles(t)
	s := openSession(t)
	ctx := context.Background()
	for _, f := range files {
		rows, err := s.QueryRows(ctx, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet("+sqlString(f.path)+"))")
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		var got []string
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				t.Fatal(err)
			}
			got = append(got, name+" "+typ)
		}
		rows.Close()
		var want []string
		for _, fl := range f.schema.Fields() {
			want = append(want, fl.Name+" "+duckTypeOf(fl.Type))
		}
		if strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Errorf("%s in DuckDB:\n got  %s\n want %s", f.name, strings.Join(got, ", "), strings.Join(want, ", "))
		}
		// First-row values, rendered as every reader is asked to.
		for col, want := range f.first {
			q := fmt.Sprintf("SELECT %s FROM read_parquet(%s) LIMIT 1", duckRender(col, f.schema), sqlString(f.path))
			var v *string
			if err := s.db.conn.QueryRowContext(ctx, q).Scan(&v); err != nil {
				t.Fatalf("%s.%s: %v", f.name, col, err)
			}
			text := "null"
			if v != nil {
				text = *v
			}
			if text != want {
				t.Errorf("%s.%s in DuckDB: %s, want %s", f.name, col, text, want)
			}
		}
	}
}

// duckRender renders a column as text: timestamps as epoch microseconds, lists as JSON, numbers
// and strings as themselves.
func duckRender(col string, schema *arrow.Schema) string {
	id := sqlIdent(col)
	idx := schema.FieldIndices(col)
	if len(idx) == 0 {
		return "CAST(" + id + " AS VARCHAR)"
	}
	switch schema.Field(idx[0]).Type.(type) {
	case *arrow.TimestampType:
		return "CAST(epoch_us(" + id + ") AS VARCHAR)"
	case *arrow.ListType:
		return "CAST(to_json(" + id + ") AS VARCHAR)"
	case *arrow.Float64Type:
		// DuckDB prints 99.0 for a whole double; render the shortest decimal as the others do.
		return "CASE WHEN " + id + " = trunc(" + id + ") THEN CAST(CAST(" + id + " AS BIGINT) AS VARCHAR) ELSE CAST(" + id + " AS VARCHAR) END"
	}
	return "CAST(" + id + " AS VARCHAR)"
}

// hyparquetVersion and hyparquetCompressorsVersion pin the JavaScript reader.
const (
	hyparquetVersion            = "1.31.5"
	hyparquetCompressorsVersion = "1.1.2"
)

// hyparquetDir installs hyparquet (and its zstd decompressor) once into a cache folder this test
// owns, and returns it; the test skips, saying why, when node or npm is missing or the npm
// registry cannot be reached.
func hyparquetDir(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("interop with hyparquet skipped: node is not installed")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("interop with hyparquet skipped: npm is not installed")
	}
	_ = node
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "fds-tests", "hyparquet-"+hyparquetVersion+"-"+hyparquetCompressorsVersion)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "hyparquet-compressors", "package.json")); err == nil {
		return dir
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Skipf("interop with hyparquet skipped: cache folder: %v", err)
	}
	// Install into a fresh folder and rename it into place, so that an interrupted install is
	// never taken for a finished one.
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".install-")
	if err != nil {
		t.Skipf("interop with hyparquet skipped: %v", err)
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, "package.json"), []byte(`{"name":"fds-interop","private":true,"type":"module"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--loglevel=error",
		"hyparquet@"+hyparquetVersion, "hyparquet-compressors@"+hyparquetCompressorsVersion)
	cmd.Dir = tmp
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Skipf("interop with hyparquet skipped: npm install failed (is the npm registry reachable?): %v: %s", err, lastLines(string(out), 3))
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "node_modules", "hyparquet")); serr == nil {
			return dir // installed meanwhile by another run
		}
		t.Fatal(err)
	}
	return dir
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// hyparquetScript prints, per file given, the Parquet schema elements and the first row as JSON:
// timestamps as {"us": "<epoch microseconds>"}, 64-bit integers as numbers (as decimal strings
// beyond 2^53), lists as arrays.
const hyparquetScript = `
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
const out = {}
for (const path of process.argv.slice(2)) {
  const file = await asyncBufferFromFile(path)
  const md = await parquetMetadataAsync(file)
  const rows = await parquetReadObjects({ file, compressors, rowStart: 0, rowEnd: 1,
    parsers: { timestampFromMicroseconds: us => ({ us: us.toString() }) } })
  out[path] = { num_rows: md.num_rows.toString(), schema: md.schema, first: rows[0] }
}
const safe = 2n ** 53n
process.stdout.write(JSON.stringify(out, (k, v) =>
  typeof v === 'bigint' ? (v > -safe && v < safe ? Number(v) : v.toString()) : v))
`

// hyparquetElement is a Parquet schema element as hyparquet reports it.
type hyparquetElement struct {
	Name           string         `json:"name"`
	Type           string         `json:"type"`
	RepetitionType string         `json:"repetition_type"`
	NumChildren    int            `json:"num_children"`
	ConvertedType  string         `json:"converted_type"`
	LogicalType    map[string]any `json:"logical_type"`
}

func TestParquetInteropHyparquet(t *testing.T) {
	dir := hyparquetDir(t)
	files := writeInteropFiles(t)
	script := filepath.Join(dir, "read.mjs")
	if err := os.WriteFile(script, []byte(hyparquetScript), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{script}
	for _, f := range files {
		args = append(args, f.path)
	}
	cmd := exec.Command("node", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v: %s", err, stderr.String())
	}
	var got map[string]struct {
		NumRows string             `json:"num_rows"`
		Schema  []hyparquetElement `json:"schema"`
		First   map[string]any     `json:"first"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, f := range files {
		g, ok := got[f.path]
		if !ok {
			t.Fatalf("%s: not read", f.name)
		}
		if g.NumRows != fmt.Sprint(f.rows) {
			t.Errorf("%s: %s rows, want %d", f.name, g.NumRows, f.rows)
		}
		checkParquetSchema(t, f, g.Schema)
		for col, want := range f.first {
			if text := jsRender(g.First[col]); text != want {
				t.Errorf("%s.%s in hyparquet: %s, want %s", f.name, col, text, want)
			}
		}
	}
}

// checkParquetSchema compares the Parquet schema elements (depth-first, root first) with the
// documented Arrow schema: physical and logical types and, for fds's own files, nullability.
func checkParquetSchema(t *testing.T, f interopFile, elems []hyparquetElement) {
	t.Helper()
	if len(elems) == 0 || elems[0].NumChildren != f.schema.NumFields() {
		t.Errorf("%s: root has %d columns, documented %d", f.name, elems[0].NumChildren, f.schema.NumFields())
		return
	}
	i := 1
	for _, fl := range f.schema.Fields() {
		if i >= len(elems) {
			t.Errorf("%s: schema ends before %s", f.name, fl.Name)
			return
		}
		e := elems[i]
		wantRep := "REQUIRED"
		if fl.Nullable {
			wantRep = "OPTIONAL"
		}
		if e.Name != fl.Name || (f.storesArrowSchema && e.RepetitionType != wantRep) {
			t.Errorf("%s: element %s %s, documented %s %s", f.name, e.Name, e.RepetitionType, fl.Name, wantRep)
		}
		leafType := plainType(fl.Type)
		if lt, ok := leafType.(*arrow.ListType); ok {
			// LIST group > repeated group > element.
			if e.ConvertedType != "LIST" && logicalName(e) != "LIST" {
				t.Errorf("%s.%s: not annotated as a LIST: %+v", f.name, fl.Name, e)
			}
			i += 2
			if i >= len(elems) {
				t.Errorf("%s.%s: list without element", f.name, fl.Name)
				return
			}
			e = elems[i]
			leafType = lt.Elem()
		}
		if msg := parquetTypeMismatch(leafType, e); msg != "" {
			t.Errorf("%s.%s: %s", f.name, fl.Name, msg)
		}
		i++
	}
}

func logicalName(e hyparquetElement) string {
	if e.LogicalType == nil {
		return ""
	}
	s, _ := e.LogicalType["type"].(string)
	return s
}

// parquetTypeMismatch describes how a leaf element differs from the Parquet encoding of an Arrow
// type, or returns "".
func parquetTypeMismatch(t arrow.DataType, e hyparquetElement) string {
	switch t := t.(type) {
	case *arrow.TimestampType:
		if e.Type != "INT64" || logicalName(e) != "TIMESTAMP" || e.LogicalType["unit"] != "MICROS" || e.LogicalType["isAdjustedToUTC"] != true {
			return fmt.Sprintf("want INT64 TIMESTAMP(MICROS, adjusted to UTC), got %s %v", e.Type, e.LogicalType)
		}
	case *arrow.StringType:
		if e.Type != "BYTE_ARRAY" || (logicalName(e) != "STRING" && e.ConvertedType != "UTF8") {
			return fmt.Sprintf("want BYTE_ARRAY STRING, got %s %v %s", e.Type, e.LogicalType, e.ConvertedType)
		}
	case *arrow.Int64Type:
		if e.Type != "INT64" {
			return "want INT64, got " + e.Type
		}
	case *arrow.Float64Type:
		if e.Type != "DOUBLE" {
			return "want DOUBLE, got " + e.Type
		}
	case *arrow.BooleanType:
		if e.Type != "BOOLEAN" {
			return "want BOOLEAN, got " + e.Type
		}
	default:
		return "no expectation for " + t.String()
	}
	return ""
}

// jsRender renders a value decoded by hyparquet as the tests' text: {"us": n} timestamps as n,
// lists as JSON, whole numbers without a decimal point, null as null.
func jsRender(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case map[string]any:
		if us, ok := x["us"].(string); ok && len(x) == 1 {
			return us
		}
	case string:
		return x
	case float64:
		return FormatFloat(x, 64)
	case bool:
		return fmt.Sprint(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
