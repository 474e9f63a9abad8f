package datasets

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/fds-dev/fds/detectors"
)

// genEvents makes n deterministic events of a kind with ts rising by 0–2 ms per row, a few
// symbols and accounts, every enum value and some nulls in the nullable fields.
func genEvents(kind detectors.Kind, n int, seed uint64) []detectors.Event {
	rng := rand.New(rand.NewPCG(seed, 7))
	symbols := []string{"BTCUSDT", "ETHUSDT", "SOLUSDT", "ÄÖÜ-PERP"}
	accounts := make([]string, 50)
	for i := range accounts {
		accounts[i] = fmt.Sprintf("acct-%03d", i)
	}
	side := func() detectors.Side {
		if rng.IntN(2) == 0 {
			return detectors.Buy
		}
		return detectors.Sell
	}
	ts := int64(1_700_000_000_000_000)
	out := make([]detectors.Event, n)
	for i := range out {
		ts += int64(rng.IntN(2001))
		ev := detectors.Event{TS: ts, Symbol: symbols[rng.IntN(len(symbols))], Kind: kind}
		switch kind {
		case detectors.KindOrder:
			ev.Order = detectors.Order{
				Account: accounts[rng.IntN(len(accounts))], OrderID: int64(i + 1),
				Event: detectors.OrderEvent(1 + rng.IntN(6)), Side: side(),
				Type: detectors.OrderType(1 + rng.IntN(4)), Price: 100 + rng.Float64(),
				Qty: rng.Float64() * 10, LeavesQty: rng.Float64(), ReduceOnly: rng.IntN(3) == 0,
				PostOnly: rng.IntN(5) == 0,
			}
		case detectors.KindTrade:
			ev.Trade = detectors.Trade{TradeID: int64(i + 1), Price: 100 + rng.Float64(), Qty: rng.Float64(), TakerSide: side()}
			if rng.IntN(4) != 0 { // a quarter are public trades without accounts
				ev.Trade.MakerAccount = accounts[rng.IntN(len(accounts))]
				ev.Trade.TakerAccount = accounts[rng.IntN(len(accounts))]
				ev.Trade.MakerOrderID = int64(rng.IntN(1000) + 1)
				ev.Trade.TakerOrderID = int64(rng.IntN(1000) + 1)
			}
		case detectors.KindMark:
			ev.Mark = detectors.Mark{MarkPrice: 100 + rng.Float64(), IndexPrice: 100 + rng.Float64()}
			if rng.IntN(3) == 0 {
				ev.Mark.FundingRate, ev.Mark.HasFunding = rng.NormFloat64()*1e-4, true
			}
			if rng.IntN(2) == 0 {
				ev.Mark.OpenInterest, ev.Mark.HasOpenInterest = rng.Float64()*1e6, true
			}
		case detectors.KindLiquidation:
			ev.Liquidation = detectors.Liquidation{Side: side(), Qty: rng.Float64(), Price: 100 + rng.Float64()}
			if rng.IntN(3) != 0 {
				ev.Liquidation.Account = accounts[rng.IntN(len(accounts))]
			}
		}
		out[i] = ev
	}
	return out
}

// writeEvents writes events with EventWriter.
func writeEvents(t testing.TB, path, table string, events []detectors.Event) {
	t.Helper()
	w, err := NewEventWriter(path, table)
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

// readAll reads a table's events; the error is returned with the events read before it.
func readAll(t testing.TB, d *Dataset, table string) ([]detectors.Event, error) {
	t.Helper()
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
			return out, err
		}
		if !ok {
			return out, nil
		}
		out = append(out, ev)
	}
}

// column builders for hand-made files

type testCol struct {
	field arrow.Field
	arr   arrow.Array
}

func tsCol(name string, unit arrow.TimeUnit, tz string, values []int64, valid []bool) testCol {
	dt := &arrow.TimestampType{Unit: unit, TimeZone: tz}
	b := array.NewTimestampBuilder(memory.DefaultAllocator, dt)
	for i, v := range values {
		if valid != nil && !valid[i] {
			b.AppendNull()
		} else {
			b.Append(arrow.Timestamp(v))
		}
	}
	return testCol{arrow.Field{Name: name, Type: dt, Nullable: true}, b.NewArray()}
}

// strCol builds a string column; "\x00" stands for null.
func strCol(name string, dt arrow.DataType, values ...string) testCol {
	b := array.NewBuilder(memory.DefaultAllocator, dt)
	for _, v := range values {
		if v == "\x00" {
			b.AppendNull()
			continue
		}
		switch sb := b.(type) {
		case *array.StringBuilder:
			sb.Append(v)
		case *array.LargeStringBuilder:
			sb.Append(v)
		case *array.BinaryDictionaryBuilder:
			_ = sb.AppendString(v)
		case *array.BinaryBuilder:
			sb.AppendString(v)
		default:
			panic(fmt.Sprintf("strCol %T", b))
		}
	}
	return testCol{arrow.Field{Name: name, Type: dt, Nullable: true}, b.NewArray()}
}

func int32Col(name string, values ...int32) testCol {
	b := array.NewInt32Builder(memory.DefaultAllocator)
	b.AppendValues(values, nil)
	return testCol{arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int32, Nullable: true}, b.NewArray()}
}

func int64Col(name string, values []int64, valid []bool) testCol {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	b.AppendValues(values, valid)
	return testCol{arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int64, Nullable: true}, b.NewArray()}
}

func float32Col(name string, values ...float32) testCol {
	b := array.NewFloat32Builder(memory.DefaultAllocator)
	b.AppendValues(values, nil)
	return testCol{arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float32, Nullable: true}, b.NewArray()}
}

func float64Col(name string, values []float64, valid []bool) testCol {
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	b.AppendValues(values, valid)
	return testCol{arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64, Nullable: true}, b.NewArray()}
}

func boolCol(name string, values ...bool) testCol {
	b := array.NewBooleanBuilder(memory.DefaultAllocator)
	b.AppendValues(values, nil)
	return testCol{arrow.Field{Name: name, Type: arrow.FixedWidthTypes.Boolean, Nullable: true}, b.NewArray()}
}

// writeCols writes hand-made columns to a Parquet file (with the Arrow schema stored, as
// pyarrow does, unless plain is set, as DuckDB and Spark do).
func writeCols(t testing.TB, path string, plain bool, cols ...testCol) {
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
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy))
	arrProps := pqarrow.NewArrowWriterProperties()
	if !plain {
		arrProps = pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())
	}
	fw, err := pqarrow.NewFileWriter(sc, f, props, arrProps)
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

// withSmallBlocks makes the writer's row groups and the reader's batches small for the test, so
// that small files cross their boundaries.
func withSmallBlocks(t *testing.T, rowGroup int, batch int64) {
	oldRG, oldBatch := rowGroupRows, readBatchRows
	rowGroupRows, readBatchRows = rowGroup, batch
	t.Cleanup(func() { rowGroupRows, readBatchRows = oldRG, oldBatch })
}

// pqListOfStrings builds a list<string> column; a nil entry is an empty list.
func pqListOfStrings(name string, values [][]string) testCol {
	dt := arrow.ListOf(arrow.BinaryTypes.String)
	b := array.NewListBuilder(memory.DefaultAllocator, arrow.BinaryTypes.String)
	vb := b.ValueBuilder().(*array.StringBuilder)
	for _, v := range values {
		b.Append(true)
		for _, s := range v {
			vb.Append(s)
		}
	}
	return testCol{arrow.Field{Name: name, Type: dt, Nullable: true}, b.NewArray()}
}
