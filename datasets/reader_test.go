package datasets

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/fds-dev/fds/detectors"
)

var dictString = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

func TestEventRoundTripEveryTable(t *testing.T) {
	// Row groups of 1000 and batches of 300 rows: 2500 rows cross both boundaries, with a new
	// dictionary per row group.
	withSmallBlocks(t, 1000, 300)
	for _, table := range EventTables {
		t.Run(table, func(t *testing.T) {
			kind, _ := KindOfTable(table)
			dir := t.TempDir()
			want := genEvents(kind, 2500, 1)
			writeEvents(t, filepath.Join(dir, table+".parquet"), table, want)
			d, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readAll(t, d, table)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("read %d rows, wrote %d", len(got), len(want))
			}
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("row %d: got %+v, want %+v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestEventReaderRowsAndClose(t *testing.T) {
	dir := t.TempDir()
	writeEvents(t, filepath.Join(dir, "trades.parquet"), TableTrades, genEvents(detectors.KindTrade, 10, 2))
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.OpenEvents(TableTrades)
	if err != nil {
		t.Fatal(err)
	}
	var ev detectors.Event
	for i := 0; i < 4; i++ {
		if ok, err := r.Next(&ev); !ok || err != nil {
			t.Fatalf("Next: %v %v", ok, err)
		}
	}
	if r.Rows() != 4 {
		t.Fatalf("Rows() = %d after 4 rows", r.Rows())
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if ok, _ := r.Next(&ev); ok {
		t.Fatal("Next after Close returned a row")
	}
	if _, err := d.OpenEvents(TableAccounts); err == nil {
		t.Fatal("OpenEvents(accounts) should fail: not an event table")
	}
	if _, err := d.OpenEvents(TableOrders); err == nil {
		t.Fatal("OpenEvents of an absent table should fail")
	}
}

// TestReaderAcceptsOtherLayouts reads a file written as other tools do: plain and large strings
// instead of dictionaries, int32 ids, float32 prices, seconds and nanoseconds, no stored Arrow
// schema, and a missing nullable column.
func TestReaderAcceptsOtherLayouts(t *testing.T) {
	cases := []struct {
		name  string
		unit  arrow.TimeUnit
		tz    string
		raw   []int64
		micro []int64 // expected: exact conversions by hand (floor for ns)
		str   arrow.DataType
		plain bool
	}{
		{"seconds-naive-string", arrow.Second, "", []int64{1_700_000_000, 1_700_000_001, -1},
			[]int64{1_700_000_000_000_000, 1_700_000_001_000_000, -1_000_000}, arrow.BinaryTypes.String, true},
		{"millis-utc-large", arrow.Millisecond, "UTC", []int64{1_700_000_000_123, 1_700_000_000_124, 5},
			[]int64{1_700_000_000_123_000, 1_700_000_000_124_000, 5_000}, arrow.BinaryTypes.LargeString, false},
		{"nanos-tz-dict", arrow.Nanosecond, "Europe/Zurich", []int64{1_700_000_000_123_456_789, 1_700_000_000_123_457_000, -1},
			[]int64{1_700_000_000_123_456, 1_700_000_000_123_457, -1}, dictString, true},
		{"micros-string-schema", arrow.Microsecond, "UTC", []int64{1, 2, 3}, []int64{1, 2, 3}, arrow.BinaryTypes.String, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeCols(t, filepath.Join(dir, "trades.parquet"), tc.plain,
				tsCol("ts", tc.unit, tc.tz, tc.raw, nil),
				strCol("symbol", tc.str, "BTCUSDT", "BTCUSDT", "ETH USDT"),
				int32Col("trade_id", 7, 8, -9),
				float32Col("price", 1.5, 2.25, 3),
				float32Col("qty", 0.5, 1, 2),
				strCol("taker_side", tc.str, "buy", "sell", "buy"),
				strCol("maker_account", tc.str, "a", "\x00", "b"),
				// taker_account, maker_order_id and taker_order_id are absent: nullable.
				int64Col("extra", []int64{1, 2, 3}, nil), // ignored
			)
			d, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readAll(t, d, TableTrades)
			if err != nil {
				t.Fatal(err)
			}
			want := []detectors.Trade{
				{TradeID: 7, Price: 1.5, Qty: 0.5, TakerSide: detectors.Buy, MakerAccount: "a"},
				{TradeID: 8, Price: 2.25, Qty: 1, TakerSide: detectors.Sell},
				{TradeID: -9, Price: 3, Qty: 2, TakerSide: detectors.Buy, MakerAccount: "b"},
			}
			wantSym := []string{"BTCUSDT", "BTCUSDT", "ETH USDT"}
			if len(got) != 3 {
				t.Fatalf("got %d rows", len(got))
			}
			for i := range want {
				if got[i].TS != tc.micro[i] || got[i].Symbol != wantSym[i] || got[i].Kind != detectors.KindTrade || got[i].Trade != want[i] {
					t.Errorf("row %d: got %+v, want ts %d symbol %s %+v", i, got[i], tc.micro[i], wantSym[i], want[i])
				}
			}
		})
	}
}

func TestReaderErrorsNameFileRowColumn(t *testing.T) {
	ord := func(side string, account string) []testCol {
		return []testCol{
			tsCol("ts", arrow.Microsecond, "UTC", []int64{1, 2, 3}, nil),
			strCol("symbol", dictString, "X", "X", "X"),
			strCol("account_id", dictString, "a", account, "c"),
			int64Col("order_id", []int64{1, 2, 3}, nil),
			strCol("event", dictString, "new", "new", "cancel"),
			strCol("side", dictString, "buy", "sell", side),
			strCol("order_type", arrow.BinaryTypes.String, "limit", "limit", "market"),
			float64Col("price", []float64{1, 2, 3}, nil),
			float64Col("qty", []float64{1, 2, 3}, nil),
			float64Col("leaves_qty", []float64{1, 2, 3}, nil),
			boolCol("reduce_only", false, false, true),
			boolCol("post_only", false, false, true),
		}
	}
	without := func(cols []testCol, name string) []testCol {
		var out []testCol
		for _, c := range cols {
			if c.field.Name != name {
				out = append(out, c)
			}
		}
		return out
	}
	replace := func(cols []testCol, c testCol) []testCol {
		out := append([]testCol(nil), cols...)
		for i := range out {
			if out[i].field.Name == c.field.Name {
				out[i] = c
			}
		}
		return out
	}
	cases := []struct {
		name     string
		cols     []testCol
		wantRows int
		want     string // the error after the file path
	}{
		{"unknown enum", ord("BUY", "b"), 2, `: row 3: column side: unknown side "BUY" (want buy or sell)`},
		{"null required string", ord("buy", "\x00"), 1, `: row 2: column account_id: null in a required column`},
		{"null required ts", replace(ord("buy", "b"), tsCol("ts", arrow.Microsecond, "UTC", []int64{1, 2, 3}, []bool{true, true, false})), 2,
			`: row 3: column ts: null in a required column`},
		{"missing column", without(ord("buy", "b"), "leaves_qty"), 0, `: column leaves_qty: missing`},
		{"wrong type", replace(ord("buy", "b"), float64Col("order_id", []float64{1, 2, 3}, nil)), 0, `: column order_id: type float64, want integer`},
		{"ts not a timestamp", replace(ord("buy", "b"), int64Col("ts", []int64{1, 2, 3}, nil)), 0, `: column ts: type int64, want timestamp`},
		// 2^62 ms is past the int64 microsecond range (2^63 / 1000 < 2^62).
		{"millis overflow", replace(ord("buy", "b"), tsCol("ts", arrow.Millisecond, "", []int64{1, 1 << 62, 3}, nil)), 1,
			`: row 2: column ts: timestamp 4611686018427387904 ms out of range`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "orders.parquet")
			writeCols(t, path, false, tc.cols...)
			d, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readAll(t, d, TableOrders)
			if err == nil {
				t.Fatalf("no error; read %d rows", len(got))
			}
			if err.Error() != path+tc.want {
				t.Errorf("error\n got %q\nwant %q", err, path+tc.want)
			}
			if len(got) != tc.wantRows {
				t.Errorf("read %d rows before the error, want %d", len(got), tc.wantRows)
			}
		})
	}
}

// TestReaderErrorRowCountsWithinFile checks that the row number in an error is 1-based within its
// file, across batches, after a first file of other rows.
func TestReaderErrorRowCountsWithinFile(t *testing.T) {
	withSmallBlocks(t, 100, 64)
	dir := t.TempDir()
	events := genEvents(detectors.KindLiquidation, 300, 3)
	writeEvents(t, filepath.Join(dir, "liquidations", "a.parquet"), TableLiquidations, events[:50])
	n := 250
	sides := make([]string, n)
	for i := range sides {
		sides[i] = "sell"
	}
	sides[200] = "short" // row 201 of the second file, in its fourth batch of 64
	ts := make([]int64, n)
	for i := range ts {
		ts[i] = int64(i)
	}
	bad := filepath.Join(dir, "liquidations", "b.parquet")
	writeCols(t, bad, true,
		tsCol("ts", arrow.Microsecond, "UTC", ts, nil),
		strCol("symbol", arrow.BinaryTypes.String, make([]string, n)...),
		strCol("side", arrow.BinaryTypes.String, sides...),
		float64Col("qty", make([]float64, n), nil),
		float64Col("price", make([]float64, n), nil),
	)
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, d, TableLiquidations)
	want := bad + `: row 201: column side: unknown side "short" (want buy or sell)`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
	if len(got) != 50+200 {
		t.Fatalf("read %d rows before the error, want 250", len(got))
	}
}

func TestReaderRejectsCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.parquet")
	writeEvents(t, good, TableOrders, genEvents(detectors.KindOrder, 5000, 4))
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	// Garbage in the middle of the column chunks, with a valid footer.
	garbled := append([]byte(nil), data...)
	for i := 4; i < len(garbled)/2; i++ {
		garbled[i] ^= 0x5a
	}
	cases := []struct {
		name    string
		content []byte
	}{
		{"not parquet", []byte("ts,symbol\n1,BTCUSDT\n")},
		{"empty", nil},
		{"truncated", data[:len(data)/2]},
		{"footer only", data[len(data)-64:]},
		{"garbled pages", garbled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ds := t.TempDir()
			path := filepath.Join(ds, "orders.parquet")
			if err := os.WriteFile(path, tc.content, 0o644); err != nil {
				t.Fatal(err)
			}
			d, err := Open(ds)
			if err != nil {
				t.Fatal(err)
			}
			_, err = readAll(t, d, TableOrders)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, path+": ") || strings.Contains(msg, "\n") {
				t.Fatalf("error should be one line starting with the file path: %q", msg)
			}
			if _, err := d.FirstUnsorted(TableOrders); err == nil {
				t.Fatal("FirstUnsorted: no error")
			}
		})
	}
}

func TestNoAllocationPerRow(t *testing.T) {
	dir := t.TempDir()
	const n = 200_000
	writeEvents(t, filepath.Join(dir, "orders.parquet"), TableOrders, genEvents(detectors.KindOrder, n, 5))
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ev detectors.Event
	// Within a batch, once the 50 accounts have been seen, Next allocates nothing at all.
	r, err := d.OpenEvents(TableOrders)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := 0; i < 10_000; i++ {
		if ok, err := r.Next(&ev); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	if allocs := testing.AllocsPerRun(1000, func() { _, _ = r.Next(&ev) }); allocs != 0 {
		t.Fatalf("%v allocations per Next inside a batch, want 0", allocs)
	}

	allocs := testing.AllocsPerRun(1, func() {
		r, err := d.OpenEvents(TableOrders)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for {
			ok, err := r.Next(&ev)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
		}
	})
	// The rest are per file and per 64K-row batch (Arrow's page decoding), measured ~1000 per
	// batch: a few per 100 rows.
	if perRow := allocs / n; perRow > 0.05 {
		t.Fatalf("%.0f allocations for %d rows (%.3f per row)", allocs, n, perRow)
	}
}

func TestHivePartitionsAndPathOrder(t *testing.T) {
	root := t.TempDir()
	// A folder name with a space, quotes, an ampersand and non-ASCII letters.
	dir := filepath.Join(root, `it's "a" & ünïcode data`)
	mark := func(ts int64) []testCol {
		return []testCol{
			tsCol("ts", arrow.Microsecond, "UTC", []int64{ts}, nil),
			float64Col("mark_price", []float64{float64(ts)}, nil),
			float64Col("index_price", []float64{1}, nil),
		}
	}
	// Path order: symbol=BTC%2FUSD (decoded BTC/USD) < symbol=ETHUSDT < symbol=ETHUSDT-x.
	writeCols(t, filepath.Join(dir, "marks", "symbol=ETHUSDT", "part-1.parquet"), true, mark(3)...)
	writeCols(t, filepath.Join(dir, "marks", "symbol=ETHUSDT", "part-0.parquet"), true, mark(2)...)
	writeCols(t, filepath.Join(dir, "marks", "symbol=BTC%2FUSD", "day=1", "x.parquet"), true, mark(1)...)
	// The file's own symbol column wins over the folder's.
	own := append(mark(4), strCol("symbol", arrow.BinaryTypes.String, "OWN"))
	writeCols(t, filepath.Join(dir, "marks", "symbol=ETHUSDT-x", "a b.parquet"), true, own...)
	// Skipped: hidden and temporary files, other extensions.
	for _, p := range []string{".hidden.parquet", "_SUCCESS", "symbol=ETHUSDT/.part-2.parquet.123.tmp", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, "marks", p), []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{
		filepath.Join(dir, "marks", "symbol=BTC%2FUSD", "day=1", "x.parquet"),
		filepath.Join(dir, "marks", "symbol=ETHUSDT", "part-0.parquet"),
		filepath.Join(dir, "marks", "symbol=ETHUSDT", "part-1.parquet"),
		filepath.Join(dir, "marks", "symbol=ETHUSDT-x", "a b.parquet"),
	}
	if got := d.Files(TableMarks); !reflect.DeepEqual(got, wantFiles) {
		t.Fatalf("Files:\n got %q\nwant %q", got, wantFiles)
	}
	got, err := readAll(t, d, TableMarks)
	if err != nil {
		t.Fatal(err)
	}
	wantSyms := []string{"BTC/USD", "ETHUSDT", "ETHUSDT", "OWN"}
	for i, ev := range got {
		if ev.Symbol != wantSyms[i] || ev.TS != int64(i+1) || ev.Mark.MarkPrice != float64(i+1) || ev.Mark.HasFunding {
			t.Errorf("row %d: %+v, want symbol %s ts %d", i, ev, wantSyms[i], i+1)
		}
	}
	if len(got) != 4 {
		t.Fatalf("read %d rows, want 4", len(got))
	}
}

func TestPartitionValueErrors(t *testing.T) {
	dir := t.TempDir()
	cols := []testCol{
		tsCol("ts", arrow.Microsecond, "UTC", []int64{1}, nil),
		strCol("symbol", arrow.BinaryTypes.String, "X"),
		float64Col("qty", []float64{1}, nil),
		float64Col("price", []float64{1}, nil),
	}
	path := filepath.Join(dir, "liquidations", "side=long", "p.parquet")
	writeCols(t, path, true, cols...)
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = readAll(t, d, TableLiquidations)
	want := path + `: row 1: column side: partition folder side=long: unknown side "long" (want buy or sell)`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v\nwant %s", err, want)
	}

	dir2 := t.TempDir()
	path2 := filepath.Join(dir2, "liquidations", "side=buy", "ts=5", "p.parquet")
	writeCols(t, path2, true, cols[1:]...)
	d2, err := Open(dir2)
	if err != nil {
		t.Fatal(err)
	}
	_, err = readAll(t, d2, TableLiquidations)
	want2 := path2 + `: column ts: missing (a partition folder cannot supply a timestamp column)`
	if err == nil || err.Error() != want2 {
		t.Fatalf("error %v\nwant %s", err, want2)
	}
}

func TestCheckSorted(t *testing.T) {
	withSmallBlocks(t, 100, 64)
	dir := t.TempDir()
	events := genEvents(detectors.KindTrade, 400, 6)
	writeEvents(t, filepath.Join(dir, "trades", "0.parquet"), TableTrades, events[:150])
	writeEvents(t, filepath.Join(dir, "trades", "1.parquet"), TableTrades, events[150:])
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	sorted, bad, err := d.CheckSorted(TableTrades)
	if err != nil || !sorted || bad != 0 {
		t.Fatalf("sorted table: %v %d %v", sorted, bad, err)
	}

	// The first file ends after the second file's first row: row 151 of the table (row 1 of
	// 1.parquet) is out of order. Equal ts are in order.
	events[149].TS = events[150].TS + 1
	events[148].TS = events[149].TS
	writeEvents(t, filepath.Join(dir, "trades", "0.parquet"), TableTrades, events[:150])
	u, err := d.FirstUnsorted(TableTrades)
	if err != nil {
		t.Fatal(err)
	}
	want := &Unsorted{Row: 151, File: filepath.Join(dir, "trades", "1.parquet"), FileRow: 1, TS: events[150].TS, PrevTS: events[150].TS + 1}
	if !reflect.DeepEqual(u, want) {
		t.Fatalf("FirstUnsorted = %+v, want %+v", u, want)
	}
	sorted, bad, err = d.CheckSorted(TableTrades)
	if err != nil || sorted || bad != 151 {
		t.Fatalf("CheckSorted = %v %d %v, want false 151", sorted, bad, err)
	}

	// Inside a file, past a batch boundary: row 300 of the table is row 150 of 1.parquet.
	events[149].TS, events[148].TS = events[150].TS, events[150].TS
	events[299].TS = events[298].TS - 1
	writeEvents(t, filepath.Join(dir, "trades", "0.parquet"), TableTrades, events[:150])
	writeEvents(t, filepath.Join(dir, "trades", "1.parquet"), TableTrades, events[150:])
	u, err = d.FirstUnsorted(TableTrades)
	if err != nil || u == nil || u.Row != 300 || u.FileRow != 150 {
		t.Fatalf("FirstUnsorted = %+v, %v; want row 300 (file row 150)", u, err)
	}
}

func TestOpenErrors(t *testing.T) {
	root := t.TempDir()
	empty := filepath.Join(root, "empty")
	both := filepath.Join(root, "both")
	noFiles := filepath.Join(root, "nofiles")
	for _, p := range []string{empty, filepath.Join(both, "orders"), filepath.Join(noFiles, "trades", "symbol=X")} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeEvents(t, filepath.Join(both, "orders.parquet"), TableOrders, nil)
	writeEvents(t, filepath.Join(both, "orders", "x.parquet"), TableOrders, nil)
	notDir := filepath.Join(root, "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ dir, want string }{
		{filepath.Join(root, "missing"), "does not exist"},
		{notDir, "not a folder"},
		{empty, "no tables"},
		{both, "table orders is both orders.parquet and orders/"},
		{noFiles, "no Parquet files"},
	}
	for _, tc := range cases {
		_, err := Open(tc.dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.dir) {
			t.Errorf("Open(%s) = %v, want an error naming the folder and saying %q", tc.dir, err, tc.want)
		}
	}
}

func TestOpenListsTables(t *testing.T) {
	dir := t.TempDir()
	writeEvents(t, filepath.Join(dir, "trades.parquet"), TableTrades, genEvents(detectors.KindTrade, 3, 1))
	writeEvents(t, filepath.Join(dir, "marks", "m.parquet"), TableMarks, genEvents(detectors.KindMark, 3, 1))
	if err := WriteAccounts(filepath.Join(dir, "accounts.parquet"), nil); err != nil {
		t.Fatal(err)
	}
	// Not tables: other files and a file named like a table without the extension.
	for _, p := range []string{"README.md", "orders", "alerts.parquet"} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Tables(), []string{TableTrades, TableMarks, TableAccounts}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Tables() = %v, want %v", got, want)
	}
	if !d.Has(TableMarks) || d.Has(TableOrders) || d.Files(TableOrders) != nil && len(d.Files(TableOrders)) != 0 {
		t.Fatal("Has/Files disagree with the folder")
	}
	// An empty table file reads as no rows.
	acc, err := d.Accounts()
	if err != nil || len(acc) != 0 {
		t.Fatalf("Accounts() = %v, %v", acc, err)
	}
	labels, err := d.Labels()
	if err != nil || labels != nil {
		t.Fatalf("Labels() of an absent table = %v, %v", labels, err)
	}
}

func TestEmptyEventFileReadsNoRows(t *testing.T) {
	dir := t.TempDir()
	writeEvents(t, filepath.Join(dir, "orders.parquet"), TableOrders, nil)
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, d, TableOrders)
	if err != nil || len(got) != 0 {
		t.Fatalf("got %d rows, %v", len(got), err)
	}
	if sorted, _, err := d.CheckSorted(TableOrders); !sorted || err != nil {
		t.Fatalf("empty table sorted = %v, %v", sorted, err)
	}
}

// FuzzReadOrders feeds arbitrary bytes as an orders file: the reader must never panic, and every
// error must be one line naming the file.
func FuzzReadOrders(f *testing.F) {
	seedDir := f.TempDir()
	seed := filepath.Join(seedDir, "orders.parquet")
	writeEvents(f, seed, TableOrders, genEvents(detectors.KindOrder, 50, 9))
	data, err := os.ReadFile(seed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:len(data)-10])
	f.Add(append([]byte("PAR1"), data[len(data)/2:]...))
	f.Fuzz(func(t *testing.T, content []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "orders.parquet")
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		_, err = readAll(t, d, TableOrders)
		if err != nil && (!strings.HasPrefix(err.Error(), path+": ") || strings.Contains(err.Error(), "\n")) {
			t.Fatalf("error not one line naming the file: %q", err)
		}
	})
}

func TestDictCacheKeepsEntriesOfTheSameDictionary(t *testing.T) {
	mk := func(values ...string) stringValues {
		return strCol("x", arrow.BinaryTypes.String, values...).arr.(stringValues)
	}
	var d dictCache
	d.use(mk("a", "b"))
	d.stamp[0], d.strs[0] = d.gen, "a"
	gen := d.gen
	// Same values in a new array, then extended at the end: entry 0 stays cached.
	d.use(mk("a", "b"))
	d.use(mk("a", "b", "c"))
	if d.gen != gen || d.stamp[0] != gen || d.stamp[2] == gen {
		t.Fatalf("extension dropped the cache: gen %d→%d, stamps %v", gen, d.gen, d.stamp)
	}
	// Different values (same lengths): a new generation.
	for _, values := range [][]string{{"a", "x", "c"}, {"b", "a"}, {"ab"}} {
		d.use(mk(values...))
		if d.gen == gen || d.stamp[0] == d.gen {
			t.Fatalf("%v: kept the cache of another dictionary", values)
		}
		gen = d.gen
	}
}

// TestCorruptStoredArrowSchema reads a file whose stored Arrow schema (footer key ARROW:schema)
// has one corrupt byte: arrow-go alone runs out of memory on it (an unchecked flatbuffer length),
// fatally. The reader ignores the stored schema, so the file reads like the original: the 50 orders
// of genEvents(KindOrder, 50, 9) (the file is that output of EventWriter with byte 5185 changed).
func TestCorruptStoredArrowSchema(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "corrupt-arrow-schema.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "orders.parquet"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, d, TableOrders)
	if err != nil {
		t.Fatal(err)
	}
	if want := genEvents(detectors.KindOrder, 50, 9); !reflect.DeepEqual(got, want) {
		t.Fatalf("read %d rows that differ from the original", len(got))
	}
}

func TestOpenSparkStyleTableFolder(t *testing.T) {
	dir := t.TempDir()
	// Spark names the output folder like a file.
	writeEvents(t, filepath.Join(dir, "trades.parquet", "part-00000.parquet"), TableTrades, genEvents(detectors.KindTrade, 5, 1))
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, d, TableTrades)
	if err != nil || len(got) != 5 {
		t.Fatalf("read %d rows, %v", len(got), err)
	}
	writeEvents(t, filepath.Join(dir, "trades", "x.parquet"), TableTrades, nil)
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "table trades is both trades.parquet/ and trades/") {
		t.Fatalf("both trades.parquet/ and trades/: %v", err)
	}
}

func TestParsePartitionPath(t *testing.T) {
	cases := []struct {
		rel  string
		want []Partition
	}{
		{".", nil},
		{"plain/folders", nil},
		{"symbol=BTCUSDT", []Partition{{Key: "symbol", Value: "BTCUSDT"}}},
		{"symbol=BTC%2FUSD/x/date=2024-01-01", []Partition{{Key: "symbol", Value: "BTC/USD"}, {Key: "date", Value: "2024-01-01"}}},
		{"account_id=__HIVE_DEFAULT_PARTITION__", []Partition{{Key: "account_id", Null: true}}},
		{"k=a/k=b", []Partition{{Key: "k", Value: "b"}}},
		{"=v/k=%zz/e=", []Partition{{Key: "k", Value: "%zz"}, {Key: "e", Value: ""}}},
	}
	for _, tc := range cases {
		if got := ParsePartitionPath(tc.rel); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParsePartitionPath(%q) = %+v, want %+v", tc.rel, got, tc.want)
		}
	}
}
