package duck

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

func openDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

// unsortedTrades makes n trades with ts drawn from a small range, so that many rows tie.
func unsortedTrades(n int, seed uint64, firstID int64) []detectors.Event {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]detectors.Event, n)
	for i := range out {
		side := detectors.Buy
		if rng.IntN(2) == 0 {
			side = detectors.Sell
		}
		out[i] = detectors.Event{
			TS: 1_700_000_000_000_000 + int64(rng.IntN(50)), Symbol: []string{"BTCUSDT", "ETHUSDT"}[rng.IntN(2)],
			Kind: detectors.KindTrade,
			Trade: detectors.Trade{
				TradeID: firstID + int64(i), Price: 100 + rng.Float64(), Qty: rng.Float64(), TakerSide: side,
				MakerAccount: "m'1", TakerAccount: []string{"", "t-ü"}[rng.IntN(2)], MakerOrderID: int64(i + 1),
			},
		}
	}
	return out
}

func writeTrades(t *testing.T, path string, events []detectors.Event) {
	t.Helper()
	w, err := datasets.NewEventWriter(path, datasets.TableTrades)
	if err != nil {
		t.Fatal(err)
	}
	for i := range events {
		if err := w.Write(&events[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func readEvents(t *testing.T, dir, table string) []detectors.Event {
	t.Helper()
	d, err := datasets.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.OpenEvents(table)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []detectors.Event
	for {
		var ev detectors.Event
		ok, err := r.Next(&ev)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		out = append(out, ev)
	}
}

func TestSortParquetStableAndCanonical(t *testing.T) {
	root := t.TempDir()
	// Quotes, spaces, an ampersand and non-ASCII letters in every path, including the output's.
	src := filepath.Join(root, `it's "in" & ünïcode`, "trades")
	f1, f2 := filepath.Join(src, "part 'a'.parquet"), filepath.Join(src, "part-b.parquet")
	e1, e2 := unsortedTrades(3000, 1, 1), unsortedTrades(2000, 2, 10_000)
	writeTrades(t, f1, e1)
	writeTrades(t, f2, e2)

	outDir := filepath.Join(root, "sorted 'x'")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(outDir, "trades.parquet")
	db := openDB(t)
	if err := db.SortParquet(context.Background(), []string{f1, f2}, dst); err != nil {
		t.Fatal(err)
	}

	// Expected: the input in file order, then row order, stably sorted by ts.
	want := append(append([]detectors.Event(nil), e1...), e2...)
	sort.SliceStable(want, func(i, j int) bool { return want[i].TS < want[j].TS })
	got := readEvents(t, outDir, datasets.TableTrades)
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("row %d: got %+v, want %+v", i, got[i], want[i])
		}
	}

	// ts is timestamp[us, UTC] in the file DuckDB wrote.
	pf, err := file.OpenParquetFile(dst, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := fr.Schema()
	if err != nil {
		t.Fatal(err)
	}
	if ts := sc.Field(0); ts.Name != "ts" || !arrow.TypeEqual(ts.Type, datasets.TS) {
		t.Fatalf("first column %s %s, want ts %s", ts.Name, ts.Type, datasets.TS)
	}
	entries, _ := os.ReadDir(outDir)
	if len(entries) != 1 {
		t.Fatalf("output folder holds %v, want only trades.parquet", entries)
	}
}

// writeMarksWithoutSymbol writes marks whose symbol comes from the partition folder, with ts in
// nanoseconds.
func writeMarksWithoutSymbol(t *testing.T, path string, tsNanos []int64) {
	t.Helper()
	dt := &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}
	tb := array.NewTimestampBuilder(memory.DefaultAllocator, dt)
	pb := array.NewFloat64Builder(memory.DefaultAllocator)
	for _, v := range tsNanos {
		tb.Append(arrow.Timestamp(v))
		pb.Append(float64(v))
	}
	ts, price := tb.NewArray(), pb.NewArray()
	sc := arrow.NewSchema([]arrow.Field{{Name: "ts", Type: dt}, {Name: "mark_price", Type: arrow.PrimitiveTypes.Float64}, {Name: "index_price", Type: arrow.PrimitiveTypes.Float64}}, nil)
	rec := array.NewRecordBatch(sc, []arrow.Array{ts, price, price}, -1)
	defer rec.Release()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := pqarrow.NewFileWriter(sc, f, nil, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSortParquetHivePartitionsAndSummary(t *testing.T) {
	root := t.TempDir()
	marks := filepath.Join(root, "ds", "marks")
	btc := filepath.Join(marks, "symbol=BTC USDT", "m.parquet")
	eth := filepath.Join(marks, "symbol=ETH%27S", "m.parquet") // %27 decodes to a quote
	writeMarksWithoutSymbol(t, btc, []int64{5_000, 1_999, 3_000})
	writeMarksWithoutSymbol(t, eth, []int64{2_500, 1_000})
	ds, err := datasets.Open(filepath.Join(root, "ds"))
	if err != nil {
		t.Fatal(err)
	}
	db := openDB(t)
	out := filepath.Join(root, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := db.SortParquet(context.Background(), ds.Files(datasets.TableMarks), filepath.Join(out, "marks.parquet")); err != nil {
		t.Fatal(err)
	}
	got := readEvents(t, out, datasets.TableMarks)
	// ns → µs by floor: 1_999 ns is 1 µs. Sorted: 1 (BTC 1999ns), 1 (ETH 1000ns: tie, BTC's
	// file first), 2 (ETH 2500), 3 (BTC), 5 (BTC).
	type row struct {
		ts  int64
		sym string
	}
	want := []row{{1, "BTC USDT"}, {1, "ETH'S"}, {2, "ETH'S"}, {3, "BTC USDT"}, {5, "BTC USDT"}}
	if len(got) != len(want) {
		t.Fatalf("%d rows: %+v", len(got), got)
	}
	for i, w := range want {
		if got[i].TS != w.ts || got[i].Symbol != w.sym {
			t.Errorf("row %d: ts %d symbol %q, want %d %q", i, got[i].TS, got[i].Symbol, w.ts, w.sym)
		}
	}

	s, err := db.TableSummary(context.Background(), ds.Files(datasets.TableMarks))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Summary{Rows: 5, MinTS: 1, MaxTS: 5, Symbols: 2}); s != want {
		t.Fatalf("TableSummary = %+v, want %+v", s, want)
	}
}

func TestTableSummaryCountsTrades(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "trades 'q'.parquet")
	events := unsortedTrades(500, 3, 1)
	writeTrades(t, path, events)
	want := Summary{Rows: 500, MinTS: events[0].TS, MaxTS: events[0].TS}
	syms := map[string]bool{}
	for _, ev := range events {
		want.MinTS, want.MaxTS = min(want.MinTS, ev.TS), max(want.MaxTS, ev.TS)
		syms[ev.Symbol] = true
	}
	want.Symbols = len(syms)
	db := openDB(t)
	got, err := db.TableSummary(context.Background(), []string{path})
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("TableSummary = %+v, want %+v", got, want)
	}

	empty := filepath.Join(dir, "empty.parquet")
	writeTrades(t, empty, nil)
	got, err = db.TableSummary(context.Background(), []string{empty})
	if err != nil || got != (Summary{}) {
		t.Fatalf("empty table: %+v, %v", got, err)
	}
}

func TestSortParquetErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.parquet")
	writeTrades(t, good, unsortedTrades(10, 4, 1))
	junk := filepath.Join(dir, "junk'.parquet")
	if err := os.WriteFile(junk, []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	db := openDB(t)
	dst := filepath.Join(dir, "out", "x.parquet")
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		files []string
		want  string
	}{
		{"glob characters", []string{filepath.Join(dir, "a[1].parquet")}, "glob"},
		{"not parquet", []string{good, junk}, junk},
		{"missing", []string{filepath.Join(dir, "nope.parquet")}, "nope.parquet"},
		{"no files", nil, "no files"},
		{"repeated file", []string{good, good}, "listed twice"},
	}
	for _, tc := range cases {
		err := db.SortParquet(context.Background(), tc.files, dst)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line mentioning %q", tc.name, err, tc.want)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(dst))
	if len(entries) != 0 {
		t.Fatalf("failed sorts left %v", entries)
	}
}

func TestTableRoot(t *testing.T) {
	cases := []struct {
		files []string
		want  string
	}{
		{[]string{"/d/trades.parquet"}, "/d"},
		{[]string{"/d/t/symbol=A/x.parquet"}, "/d/t"},
		{[]string{"/d/t/symbol=A/day=1/x.parquet", "/d/t/symbol=B/y.parquet"}, "/d/t"},
		{[]string{"/d/t/a/x.parquet", "/d/t/ab/y.parquet"}, "/d/t"},
		{[]string{"/x=1/t/a.parquet", "/x=1/t/b.parquet"}, "/x=1/t"},
	}
	for _, tc := range cases {
		if got := tableRoot(tc.files); got != tc.want {
			t.Errorf("tableRoot(%q) = %s, want %s", tc.files, got, tc.want)
		}
	}
}

// BenchmarkSortParquetTrades sorts 1M trades in 4 unsorted files (ts drawn from 50 values per
// file, so that ties abound) into one file.
func BenchmarkSortParquetTrades(b *testing.B) {
	const perFile, files = 250_000, 4
	dir := b.TempDir()
	var src []string
	for f := 0; f < files; f++ {
		path := filepath.Join(dir, "trades", fmt.Sprintf("part-%d.parquet", f))
		w, err := datasets.NewEventWriter(path, datasets.TableTrades)
		if err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(uint64(f), 9))
		for i := 0; i < perFile; i++ {
			ev := detectors.Event{
				TS: 1_700_000_000_000_000 + int64(rng.IntN(1_000_000_000)), Symbol: "BTCUSDT", Kind: detectors.KindTrade,
				Trade: detectors.Trade{TradeID: int64(f*perFile + i + 1), Price: 100 + rng.Float64(), Qty: 1, TakerSide: detectors.Buy,
					MakerAccount: fmt.Sprintf("a%d", rng.IntN(1000)), TakerAccount: fmt.Sprintf("a%d", rng.IntN(1000))},
			}
			if err := w.Write(&ev); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		src = append(src, path)
	}
	db, err := Open(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	dst := filepath.Join(dir, "sorted.parquet")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := db.SortParquet(context.Background(), src, dst); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*perFile*files)/b.Elapsed().Seconds(), "rows/s")
}
