package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Hand-made Parquet files for the bad-input tests: columns built one by one so that a test can
// break exactly one thing (a type, a null, an enum value) the fds writers would refuse to write.

// col is one column of a hand-made file.
type col struct {
	field arrow.Field
	arr   arrow.Array
}

// nullF marks a null float and nullS a null string in the column builders below.
const nullS = "\x00"

func tsColumn(name string, unit arrow.TimeUnit, values []int64, nulls ...int) col {
	dt := &arrow.TimestampType{Unit: unit, TimeZone: "UTC"}
	b := array.NewTimestampBuilder(memory.DefaultAllocator, dt)
	for i, v := range values {
		if containsInt(nulls, i) {
			b.AppendNull()
		} else {
			b.Append(arrow.Timestamp(v))
		}
	}
	return col{arrow.Field{Name: name, Type: dt, Nullable: true}, b.NewArray()}
}

func stringColumn(name string, values ...string) col {
	b := array.NewStringBuilder(memory.DefaultAllocator)
	for _, v := range values {
		if v == nullS {
			b.AppendNull()
		} else {
			b.Append(v)
		}
	}
	return col{arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}, b.NewArray()}
}

func int64Column(name string, values []int64, nulls ...int) col {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	for i, v := range values {
		if containsInt(nulls, i) {
			b.AppendNull()
		} else {
			b.Append(v)
		}
	}
	return col{arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int64, Nullable: true}, b.NewArray()}
}

func float64Column(name string, values []float64, nulls ...int) col {
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	for i, v := range values {
		if containsInt(nulls, i) {
			b.AppendNull()
		} else {
			b.Append(v)
		}
	}
	return col{arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64, Nullable: true}, b.NewArray()}
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// writeColumns writes columns as one Parquet file (folders created).
func writeColumns(t testing.TB, path string, cols ...col) {
	t.Helper()
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	for i, c := range cols {
		fields[i], arrs[i] = c.field, c.arr
	}
	sc := arrow.NewSchema(fields, nil)
	rec := array.NewRecordBatch(sc, arrs, -1)
	defer rec.Release()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(sc, f, parquet.NewWriterProperties(), pqarrow.NewArrowWriterProperties())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// tradeRows is a trades table being built: good rows that a test then breaks.
type tradeRows struct {
	ts     []int64
	symbol []string
	id     []int64
	price  []float64
	qty    []float64
	side   []string
	maker  []string
	taker  []string
	// nulls per column name (row indices); drop lists columns to leave out; replace swaps a
	// column for another of the same name.
	nulls   map[string][]int
	drop    []string
	replace map[string]col
	extra   []col
	unit    arrow.TimeUnit
}

// t0us is 2024-05-01T00:00:00Z in microseconds.
const t0us = int64(1_714_521_600_000_000)

// goodTrades returns n valid trades of BTCUSDT, one a second, between two accounts.
func goodTrades(n int) *tradeRows {
	r := &tradeRows{nulls: map[string][]int{}, replace: map[string]col{}, unit: arrow.Microsecond}
	for i := 0; i < n; i++ {
		r.ts = append(r.ts, t0us+int64(i)*1_000_000)
		r.symbol = append(r.symbol, "BTCUSDT")
		r.id = append(r.id, int64(i+1))
		r.price = append(r.price, 100+float64(i%7))
		r.qty = append(r.qty, 1+float64(i%3))
		r.side = append(r.side, []string{"buy", "sell"}[i%2])
		r.maker = append(r.maker, "maker-1")
		r.taker = append(r.taker, "taker-1")
	}
	return r
}

func (r *tradeRows) write(t testing.TB, path string) {
	t.Helper()
	cols := []col{
		tsColumn("ts", r.unit, r.ts, r.nulls["ts"]...),
		stringColumn("symbol", r.symbol...),
		int64Column("trade_id", r.id, r.nulls["trade_id"]...),
		float64Column("price", r.price, r.nulls["price"]...),
		float64Column("qty", r.qty, r.nulls["qty"]...),
		stringColumn("taker_side", r.side...),
		stringColumn("maker_account", r.maker...),
		stringColumn("taker_account", r.taker...),
	}
	var out []col
	for _, c := range cols {
		if containsString(r.drop, c.field.Name) {
			continue
		}
		if rc, ok := r.replace[c.field.Name]; ok {
			c = rc
		}
		out = append(out, c)
	}
	writeColumns(t, path, append(out, r.extra...)...)
}

func containsString(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// wantOneLineError checks that stderr is exactly one line "fds: ..." containing want, without a
// stack trace.
func wantOneLineError(t *testing.T, stderr, want string) {
	t.Helper()
	s := strings.TrimSuffix(stderr, "\n")
	lines := strings.Split(s, "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "fds: ") || !strings.Contains(last, want) {
		t.Fatalf("stderr's last line %q, want \"fds: ...%s...\"\nstderr:\n%s", last, want, stderr)
	}
	if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
		t.Fatalf("stack trace on stderr:\n%s", stderr)
	}
}

// emptyListColumn builds a list<string> column of n empty lists.
func emptyListColumn(name string, n int) col {
	b := array.NewListBuilder(memory.DefaultAllocator, arrow.BinaryTypes.String)
	for i := 0; i < n; i++ {
		b.Append(true)
	}
	return col{arrow.Field{Name: name, Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true}, b.NewArray()}
}

// label is one row of a hand-made labels table (the fds writer refuses bad ones).
type label struct {
	id, typ, symbol string
	start, end      int64
}

func writeLabelRows(t testing.TB, path string, rows ...label) {
	t.Helper()
	var ids, types, symbols, sources []string
	var starts, ends []int64
	for _, r := range rows {
		ids, types, symbols, sources = append(ids, r.id), append(types, r.typ), append(symbols, r.symbol), append(sources, "test")
		starts, ends = append(starts, r.start), append(ends, r.end)
	}
	writeColumns(t, path, stringColumn("incident_id", ids...), stringColumn("type", types...), stringColumn("symbol", symbols...),
		emptyListColumn("accounts", len(rows)), tsColumn("start_ts", arrow.Microsecond, starts), tsColumn("end_ts", arrow.Microsecond, ends),
		stringColumn("source", sources...))
}
