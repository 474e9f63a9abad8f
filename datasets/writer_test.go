package datasets

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/fds-dev/fds/detectors"
)

// writeTwiceIdentical runs write into two paths and checks the files are byte-identical.
func writeTwiceIdentical(t *testing.T, name string, write func(path string) error) string {
	t.Helper()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a", name), filepath.Join(dir, "b", name)
	if err := write(a); err != nil {
		t.Fatal(err)
	}
	if err := write(b); err != nil {
		t.Fatal(err)
	}
	da, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(da, db) {
		t.Fatalf("%s: two writes of the same rows differ (%d vs %d bytes)", name, len(da), len(db))
	}
	return a
}

func TestEventWriterDeterministic(t *testing.T) {
	withSmallBlocks(t, 1000, 64*1024)
	for _, table := range EventTables {
		kind, _ := KindOfTable(table)
		events := genEvents(kind, 2500, 11)
		writeTwiceIdentical(t, table+".parquet", func(path string) error {
			writeEvents(t, path, table, events)
			return nil
		})
	}
}

// TestLargeRowGroupsDeterministic writes, twice each, tables with more distinct values per
// column than a 1 MiB dictionary page holds (arrow-go's default limit: 131,072 8-byte values):
// 140,000 orders in one row group (ts, order_id, price, qty and leaves_qty nearly all distinct)
// and 140,000 accounts (2.2 MB of distinct account ids). Past that limit arrow-go abandons the
// dictionary mid-column (falls back to plain) and writes the chunk's page-encoding statistics in
// map order, which varies: the same rows gave different bytes. A byte comparison catches that
// only sometimes (a 2-entry Go map swaps its order about one time in eight), so the test also
// requires every column chunk's data pages to share one encoding, which no fallback leaves.
func TestLargeRowGroupsDeterministic(t *testing.T) {
	const rows = 140_000
	events := genEvents(detectors.KindOrder, rows, 21)
	accounts := make([]detectors.Account, rows)
	for i := range accounts {
		accounts[i] = detectors.Account{AccountID: fmt.Sprintf("acct-%07d", i), CreatedAt: int64(i), OwnerGroup: fmt.Sprintf("g%d", i/3)}
	}
	cases := map[string]func(path string) error{
		TableOrders: func(path string) error {
			writeEvents(t, path, TableOrders, events)
			return nil
		},
		TableAccounts: func(path string) error { return WriteAccounts(path, accounts) },
	}
	for _, table := range []string{TableOrders, TableAccounts} {
		path := writeTwiceIdentical(t, table+".parquet", cases[table])
		wantNoDictionaryFallback(t, path)
	}
}

// wantNoDictionaryFallback fails for every column chunk of the file whose data pages are in more
// than one encoding: a dictionary that fell back to plain.
func wantNoDictionaryFallback(t *testing.T, path string) {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	md := pf.MetaData()
	for rg := 0; rg < md.NumRowGroups(); rg++ {
		for c := 0; c < md.Schema.NumColumns(); c++ {
			cc, err := md.RowGroup(rg).ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			dataEncodings := map[parquet.Encoding]bool{}
			for _, st := range cc.EncodingStats() {
				if strings.HasPrefix(st.PageType.String(), "DATA_PAGE") {
					dataEncodings[st.Encoding] = true
				}
			}
			if len(dataEncodings) > 1 {
				t.Errorf("%s: row group %d, column %s: data pages in %d encodings %v: the dictionary fell back",
					filepath.Base(path), rg, md.Schema.Column(c).Path(), len(dataEncodings), cc.Encodings())
			}
		}
	}
}

// TestDictionariesStayBounded: the columns given Parquet dictionary pages are those whose
// dictionary cannot outgrow dictionaryPageLimit in a row group (Arrow dictionary strings, which
// the schema keeps for repetitive values, and float64: 8 bytes × rowGroupRows), in every table
// fds writes.
func TestDictionariesStayBounded(t *testing.T) {
	if 8*rowGroupRows >= dictionaryPageLimit {
		t.Fatalf("a float64 row group's dictionary (8 × %d bytes) can reach the %d-byte limit", rowGroupRows, dictionaryPageLimit)
	}
	schemas := map[string]*arrow.Schema{"accounts": AccountsSchema, "labels": LabelsSchema, "alerts": AlertsSchema, "matches": MatchesSchema}
	for _, table := range EventTables {
		schemas[table], _ = SchemaOf(table)
	}
	for name, schema := range schemas {
		props := writerProperties(schema)
		for _, f := range schema.Fields() {
			enabled := props.DictionaryEnabledFor(f.Name)
			want := f.Type.ID() == arrow.DICTIONARY || f.Type.ID() == arrow.FLOAT64
			if enabled != want {
				t.Errorf("%s.%s (%s): dictionary %v, want %v", name, f.Name, f.Type, enabled, want)
			}
		}
	}
}

// TestEventWriterFileLayout checks what other tools see: the canonical Arrow schema (stored,
// with dictionaries and UTC microseconds), row groups of rowGroupRows rows, zstd pages.
func TestEventWriterFileLayout(t *testing.T) {
	withSmallBlocks(t, 1000, 64*1024)
	path := filepath.Join(t.TempDir(), "orders.parquet")
	writeEvents(t, path, TableOrders, genEvents(detectors.KindOrder, 2500, 12))
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if got := pf.NumRowGroups(); got != 3 { // 1000 + 1000 + 500
		t.Fatalf("%d row groups, want 3", got)
	}
	cc, err := pf.MetaData().RowGroup(0).ColumnChunk(1)
	if err != nil {
		t.Fatal(err)
	}
	if cc.Compression().String() != "ZSTD" {
		t.Errorf("symbol column compression %s, want ZSTD", cc.Compression())
	}
	if !cc.HasDictionaryPage() {
		t.Error("symbol column has no dictionary page")
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := fr.Schema()
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range OrdersSchema.Fields() {
		if got := sc.Field(i); got.Name != f.Name || !arrow.TypeEqual(got.Type, f.Type) {
			t.Errorf("column %d: %s %s, want %s %s", i, got.Name, got.Type, f.Name, f.Type)
		}
	}
}

func TestEventWriterRejectsBadEvents(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "orders.parquet")
	w, err := NewEventWriter(path, TableOrders)
	if err != nil {
		t.Fatal(err)
	}
	good := genEvents(detectors.KindOrder, 1, 1)[0]
	cases := []struct {
		name string
		edit func(ev *detectors.Event)
		want string
	}{
		{"kind", func(ev *detectors.Event) { ev.Kind = detectors.KindTrade }, "a trade event in the orders table"},
		{"side", func(ev *detectors.Event) { ev.Order.Side = 0 }, "column side: side(0) is not buy or sell"},
		{"event", func(ev *detectors.Event) { ev.Order.Event = 9 }, "column event: event(9) is not an order event"},
		{"type", func(ev *detectors.Event) { ev.Order.Type = 0 }, "column order_type: order_type(0) is not an order type"},
	}
	for _, tc := range cases {
		ev := good
		tc.edit(&ev)
		err := w.Write(&ev)
		if err == nil || err.Error() != path+": row 1: "+tc.want {
			t.Errorf("%s: error %v, want %s", tc.name, err, tc.want)
		}
	}
	// A rejected event leaves the writer usable.
	if err := w.Write(&good); err != nil {
		t.Fatal(err)
	}
	if w.Rows() != 1 {
		t.Fatalf("Rows() = %d", w.Rows())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&good); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	if _, err := NewEventWriter(path, TableLabels); err == nil {
		t.Fatal("NewEventWriter(labels) succeeded")
	}
}

// TestWriterAtomic checks that nothing appears under the final name before Close, that Close
// leaves no temporary file, and that Abort leaves nothing at all.
func TestWriterAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "trades.parquet")
	events := genEvents(detectors.KindTrade, 100, 3)
	w, err := NewEventWriter(path, TableTrades)
	if err != nil {
		t.Fatal(err)
	}
	for i := range events {
		if err := w.Write(&events[i]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("final file exists before Close: %v", err)
	}
	// The temporary file is hidden from Open.
	if _, err := Open(dir); err == nil {
		t.Fatal("Open saw the temporary file as a table")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w.Abort() // no-op after Close
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "trades.parquet" {
		t.Fatalf("folder holds %v, want only trades.parquet", entries)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", info.Mode().Perm())
	}

	w2, err := NewEventWriter(filepath.Join(dir, "orders.parquet"), TableOrders)
	if err != nil {
		t.Fatal(err)
	}
	w2.Abort()
	if err := w2.Close(); err == nil {
		t.Fatal("Close after Abort succeeded")
	}
	entries, _ = os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("Abort left files: %v", entries)
	}
	// Unwritable destination: one error naming the file.
	if err := WriteAccounts(filepath.Join(path, "x.parquet"), nil); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("writing under a file: %v", err)
	}
}

func sampleAccounts() []detectors.Account {
	return []detectors.Account{
		{AccountID: "acct-2", CreatedAt: 1_600_000_000_000_000, OwnerGroup: "g1", IPHash: "ip1", DeviceHash: "d1", Referrer: "acct-1"},
		{AccountID: "acct-1", CreatedAt: -5, OwnerGroup: "g1"},
		{AccountID: "ünï 'q' &", CreatedAt: 7, OwnerGroup: "", DeviceHash: "d1"},
	}
}

func TestAccountsRoundTrip(t *testing.T) {
	accounts := sampleAccounts()
	path := writeTwiceIdentical(t, "accounts.parquet", func(p string) error { return WriteAccounts(p, accounts) })
	d, err := Open(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.Accounts()
	if err != nil {
		t.Fatal(err)
	}
	want := make(map[string]detectors.Account)
	for _, a := range accounts {
		want[a.AccountID] = a
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}

	dup := append(sampleAccounts(), detectors.Account{AccountID: "acct-1"})
	if err := WriteAccounts(filepath.Join(t.TempDir(), "accounts.parquet"), dup); err == nil || !strings.Contains(err.Error(), `account 3: account_id "acct-1" repeats account 1`) {
		t.Fatalf("duplicate account: %v", err)
	}
}

func TestAccountsReadErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "accounts.parquet")
	writeCols(t, path, true,
		strCol("account_id", arrow.BinaryTypes.String, "a", "b", "a"),
		tsCol("created_at", arrow.Millisecond, "UTC", []int64{1, 2, 3}, nil),
		strCol("owner_group", arrow.BinaryTypes.String, "g", "g", "g"),
	)
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Accounts()
	if want := path + `: row 3: column account_id: "a" appears twice`; err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
}

func sampleLabels() []Incident {
	return []Incident{
		{ID: "inc-1", Type: detectors.WashTrade, Symbol: "BTCUSDT", Accounts: []string{"a", "b"}, Start: 10, End: 20, Source: "synth"},
		{ID: "inc-2", Type: detectors.PumpAndDump, Symbol: "NULS-BTC", Start: 1_580_403_600_000_000, End: 1_580_403_600_000_000, Source: "pnd-binance-labels-498"},
	}
}

func TestLabelsRoundTrip(t *testing.T) {
	labels := sampleLabels()
	path := writeTwiceIdentical(t, "labels.parquet", func(p string) error { return WriteLabels(p, labels) })
	d, err := Open(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.Labels()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, labels) {
		t.Fatalf("got %+v\nwant %+v", got, labels)
	}
}

func TestLabelsErrors(t *testing.T) {
	bad := []struct {
		name string
		edit func(l []Incident)
		want string
	}{
		{"end before start", func(l []Incident) { l[1].End = l[1].Start - 1 }, "incident inc-2: end 1580403599999999 is before start 1580403600000000"},
		{"unknown type", func(l []Incident) { l[0].Type = "spoof" }, `incident inc-1: unknown incident type "spoof"`},
		{"duplicate id", func(l []Incident) { l[1].ID = "inc-1" }, `incident 1: id "inc-1" repeats incident 0`},
	}
	for _, tc := range bad {
		l := sampleLabels()
		tc.edit(l)
		err := WriteLabels(filepath.Join(t.TempDir(), "labels.parquet"), l)
		if err == nil || !strings.HasSuffix(err.Error(), tc.want) {
			t.Errorf("%s: WriteLabels error %v, want %s", tc.name, err, tc.want)
		}
	}

	// The reader checks the same, naming the file and row.
	dir := t.TempDir()
	path := filepath.Join(dir, "labels", "part-0.parquet")
	list := func(name string) testCol {
		b := pqListOfStrings(name, [][]string{{"a"}, nil})
		return b
	}
	writeCols(t, path, true,
		strCol("incident_id", arrow.BinaryTypes.String, "x", "y"),
		strCol("type", arrow.BinaryTypes.String, "spoofing", "layering"),
		strCol("symbol", arrow.BinaryTypes.String, "S", "S"),
		list("accounts"),
		tsCol("start_ts", arrow.Microsecond, "UTC", []int64{5, 9}, nil),
		tsCol("end_ts", arrow.Microsecond, "UTC", []int64{6, 8}, nil),
		strCol("source", arrow.BinaryTypes.String, "s", "s"),
	)
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Labels()
	if want := path + ": row 2: column end_ts: end 8 is before start 9"; err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
}

func sampleAlerts() []detectors.Alert {
	return []detectors.Alert{
		{
			Detector: "wash_trade", Type: detectors.WashTrade, Symbol: "BTCUSDT", Accounts: []string{"a", "b"},
			TS: 100, WindowStart: 50, WindowEnd: 100, Score: 0.75,
			Evidence: detectors.Evidence{
				OrderIDs: []int64{1, 2, 3}, TradeIDs: []int64{9},
				Features: map[string]float64{"z": 1.5, "a": -2e-9, "ratio": 1.0 / 3, "nan": math.NaN(), "inf": math.Inf(1), "ninf": math.Inf(-1)},
				Note:     "same owner \"g1\"",
			},
		},
		{Detector: "pump", Type: detectors.PumpAndDump, Symbol: "NULS-BTC", TS: 5, WindowStart: 1, WindowEnd: 5, Score: 3},
	}
}

func TestAlertsRoundTrip(t *testing.T) {
	alerts := sampleAlerts()
	path := writeTwiceIdentical(t, "alerts.parquet", func(p string) error { return WriteAlerts(p, alerts) })
	got, err := ReadAlerts(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d alerts", len(got))
	}
	// NaN != NaN: compare features separately.
	gf, wf := got[0].Evidence.Features, alerts[0].Evidence.Features
	if len(gf) != len(wf) || !math.IsNaN(gf["nan"]) {
		t.Fatalf("features %v, want %v", gf, wf)
	}
	for k, v := range wf {
		if k != "nan" && gf[k] != v {
			t.Errorf("feature %s = %v, want %v", k, gf[k], v)
		}
	}
	got[0].Evidence.Features, alerts[0].Evidence.Features = nil, nil
	if !reflect.DeepEqual(got, alerts) {
		t.Fatalf("got %+v\nwant %+v", got, alerts)
	}
}

func TestEncodeFeatures(t *testing.T) {
	// Keys sorted; shortest round-trip decimals; JSON escaping of keys.
	got := EncodeFeatures(map[string]float64{"b": 0.1, "a\"": 1e21, "c": math.Inf(-1)})
	if want := `{"a\"":1e+21,"b":0.1,"c":"-Infinity"}`; got != want {
		t.Fatalf("EncodeFeatures = %s, want %s", got, want)
	}
	if got := EncodeFeatures(nil); got != "{}" {
		t.Fatalf("EncodeFeatures(nil) = %s", got)
	}
	for _, bad := range []string{"[1]", `{"a":"x"}`, `{"a":true}`, "null"} {
		if _, err := DecodeFeatures(bad); err == nil {
			t.Errorf("DecodeFeatures(%s) succeeded", bad)
		}
	}
}

func TestMatchesRoundTrip(t *testing.T) {
	rows := []MatchRow{
		{Detector: "wash_trade", Outcome: OutcomeTP, AlertKey: "wash_trade|BTCUSDT|a,b|100", IncidentID: "inc-1", Symbol: "BTCUSDT", Score: 0.75, AlertTS: 100, IncidentStart: 40, TimeToDetect: 60},
		{Detector: "wash_trade", Outcome: OutcomeFP, AlertKey: "k2", Symbol: "ETHUSDT", Score: 0.5, AlertTS: 7},
		{Detector: "wash_trade", Outcome: OutcomeFN, IncidentID: "inc-2", Symbol: "BTCUSDT", Score: math.NaN(), IncidentStart: 3},
	}
	path := writeTwiceIdentical(t, "matches.parquet", func(p string) error { return WriteMatches(p, rows) })
	got, err := ReadMatches(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !math.IsNaN(got[2].Score) {
		t.Fatalf("got %+v", got)
	}
	got[2].Score, rows[2].Score = 0, 0
	if !reflect.DeepEqual(got, rows) {
		t.Fatalf("got %+v\nwant %+v", got, rows)
	}
	// The score column holds a null for the fn row.
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	st, err := pf.MetaData().RowGroup(0).ColumnChunk(5)
	if err != nil {
		t.Fatal(err)
	}
	stats, err := st.Statistics()
	if err != nil || stats == nil || stats.NullCount() != 1 {
		t.Fatalf("score null count: %v %v", stats, err)
	}
	if err := WriteMatches(filepath.Join(t.TempDir(), "m.parquet"), []MatchRow{{Outcome: "tn"}}); err == nil {
		t.Fatal("outcome tn accepted")
	}
}

// benchOrders fills events with n orders like a busy market's: ts rising by 0-999 µs, unique
// order ids, 8 symbols, 10,000 accounts, prices on 10,000 ticks, 100 sizes. Only a block of
// 65,536 rows is drawn at random and then repeated with later ts and ids, so that the benchmark
// times the writer rather than the random source.
func benchOrders(n int, emit func(*detectors.Event) error) error {
	const block = 1 << 16
	rng := rand.New(rand.NewPCG(42, 1))
	tmpl := make([]detectors.Event, block)
	ts := int64(1_700_000_000_000_000)
	for i := range tmpl {
		ts += int64(rng.IntN(1000))
		tmpl[i] = detectors.Event{Kind: detectors.KindOrder, TS: ts, Symbol: fmt.Sprintf("SYM%dUSDT", rng.IntN(8)),
			Order: detectors.Order{
				Account: fmt.Sprintf("acct-%05d", rng.IntN(10_000)), OrderID: int64(i + 1),
				Event: detectors.OrderEvent(1 + rng.IntN(6)), Side: detectors.Side(1 - 2*rng.IntN(2)),
				Type: detectors.OrderType(1 + rng.IntN(4)), Price: 100 + float64(rng.IntN(10_000))/100,
				Qty: float64(1 + rng.IntN(100)), LeavesQty: float64(rng.IntN(100)),
				ReduceOnly: rng.IntN(10) == 0, PostOnly: rng.IntN(5) == 0,
			}}
	}
	span := ts - tmpl[0].TS + 1
	for i := 0; i < n; i++ {
		ev := tmpl[i%block]
		round := int64(i / block)
		ev.TS += round * span
		ev.Order.OrderID += round * block
		if err := emit(&ev); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkWriteOrders writes 2 M orders (two full row groups and a part) through EventWriter
// per iteration and reports rows/s, CPU time per row (the encoding goroutine and the garbage
// collector included; steadier than wall time on a shared machine) and the file's bytes per row.
func BenchmarkWriteOrders(b *testing.B) {
	const rows = 2_000_000
	dir := b.TempDir()
	var size int64
	b.ReportAllocs()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		path := filepath.Join(dir, "orders.parquet")
		w, err := NewEventWriter(path, TableOrders)
		if err != nil {
			b.Fatal(err)
		}
		if err := benchOrders(rows, w.Write); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		info, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		size = info.Size()
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/(float64(rows)*float64(b.N)), "cpu-ns/row")
	b.ReportMetric(float64(size)/rows, "file-B/row")
}
