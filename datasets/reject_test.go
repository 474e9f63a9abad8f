package datasets

import (
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/fds-dev/fds/detectors"
)

// t0 is 2024-05-01T00:00:00Z in microseconds: a plausible instant.
const t0 = int64(1_714_521_600_000_000)

// badOrders writes an orders file of 12 rows where rows 2-11 each have one problem (by hand:
// the expected reason is listed per row) and rows 1 and 12 are good.
func badOrders(t *testing.T, path string) {
	t.Helper()
	nan := math.NaN()
	ts := []int64{t0, t0 + 1, t0 + 2, t0 + 3, t0 + 4, t0 + 5, t0 + 6, 4_200_000_000_000_000_000, 1_714_521_600_007, t0 + 9, t0 + 9, t0 + 10}
	valid := []bool{true, true, true, true, true, true, true, true, true, true, true, true}
	valid[1] = false // row 2: null ts
	writeCols(t, path, false,
		tsCol("ts", arrow.Microsecond, "UTC", ts, valid),
		strCol("symbol", dictString, "X", "X", "X", "X", "X", "X", "", "X", "X", "X", "X", "X"),
		strCol("account_id", dictString, "a", "a", "\x00", "a", "a", "a", "a", "a", "a", "a", "a", "a"),
		int64Col("order_id", []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 12}, nil),
		strCol("event", dictString, "new", "new", "new", "new", "new", "new", "new", "new", "new", "new", "new", "cancel"),
		strCol("side", dictString, "buy", "buy", "buy", "BUY", "buy", "buy", "buy", "buy", "buy", "buy", "buy", "sell"),
		strCol("order_type", dictString, "limit", "limit", "limit", "limit", "limit", "limit", "limit", "limit", "limit", "limit", "limit", "limit"),
		float64Col("price", []float64{1, 1, 1, 1, nan, 0, 1, 1, 1, 1, 1, 1}, nil),
		float64Col("qty", []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -2}, nil),
		float64Col("leaves_qty", []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0}, nil),
		boolCol("reduce_only", false, false, false, false, false, false, false, false, false, false, false, false),
		boolCol("post_only", false, false, false, false, false, false, false, false, false, false, false, false),
	)
}

func TestRejectingReaderCountsEveryProblemRow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "orders.parquet")
	badOrders(t, path)
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.OpenEventsWith(TableOrders, ReadOptions{Check: true, Reject: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var ids []int64
	for {
		var ev detectors.Event
		ok, err := r.Next(&ev)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		ids = append(ids, ev.Order.OrderID)
	}
	// Rows 1 and 10 are good (row 11 repeats order 10's new event at the same ts).
	if want := []int64{1, 10}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("delivered orders %v, want %v", ids, want)
	}
	rej := r.Rejections()
	want := map[string]int64{
		"ts: null":               1, // row 2
		"account_id: null":       1, // row 3
		"side: unknown_value":    1, // row 4
		"price: not_finite":      1, // row 5
		"price: zero":            1, // row 6: a limit order's new event at price 0
		"symbol: empty":          1, // row 7
		"ts: far_future":         1, // row 8: year 2103
		"ts: far_past":           1, // row 9: milliseconds in a microsecond column
		"order_id: duplicate_id": 1, // row 11
		"qty: negative":          1, // row 12
	}
	if rej.Rows != 10 || !reflect.DeepEqual(rej.ByReason, want) {
		t.Fatalf("rejections %d %v\nwant 10 %v", rej.Rows, rej.ByReason, want)
	}
	if got := r.Symbols(); !reflect.DeepEqual(got, []string{"X"}) {
		t.Fatalf("Symbols() = %v", got)
	}
	if r.Rows() != 2 {
		t.Fatalf("Rows() = %d, want the 2 delivered", r.Rows())
	}
	// The first five in read order, then the first of each further reason: all ten here.
	if len(rej.Examples) != 10 {
		t.Fatalf("%d examples, want 10", len(rej.Examples))
	}
	first := rej.Examples[0]
	if first.File != path || first.Row != 2 || first.Column != "ts" || first.Reason != ReasonNull {
		t.Fatalf("first example %+v", first)
	}
	if got := rej.Examples[2].Error(); got != path+`: row 4: column side: unknown side "BUY" (want buy or sell)` {
		t.Fatalf("example message %q", got)
	}
	if got := rej.Examples[7].Error(); !strings.Contains(got, "row 9: column ts: 1714521600007 (1970-01-20T20:15:21.600007Z) is before 1990-01-01T00:00:00Z") {
		t.Fatalf("far-past message %q", got)
	}
}

func TestCheckingReaderStopsAtTheFirstProblem(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "orders.parquet")
	badOrders(t, path)
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Without Check, only rows that do not decode are errors: row 2's null ts.
	r, err := d.OpenEventsWith(TableOrders, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAllFrom(r)
	if err == nil || err.Error() != path+": row 2: column ts: null in a required column" || len(got) != 1 {
		t.Fatalf("decode only: %d rows, %v", len(got), err)
	}
	// A file whose decodable rows fail a value check: the check's error, with its row.
	dir2 := t.TempDir()
	path2 := filepath.Join(dir2, "trades.parquet")
	writeCols(t, path2, true,
		tsCol("ts", arrow.Microsecond, "UTC", []int64{t0, t0 + 1, t0 + 2}, nil),
		strCol("symbol", arrow.BinaryTypes.String, "X", "X", "X"),
		int64Col("trade_id", []int64{1, 2, 3}, nil),
		float64Col("price", []float64{1, math.Inf(1), 1}, nil),
		float64Col("qty", []float64{1, 1, 1}, nil),
		strCol("taker_side", arrow.BinaryTypes.String, "buy", "sell", "buy"),
	)
	d2, err := Open(dir2)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := d2.OpenEventsWith(TableTrades, ReadOptions{Check: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err = readAllFrom(r2)
	if err == nil || err.Error() != path2+": row 2: column price: +Inf is not a finite number" || len(got) != 1 {
		t.Fatalf("check: %d rows, %v", len(got), err)
	}
	if _, err := r2.Next(&detectors.Event{}); err == nil {
		t.Fatal("Next after the error returned no error")
	}
}

func readAllFrom(r *EventReader) ([]detectors.Event, error) {
	defer r.Close()
	var out []detectors.Event
	for {
		var ev detectors.Event
		ok, err := r.Next(&ev)
		if err != nil || !ok {
			return out, err
		}
		out = append(out, ev)
	}
}

// TestWrongTimeUnitIsStructural: a ts column whose first value is implausible as microseconds
// but plausible in another unit fails the file whatever the policy.
func TestWrongTimeUnitIsStructural(t *testing.T) {
	cases := []struct {
		name string
		ts   int64
		want string
	}{
		// 2024-05-01T00:00:00Z in ms, s and ns.
		{"milliseconds", 1_714_521_600_000, "the column holds milliseconds, not microseconds; rewrite it with its unit (timestamp[ms])"},
		{"seconds", 1_714_521_600, "the column holds seconds, not microseconds"},
		{"nanoseconds", 1_714_521_600_000_000_000, "the column holds nanoseconds, not microseconds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "marks.parquet")
			writeCols(t, path, true,
				tsCol("ts", arrow.Microsecond, "UTC", []int64{tc.ts, tc.ts + 1}, nil),
				strCol("symbol", arrow.BinaryTypes.String, "X", "X"),
				float64Col("mark_price", []float64{1, 1}, nil),
				float64Col("index_price", []float64{1, 1}, nil),
			)
			d, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			r, err := d.OpenEventsWith(TableMarks, ReadOptions{Check: true, Reject: true})
			if err != nil {
				t.Fatal(err)
			}
			got, err := readAllFrom(r)
			if err == nil || !strings.HasPrefix(err.Error(), path+": row 1: column ts: ") || !strings.Contains(err.Error(), tc.want) || len(got) != 0 {
				t.Fatalf("%d rows, err %v", len(got), err)
			}
			if !strings.Contains(err.Error(), "2024-05-01T00:00:00Z as "+tc.name) {
				t.Fatalf("error does not give the instant in the guessed unit: %v", err)
			}
		})
	}
}

// TestRejectionsNameTheOriginalRowOfASortedCopy: a sorted copy carrying the provenance columns
// reports its problems at the original file and row.
func TestRejectionsNameTheOriginalRowOfASortedCopy(t *testing.T) {
	dir := t.TempDir()
	writeCols(t, filepath.Join(dir, "trades.parquet"), true,
		tsCol("ts", arrow.Microsecond, "UTC", []int64{t0, t0 + 1, t0 + 2}, nil),
		strCol("symbol", arrow.BinaryTypes.String, "X", "X", "X"),
		int64Col("trade_id", []int64{1, 2, 3}, nil),
		float64Col("price", []float64{1, 1, -1}, nil),
		float64Col("qty", []float64{1, 1, 1}, nil),
		strCol("taker_side", arrow.BinaryTypes.String, "buy", "bid", "buy"),
		int64Col(OriginFileColumn, []int64{1, 0, 1}, nil),
		int64Col(OriginRowColumn, []int64{0, 41, 6}, nil),
	)
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	origins := []string{"/data/trades/a.parquet", "/data/trades/b.parquet"}
	r, err := d.OpenEventsWith(TableTrades, ReadOptions{Check: true, Reject: true, Origins: origins})
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAllFrom(r)
	if err != nil || len(got) != 1 {
		t.Fatalf("%d rows, %v", len(got), err)
	}
	ex := r.Rejections().Examples
	if len(ex) != 2 || ex[0].Error() != `/data/trades/a.parquet: row 42: column taker_side: unknown side "bid" (want buy or sell)` ||
		ex[1].Error() != "/data/trades/b.parquet: row 7: column price: -1 is negative" {
		t.Fatalf("examples %v", ex)
	}
	// Stopping at the first problem names the original row too.
	r, _ = d.OpenEventsWith(TableTrades, ReadOptions{Check: true, Origins: origins})
	if _, err := readAllFrom(r); err == nil || !strings.HasPrefix(err.Error(), "/data/trades/a.parquet: row 42: column taker_side") {
		t.Fatalf("err %v", err)
	}
}

// TestRejectingAcrossBatches: bad rows in several batches and files are each counted once,
// the good ones all delivered in order.
func TestRejectingAcrossBatches(t *testing.T) {
	withSmallBlocks(t, 100, 64)
	dir := t.TempDir()
	n := 300
	sides := make([]string, n)
	ts := make([]int64, n)
	price := make([]float64, n)
	valid := make([]bool, n)
	for i := range sides {
		sides[i], ts[i], price[i], valid[i] = "buy", t0+int64(i), 1, true
		switch {
		case i%7 == 3:
			sides[i] = "up" // unknown
		case i%11 == 5:
			valid[i] = false // null ts
		case i%13 == 0:
			price[i] = 0
		}
	}
	for _, name := range []string{"a.parquet", "b.parquet"} {
		writeCols(t, filepath.Join(dir, "liquidations", name), true,
			tsCol("ts", arrow.Microsecond, "UTC", ts, valid),
			strCol("symbol", arrow.BinaryTypes.String, make([]string, n)...),
			strCol("side", dictString, sides...),
			float64Col("qty", price, nil),
			float64Col("price", price, nil),
		)
	}
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The symbol column is all empty strings: read without checks, decoding problems only.
	r, err := d.OpenEventsWith(TableLiquidations, ReadOptions{Reject: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAllFrom(r)
	if err != nil {
		t.Fatal(err)
	}
	// Without Check the zero prices pass: only unknown sides and null ts are rejected.
	decodeBad := 0
	for i := 0; i < n; i++ {
		if sides[i] == "up" || !valid[i] {
			decodeBad++
		}
	}
	rej := r.Rejections()
	if int64(len(got))+rej.Rows != int64(2*n) || rej.Rows != int64(2*decodeBad) {
		t.Fatalf("delivered %d, rejected %d; want %d rejected of %d", len(got), rej.Rows, 2*decodeBad, 2*n)
	}
	k := 0
	for f := 0; f < 2; f++ {
		for i := 0; i < n; i++ {
			if sides[i] == "up" || !valid[i] {
				continue
			}
			if got[k].TS != ts[i] {
				t.Fatalf("delivered row %d has ts %d, want %d", k, got[k].TS, ts[i])
			}
			k++
		}
	}
	if ex := rej.Examples[0]; ex.Row != 4 || !strings.HasSuffix(ex.File, "a.parquet") {
		t.Fatalf("first example %+v, want a.parquet row 4", ex)
	}
}

func TestFirstUnsortedSkipsRowsWithoutTS(t *testing.T) {
	dir := t.TempDir()
	writeCols(t, filepath.Join(dir, "marks.parquet"), true,
		tsCol("ts", arrow.Microsecond, "UTC", []int64{t0, 0, t0 + 5, t0 + 4}, []bool{true, false, true, true}),
		strCol("symbol", arrow.BinaryTypes.String, "X", "X", "X", "X"),
		float64Col("mark_price", []float64{1, 1, 1, 1}, nil),
		float64Col("index_price", []float64{1, 1, 1, 1}, nil),
	)
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	u, err := d.FirstUnsorted(TableMarks)
	if err != nil || u == nil || u.Row != 4 || u.FileRow != 4 || u.TS != t0+4 || u.PrevTS != t0+5 {
		t.Fatalf("FirstUnsorted = %+v, %v; want row 4", u, err)
	}
}

func TestGuessTimeUnit(t *testing.T) {
	cases := []struct {
		v    int64
		unit string
	}{
		{1_714_521_600_000, "milliseconds"},
		{1_714_521_600, "seconds"},
		{1_714_521_600_000_000_000, "nanoseconds"},
		{0, ""},
		{-5, ""},
		{math.MaxInt64, ""},
		{42, ""}, // 42 s, ms or ns are all in 1970
	}
	for _, tc := range cases {
		if u, _ := guessTimeUnit(tc.v); u != tc.unit {
			t.Errorf("guessTimeUnit(%d) = %q, want %q", tc.v, u, tc.unit)
		}
	}
}
