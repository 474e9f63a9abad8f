package datasets

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/fds-dev/fds/detectors"
)

// rowGroupRows is the number of rows per Parquet row group written by fds: big enough for good
// compression and few footer entries, small enough that a writer buffers ~100 MB at most. A
// variable so that tests can cross row groups with small files.
var rowGroupRows = 1 << 20

// dictionaryPageLimit is the size a column chunk's dictionary may reach before arrow-go abandons
// it mid-chunk and writes the rest plain (a "fallback"). A fallback made files depend on map order:
// arrow-go writes the chunk's page-encoding statistics (a dictionary and a plain entry) from a Go
// map, so the same rows gave different bytes. arrow-go's default, 1 MiB, is 131,072 distinct
// 8-byte values, which a 2^20-row group of orders exceeds. At 64 MiB no dictionary fills up:
// a float64 column's holds at most 8 bytes × rowGroupRows = 8 MiB, and the strings encoded by
// dictionary are those the schema declares repetitive (symbols, accounts, enum names).
const dictionaryPageLimit = 64 << 20

// writerProperties are the Parquet settings of every table fds writes.
func writerProperties(schema *arrow.Schema) *parquet.WriterProperties {
	opts := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Zstd),
		// Dictionary pages only where values repeat and the dictionary stays bounded: Arrow
		// dictionary columns and float64 columns (prices and sizes repeat a lot; strings-only
		// dictionaries made orders files 20% bigger and decoded no faster, measured). Timestamps,
		// ids, free text (alert keys, features) and lists hardly repeat: their dictionary only
		// grew until it fell back. Plain ts and ids made a generated market 10% smaller
		// (orders -8%, trades -37%) at the same write and decode speed (docs/schema.md).
		parquet.WithDictionaryDefault(false),
		parquet.WithDictionaryPageSizeLimit(dictionaryPageLimit),
		parquet.WithStats(true),
		parquet.WithMaxRowGroupLength(int64(rowGroupRows)),
		parquet.WithAllocator(memory.DefaultAllocator),
	}
	for _, f := range schema.Fields() {
		if dictionaryEncoded(f.Type) {
			opts = append(opts, parquet.WithDictionaryFor(f.Name, true))
		}
	}
	return parquet.NewWriterProperties(opts...)
}

// dictionaryEncoded says whether a top-level column of this type gets Parquet dictionary pages.
func dictionaryEncoded(t arrow.DataType) bool {
	return t.ID() == arrow.DICTIONARY || t.ID() == arrow.FLOAT64
}

// parquetSink writes record batches to a temporary file in the destination's folder; commit
// renames it into place, so that a reader never sees a half-written file under the real name.
type parquetSink struct {
	path, tmp string
	f         *os.File
	bw        *bufio.Writer
	fw        *pqarrow.FileWriter
}

func newParquetSink(path string, schema *arrow.Schema) (*parquetSink, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// The leading dot hides the file from Open while it is being written.
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s := &parquetSink{path: path, tmp: f.Name(), f: f, bw: bufio.NewWriterSize(f, 1<<20)}
	props := writerProperties(schema)
	fw, err := pqarrow.NewFileWriter(schema, s.bw, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		s.abort()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.fw = fw
	return s, nil
}

func (s *parquetSink) write(rec arrow.RecordBatch) error {
	if err := s.fw.Write(rec); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	return nil
}

func (s *parquetSink) commit() error {
	err := s.fw.Close()
	s.fw = nil
	if err == nil {
		err = s.bw.Flush()
	}
	if err == nil {
		// On disk before the rename: a crash never leaves a named but empty file.
		err = s.f.Sync()
	}
	if err == nil {
		err = s.f.Chmod(0o644)
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f = nil
	if err == nil {
		err = os.Rename(s.tmp, s.path)
	}
	if err != nil {
		os.Remove(s.tmp)
		return fmt.Errorf("%s: %w", s.path, err)
	}
	return nil
}

func (s *parquetSink) abort() {
	if s.fw != nil {
		// Closing writes a footer into the temporary file, which is removed below anyway.
		_ = s.fw.Close()
		s.fw = nil
	}
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
	os.Remove(s.tmp)
}

// rowBatcher buffers rows in Arrow builders and writes a row group per rowGroupRows rows. A
// full row group is encoded and compressed by a goroutine of its own while the next one is
// being built (encoding costs about as much as producing the rows, in the generator), so at
// most two row groups are in memory; the file's bytes are those of writing in line.
type rowBatcher struct {
	sink    *parquetSink
	rb      *array.RecordBuilder
	pending int
	rows    int64

	queue chan arrow.RecordBatch // row groups for the writing goroutine; nil until the first
	done  chan error             // the writing goroutine's first error (or nil) when it ends
	err   error                  // a write error already received
}

func newRowBatcher(path string, schema *arrow.Schema) (*rowBatcher, error) {
	sink, err := newParquetSink(path, schema)
	if err != nil {
		return nil, err
	}
	return &rowBatcher{sink: sink, rb: array.NewRecordBuilder(memory.DefaultAllocator, schema)}, nil
}

// rowDone counts a row appended to every builder and flushes a full row group.
func (b *rowBatcher) rowDone() error {
	b.pending++
	b.rows++
	if b.pending >= rowGroupRows {
		return b.flush()
	}
	return nil
}

// flush hands the buffered rows to the writing goroutine as one row group. It reports an error
// of an earlier row group's write, if any came back already.
func (b *rowBatcher) flush() error {
	if b.err != nil {
		return b.err
	}
	if b.pending == 0 {
		return nil
	}
	if b.queue == nil {
		b.queue, b.done = make(chan arrow.RecordBatch), make(chan error, 1)
		go b.write(b.queue, b.done)
	}
	rec := b.rb.NewRecordBatch()
	b.pending = 0
	select {
	case b.queue <- rec:
		return nil
	case err := <-b.done:
		// The goroutine stopped at an error: it takes no more row groups.
		rec.Release()
		b.queue, b.err = nil, err
		return err
	}
}

// write is the writing goroutine: it writes row groups until the queue closes or a write
// fails, and reports the first error.
func (b *rowBatcher) write(queue <-chan arrow.RecordBatch, done chan<- error) {
	var err error
	for rec := range queue {
		if err == nil {
			err = b.sink.write(rec)
		}
		rec.Release()
		if err != nil {
			break
		}
	}
	done <- err
}

// wait closes the queue and waits for the writing goroutine.
func (b *rowBatcher) wait() error {
	if b.queue != nil {
		close(b.queue)
		b.queue = nil
		if err := <-b.done; err != nil && b.err == nil {
			b.err = err
		}
	}
	return b.err
}

func (b *rowBatcher) close() error {
	defer b.rb.Release()
	err := b.flush()
	if werr := b.wait(); err == nil {
		err = werr
	}
	if err != nil {
		b.sink.abort()
		return err
	}
	return b.sink.commit()
}

func (b *rowBatcher) abort() {
	b.wait()
	b.rb.Release()
	b.sink.abort()
}

// appendNullable appends s, or a null for the empty string.
func appendNullableString(b array.Builder, s string) {
	if s == "" {
		b.AppendNull()
		return
	}
	appendString(b, s)
}

func appendString(b array.Builder, s string) {
	switch sb := b.(type) {
	case *array.BinaryDictionaryBuilder:
		_ = sb.AppendString(s) // fails only for a non-string value, which s is not
	case *array.StringBuilder:
		sb.Append(s)
	default:
		panic(fmt.Sprintf("datasets: appendString to %T", b))
	}
}

// appendNullableInt appends v, or a null for 0 (the "unknown" of order ids in public data).
func appendNullableInt(b *array.Int64Builder, v int64) {
	if v == 0 {
		b.AppendNull()
		return
	}
	b.Append(v)
}

// ---------------------------------------------------------------------------------------------
// Events

// EventWriter writes one event table to a Parquet file, atomically: to a temporary file in the
// same folder, renamed into place by Close. Rows are buffered and written as row groups of
// rowGroupRows rows; string columns are dictionary encoded, pages zstd compressed. The same rows
// give a byte-identical file.
//
// Empty strings in nullable string columns and 0 in nullable order ids are written as nulls, and
// HasFunding/HasOpenInterest false as null funding rate/open interest: the reader gives them back
// as the same zero values.
type EventWriter struct {
	table string
	kind  detectors.Kind
	b     *rowBatcher
	err   error
	done  bool
	// Per-column builders, in the table's schema order.
	f []array.Builder
}

// NewEventWriter creates a writer of the named event table at path.
func NewEventWriter(path, table string) (*EventWriter, error) {
	kind, ok := KindOfTable(table)
	if !ok {
		return nil, fmt.Errorf("%s: %s is not an event table", path, table)
	}
	schema, _ := SchemaOf(table)
	b, err := newRowBatcher(path, schema)
	if err != nil {
		return nil, err
	}
	return &EventWriter{table: table, kind: kind, b: b, f: b.rb.Fields()}, nil
}

func validSide(s detectors.Side) bool { return s == detectors.Buy || s == detectors.Sell }

// Write appends one event of the writer's kind. Enum fields must hold a named value.
func (w *EventWriter) Write(ev *detectors.Event) error {
	if w.err != nil {
		return w.err
	}
	if w.done {
		return fmt.Errorf("%s: write after Close or Abort", w.b.sink.path)
	}
	if err := w.check(ev); err != nil {
		return fmt.Errorf("%s: row %d: %w", w.b.sink.path, w.b.rows+1, err)
	}
	f := w.f
	f[0].(*array.TimestampBuilder).Append(arrow.Timestamp(ev.TS))
	appendString(f[1], ev.Symbol)
	switch w.kind {
	case detectors.KindOrder:
		o := &ev.Order
		appendString(f[2], o.Account)
		f[3].(*array.Int64Builder).Append(o.OrderID)
		appendString(f[4], o.Event.String())
		appendString(f[5], o.Side.String())
		appendString(f[6], o.Type.String())
		f[7].(*array.Float64Builder).Append(o.Price)
		f[8].(*array.Float64Builder).Append(o.Qty)
		f[9].(*array.Float64Builder).Append(o.LeavesQty)
		f[10].(*array.BooleanBuilder).Append(o.ReduceOnly)
		f[11].(*array.BooleanBuilder).Append(o.PostOnly)
	case detectors.KindTrade:
		t := &ev.Trade
		f[2].(*array.Int64Builder).Append(t.TradeID)
		f[3].(*array.Float64Builder).Append(t.Price)
		f[4].(*array.Float64Builder).Append(t.Qty)
		appendString(f[5], t.TakerSide.String())
		appendNullableString(f[6], t.MakerAccount)
		appendNullableString(f[7], t.TakerAccount)
		appendNullableInt(f[8].(*array.Int64Builder), t.MakerOrderID)
		appendNullableInt(f[9].(*array.Int64Builder), t.TakerOrderID)
	case detectors.KindMark:
		m := &ev.Mark
		f[2].(*array.Float64Builder).Append(m.MarkPrice)
		f[3].(*array.Float64Builder).Append(m.IndexPrice)
		if m.HasFunding {
			f[4].(*array.Float64Builder).Append(m.FundingRate)
		} else {
			f[4].AppendNull()
		}
		if m.HasOpenInterest {
			f[5].(*array.Float64Builder).Append(m.OpenInterest)
		} else {
			f[5].AppendNull()
		}
	case detectors.KindLiquidation:
		l := &ev.Liquidation
		appendNullableString(f[2], l.Account)
		appendString(f[3], l.Side.String())
		f[4].(*array.Float64Builder).Append(l.Qty)
		f[5].(*array.Float64Builder).Append(l.Price)
	}
	if err := w.b.rowDone(); err != nil {
		w.fail(err)
		return err
	}
	return nil
}

// check rejects what the reader would refuse, so that a bad event fails where it is written.
func (w *EventWriter) check(ev *detectors.Event) error {
	if ev.Kind != w.kind {
		return fmt.Errorf("a %s event in the %s table", ev.Kind, w.table)
	}
	switch w.kind {
	case detectors.KindOrder:
		o := &ev.Order
		if !validSide(o.Side) {
			return fmt.Errorf("column side: %s is not buy or sell", o.Side)
		}
		if o.Event < detectors.OrderNew || o.Event > detectors.OrderReject {
			return fmt.Errorf("column event: %s is not an order event", o.Event)
		}
		if o.Type < detectors.Limit || o.Type > detectors.StopLimit {
			return fmt.Errorf("column order_type: %s is not an order type", o.Type)
		}
	case detectors.KindTrade:
		if !validSide(ev.Trade.TakerSide) {
			return fmt.Errorf("column taker_side: %s is not buy or sell", ev.Trade.TakerSide)
		}
	case detectors.KindLiquidation:
		if !validSide(ev.Liquidation.Side) {
			return fmt.Errorf("column side: %s is not buy or sell", ev.Liquidation.Side)
		}
	}
	return nil
}

func (w *EventWriter) fail(err error) {
	w.err = err
	w.done = true
	w.b.abort()
}

// Rows returns the number of events written so far.
func (w *EventWriter) Rows() int64 { return w.b.rows }

// Close flushes, closes and renames the file into place. After a failed Write, Close returns
// that error and leaves no file.
func (w *EventWriter) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.done {
		return fmt.Errorf("%s: Close after Close or Abort", w.b.sink.path)
	}
	w.done = true
	if err := w.b.close(); err != nil {
		w.err = err
		return err
	}
	return nil
}

// Abort removes the temporary file. It is a no-op after Close.
func (w *EventWriter) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.err = errors.New("writer aborted")
	w.b.abort()
}

// ---------------------------------------------------------------------------------------------
// Small tables

// writeRows writes n rows through appendRow, which appends row i to every builder.
func writeRows(path string, schema *arrow.Schema, n int, appendRow func(f []array.Builder, i int) error) error {
	b, err := newRowBatcher(path, schema)
	if err != nil {
		return err
	}
	f := b.rb.Fields()
	for i := 0; i < n; i++ {
		if err := appendRow(f, i); err != nil {
			b.abort()
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := b.rowDone(); err != nil {
			b.abort()
			return err
		}
	}
	return b.close()
}

// WriteAccounts writes the accounts table atomically, in the given order. Empty ip_hash,
// device_hash and referrer are written as nulls. An empty or repeated account_id is an error.
func WriteAccounts(path string, accounts []detectors.Account) error {
	seen := make(map[string]int, len(accounts))
	return writeRows(path, AccountsSchema, len(accounts), func(f []array.Builder, i int) error {
		a := &accounts[i]
		if a.AccountID == "" {
			return fmt.Errorf("account %d: empty account_id", i)
		}
		if j, dup := seen[a.AccountID]; dup {
			return fmt.Errorf("account %d: account_id %q repeats account %d", i, a.AccountID, j)
		}
		seen[a.AccountID] = i
		appendString(f[0], a.AccountID)
		f[1].(*array.TimestampBuilder).Append(arrow.Timestamp(a.CreatedAt))
		appendString(f[2], a.OwnerGroup)
		appendNullableString(f[3], a.IPHash)
		appendNullableString(f[4], a.DeviceHash)
		appendNullableString(f[5], a.Referrer)
		return nil
	})
}

// appendStringList appends a (possibly empty, never null) list of strings.
func appendStringList(b array.Builder, values []string) {
	lb := b.(*array.ListBuilder)
	lb.Append(true)
	vb := lb.ValueBuilder()
	for _, v := range values {
		appendString(vb, v)
	}
}

// appendIntList appends a (possibly empty, never null) list of int64.
func appendIntList(b array.Builder, values []int64) {
	lb := b.(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.Int64Builder).AppendValues(values, nil)
}

// WriteLabels writes the labels table atomically, in the given order. An empty or repeated
// incident id, a type outside the vocabulary or an end before the start is an error.
func WriteLabels(path string, incidents []Incident) error {
	seen := make(map[string]int, len(incidents))
	return writeRows(path, LabelsSchema, len(incidents), func(f []array.Builder, i int) error {
		inc := &incidents[i]
		if inc.ID == "" {
			return fmt.Errorf("incident %d: empty id", i)
		}
		if j, dup := seen[inc.ID]; dup {
			return fmt.Errorf("incident %d: id %q repeats incident %d", i, inc.ID, j)
		}
		seen[inc.ID] = i
		if _, err := detectors.ParseIncidentType(string(inc.Type)); err != nil {
			return fmt.Errorf("incident %s: %w", inc.ID, err)
		}
		if inc.End < inc.Start {
			return fmt.Errorf("incident %s: end %d is before start %d", inc.ID, inc.End, inc.Start)
		}
		appendString(f[0], inc.ID)
		appendString(f[1], string(inc.Type))
		appendString(f[2], inc.Symbol)
		appendStringList(f[3], inc.Accounts)
		f[4].(*array.TimestampBuilder).Append(arrow.Timestamp(inc.Start))
		f[5].(*array.TimestampBuilder).Append(arrow.Timestamp(inc.End))
		appendString(f[6], inc.Source)
		return nil
	})
}
