package datasets

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/fds-dev/fds/detectors"
)

// readBatchRows is the number of rows decoded per Arrow record batch: large enough to amortise
// per-batch work, small enough that a reader holds a few MB whatever the table size. A variable
// so that tests can cross batch boundaries with small files.
var readBatchRows int64 = 64 * 1024

// maxInterned bounds the string interner; past it the interner starts afresh (strings already
// handed out stay valid, later repeats are just not shared with them).
const maxInterned = 1 << 20

// ---------------------------------------------------------------------------------------------
// Column decoding

// colKind says how a column is decoded into Go values.
type colKind uint8

const (
	colTS         colKind = iota // any Arrow timestamp unit, converted to microseconds
	colString                    // string, large_string or a dictionary of either
	colSide                      // a string column holding detectors.Side names
	colOrderEvent                // a string column holding detectors.OrderEvent names
	colOrderType                 // a string column holding detectors.OrderType names
	colInt                       // any integer width
	colFloat                     // float32 or float64
	colBool                      // boolean
	colStringList                // list or large_list of strings
	colIntList                   // list or large_list of integers
)

func (k colKind) want() string {
	switch k {
	case colTS:
		return "timestamp"
	case colString, colSide, colOrderEvent, colOrderType:
		return "string"
	case colInt:
		return "integer"
	case colFloat:
		return "float"
	case colBool:
		return "boolean"
	case colStringList:
		return "list<string>"
	case colIntList:
		return "list<int64>"
	}
	return "?"
}

func isEnum(k colKind) bool { return k == colSide || k == colOrderEvent || k == colOrderType }

func isStringType(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.STRING, arrow.LARGE_STRING:
		return true
	case arrow.DICTIONARY:
		return isStringType(dt.(*arrow.DictionaryType).ValueType)
	}
	return false
}

func isIntType(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return true
	}
	return false
}

// accepts reports whether a column of Arrow type dt can be decoded as kind k.
func (k colKind) accepts(dt arrow.DataType) bool {
	switch k {
	case colTS:
		return dt.ID() == arrow.TIMESTAMP
	case colString, colSide, colOrderEvent, colOrderType:
		return isStringType(dt)
	case colInt:
		return isIntType(dt)
	case colFloat:
		return dt.ID() == arrow.FLOAT32 || dt.ID() == arrow.FLOAT64
	case colBool:
		return dt.ID() == arrow.BOOL
	case colStringList, colIntList:
		var elem arrow.DataType
		switch t := dt.(type) {
		case *arrow.ListType:
			elem = t.Elem()
		case *arrow.LargeListType:
			elem = t.Elem()
		default:
			return false
		}
		if k == colStringList {
			return isStringType(elem)
		}
		return isIntType(elem)
	}
	return false
}

// parseEnum parses an enum column's value.
func parseEnum(k colKind, s string) (int8, error) {
	switch k {
	case colSide:
		v, err := detectors.ParseSide(s)
		return int8(v), err
	case colOrderEvent:
		v, err := detectors.ParseOrderEvent(s)
		return int8(v), err
	case colOrderType:
		v, err := detectors.ParseOrderType(s)
		return int8(v), err
	}
	return 0, fmt.Errorf("not an enum column")
}

// interner shares one Go string per distinct value, so that decoding a repeated value allocates
// nothing (a map lookup keyed by a string that aliases Arrow memory does not copy it).
type interner struct{ m map[string]string }

func (in *interner) get(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := in.m[s]; ok {
		return v
	}
	if in.m == nil || len(in.m) >= maxInterned {
		in.m = make(map[string]string, 1024)
	}
	v := strings.Clone(s)
	in.m[v] = v
	return v
}

// stringValues is what *array.String and *array.LargeString have in common.
type stringValues interface {
	arrow.Array
	Value(int) string
}

// dictCache converts the entries of a batch's dictionary lazily, each at most once. Entries are
// stamped with a generation instead of clearing the arrays when the dictionary changes. pqarrow
// hands out a new dictionary array per batch, usually holding the same values (the row group's
// dictionary, possibly extended at the end), so the cache keeps a copy of the raw dictionary and
// keeps its entries while the new one starts with the same bytes.
type dictCache struct {
	gen    uint32
	stamp  []uint32
	strs   []string
	enums  []int8
	enumOK []bool
	errs   []string

	offsets []int64 // the cached dictionary's value offsets, from 0
	data    []byte  // the cached dictionary's value bytes
}

// rawDictionary returns a string dictionary's value offsets (n+1 of them, absolute) and bytes.
func rawDictionary(values stringValues) (offset func(i int) int64, data []byte) {
	switch v := values.(type) {
	case *array.String:
		offs := v.ValueOffsets()
		return func(i int) int64 { return int64(offs[i]) }, v.ValueBytes()
	case *array.LargeString:
		offs := v.ValueOffsets()
		return func(i int) int64 { return offs[i] }, v.ValueBytes()
	}
	return nil, nil
}

// use makes values the dictionary of the cache.
func (d *dictCache) use(values stringValues) {
	n := values.Len()
	offset, data := rawDictionary(values)
	old := len(d.offsets) - 1
	same := offset != nil && old >= 0 && n >= old && len(data) >= len(d.data) &&
		bytes.Equal(data[:len(d.data)], d.data)
	for i := 0; same && i <= old; i++ {
		same = offset(i)-offset(0) == d.offsets[i]
	}
	if !same {
		d.gen++
		if d.gen == 0 { // wrapped: old stamps could alias the new generation
			clear(d.stamp)
			d.gen = 1
		}
		d.offsets = d.offsets[:0]
		d.data = d.data[:0]
	}
	// Grow keeping the entries of a kept dictionary; entries past its end carry older stamps.
	if n > len(d.stamp) {
		extra := n - len(d.stamp)
		d.stamp = append(d.stamp, make([]uint32, extra)...)
		d.strs = append(d.strs, make([]string, extra)...)
		d.enums = append(d.enums, make([]int8, extra)...)
		d.enumOK = append(d.enumOK, make([]bool, extra)...)
		d.errs = append(d.errs, make([]string, extra)...)
	}
	if offset == nil {
		return
	}
	base := offset(0)
	for i := len(d.offsets); i <= n; i++ {
		d.offsets = append(d.offsets, offset(i)-base)
	}
	d.data = append(d.data[:0], data...)
}

// column is one column of a table being scanned, with its decoded values for the current batch.
type column struct {
	name     string
	kind     colKind
	nullable bool

	// Per file: when the file lacks the column, the hive partition value standing in for it, or
	// nil (all null).
	constant *Partition

	// Per batch, indexed by row within the batch. Only the slice of the column's kind is set.
	ints     []int64
	floats   []float64
	strs     []string
	enums    []int8
	bools    []bool
	strLists [][]string
	intLists [][]int64
	// valid is nil when every row of the batch is valid.
	valid []bool

	intBuf   []int64
	floatBuf []float64
	validBuf []bool
	dict     dictCache
}

// bad lists the undecodable rows of a batch for one column, in row order: a stopping reader
// reports the first, a rejecting one skips them all (see ReadOptions). fatal marks a problem of
// the whole file (a partition folder's value), which fails whatever the policy.
type bad struct {
	rows  []badRow
	fatal bool
}

// badRow is one undecodable row: reason is the problem class counted in a run's manifest.
type badRow struct {
	row         int
	reason, msg string
	col         *column
}

func noBad() bad { return bad{} }

func (b *bad) set(row int, reason, format string, args ...any) {
	b.rows = append(b.rows, badRow{row: row, reason: reason, msg: fmt.Sprintf(format, args...)})
}

// setFatal records a problem of the whole file, reported at its first row.
func (b *bad) setFatal(format string, args ...any) {
	b.set(0, ReasonBadPartition, format, args...)
	b.fatal = true
}

func growInts(buf []int64, n int) []int64 {
	if cap(buf) < n {
		return make([]int64, n)
	}
	return buf[:n]
}

func growFloats(buf []float64, n int) []float64 {
	if cap(buf) < n {
		return make([]float64, n)
	}
	return buf[:n]
}

func growStrings(buf []string, n int) []string {
	if cap(buf) < n {
		return make([]string, n)
	}
	return buf[:n]
}

func growEnums(buf []int8, n int) []int8 {
	if cap(buf) < n {
		return make([]int8, n)
	}
	return buf[:n]
}

func growBools(buf []bool, n int) []bool {
	if cap(buf) < n {
		return make([]bool, n)
	}
	return buf[:n]
}

// markNulls sets c.valid from arr's validity and flags a null in a required column.
func (c *column) markNulls(arr arrow.Array, n int, b *bad) {
	c.valid = nil
	if arr.NullN() == 0 {
		return
	}
	c.validBuf = growBools(c.validBuf, n)
	for i := 0; i < n; i++ {
		c.validBuf[i] = arr.IsValid(i)
	}
	c.valid = c.validBuf
	if !c.nullable {
		for i := 0; i < n; i++ {
			if !c.validBuf[i] {
				b.set(i, ReasonNull, "null in a required column")
			}
		}
	}
}

// bind decodes n rows of the column from the batch (arr is nil when the file lacks the column).
func (c *column) bind(arr arrow.Array, n int, in *interner) bad {
	b := noBad()
	if arr == nil {
		c.bindConstant(n, in, &b)
		return b
	}
	c.markNulls(arr, n, &b)
	switch c.kind {
	case colTS:
		c.bindTS(arr.(*array.Timestamp), n, &b)
	case colString, colSide, colOrderEvent, colOrderType:
		c.bindStrings(arr, n, in, &b)
	case colInt:
		c.bindInts(arr, n, &b)
	case colFloat:
		c.bindFloats(arr, n)
	case colBool:
		bools := arr.(*array.Boolean)
		c.bools = growBools(c.bools, n)
		for i := 0; i < n; i++ {
			c.bools[i] = bools.Value(i)
		}
	case colStringList, colIntList:
		c.bindLists(arr.(array.ListLike), n, in, &b)
	}
	return b
}

// bindConstant fills the batch with a partition value, or with nulls.
func (c *column) bindConstant(n int, in *interner, b *bad) {
	pv := c.constant
	null := pv == nil || pv.Null
	c.valid = nil
	if null {
		c.validBuf = growBools(c.validBuf, n)
		clear(c.validBuf)
		c.valid = c.validBuf
		if !c.nullable && n > 0 {
			b.setFatal("null in a required column (partition folder %s=%s)", pv.Key, hiveNullPartition)
		}
	}
	var value string
	if !null {
		value = pv.Value
	}
	switch c.kind {
	case colString:
		c.strs = growStrings(c.strs, n)
		s := in.get(value)
		for i := range c.strs {
			c.strs[i] = s
		}
	case colSide, colOrderEvent, colOrderType:
		c.enums = growEnums(c.enums, n)
		var e int8
		if !null {
			var err error
			if e, err = parseEnum(c.kind, value); err != nil && n > 0 {
				b.setFatal("partition folder %s=%s: %v", pv.Key, value, err)
			}
		}
		for i := range c.enums {
			c.enums[i] = e
		}
	case colInt:
		c.intBuf = growInts(c.intBuf, n)
		var v int64
		if !null {
			var err error
			if v, err = strconv.ParseInt(value, 10, 64); err != nil && n > 0 {
				b.setFatal("partition folder %s=%s: not an integer", pv.Key, value)
			}
		}
		for i := range c.intBuf {
			c.intBuf[i] = v
		}
		c.ints = c.intBuf
	case colFloat:
		c.floatBuf = growFloats(c.floatBuf, n)
		var v float64
		if !null {
			var err error
			if v, err = strconv.ParseFloat(value, 64); err != nil && n > 0 {
				b.setFatal("partition folder %s=%s: not a number", pv.Key, value)
			}
		}
		for i := range c.floatBuf {
			c.floatBuf[i] = v
		}
		c.floats = c.floatBuf
	case colBool:
		c.bools = growBools(c.bools, n)
		var v bool
		if !null {
			var err error
			if v, err = strconv.ParseBool(value); err != nil && n > 0 {
				b.setFatal("partition folder %s=%s: not a boolean", pv.Key, value)
			}
		}
		for i := range c.bools {
			c.bools[i] = v
		}
	case colTS, colStringList, colIntList:
		// Ruled out when the file is opened: a partition folder cannot supply these.
		c.intBuf = growInts(c.intBuf, n)
		clear(c.intBuf)
		c.ints = c.intBuf
		c.strLists = make([][]string, n)
		c.intLists = make([][]int64, n)
	}
}

// microsPer gives the multiplier to microseconds of the coarser units.
func microsPer(unit arrow.TimeUnit) int64 {
	switch unit {
	case arrow.Second:
		return 1_000_000
	case arrow.Millisecond:
		return 1_000
	}
	return 1
}

func (c *column) bindTS(arr *array.Timestamp, n int, b *bad) {
	unit := arr.DataType().(*arrow.TimestampType).Unit
	values := arr.TimestampValues()
	c.intBuf = growInts(c.intBuf, n)
	out := c.intBuf
	switch unit {
	case arrow.Microsecond:
		for i := 0; i < n; i++ {
			out[i] = int64(values[i])
		}
	case arrow.Nanosecond:
		// Floor division, so that an instant maps to the microsecond that contains it also
		// before 1970.
		for i := 0; i < n; i++ {
			v := int64(values[i])
			q := v / 1000
			if v%1000 < 0 {
				q--
			}
			out[i] = q
		}
	default:
		m := microsPer(unit)
		lim := math.MaxInt64 / m
		for i := 0; i < n; i++ {
			v := int64(values[i])
			if v > lim || v < -lim {
				if c.valid == nil || c.valid[i] {
					b.set(i, ReasonOutOfRange, "timestamp %d %s out of range", v, unit)
				}
				out[i] = 0
				continue
			}
			out[i] = v * m
		}
	}
	if c.valid != nil {
		for i := 0; i < n; i++ {
			if !c.valid[i] {
				out[i] = 0
			}
		}
	}
	c.ints = out
}

func (c *column) bindInts(arr arrow.Array, n int, b *bad) {
	if a, ok := arr.(*array.Int64); ok && c.valid == nil {
		c.ints = a.Int64Values()[:n] // zero copy: valid until the batch is released
		return
	}
	c.intBuf = growInts(c.intBuf, n)
	out := c.intBuf
	switch a := arr.(type) {
	case *array.Int64:
		copy(out, a.Int64Values())
	case *array.Int32:
		for i, v := range a.Int32Values()[:n] {
			out[i] = int64(v)
		}
	case *array.Int16:
		for i, v := range a.Int16Values()[:n] {
			out[i] = int64(v)
		}
	case *array.Int8:
		for i, v := range a.Int8Values()[:n] {
			out[i] = int64(v)
		}
	case *array.Uint32:
		for i, v := range a.Uint32Values()[:n] {
			out[i] = int64(v)
		}
	case *array.Uint16:
		for i, v := range a.Uint16Values()[:n] {
			out[i] = int64(v)
		}
	case *array.Uint8:
		for i, v := range a.Uint8Values()[:n] {
			out[i] = int64(v)
		}
	case *array.Uint64:
		for i, v := range a.Uint64Values()[:n] {
			if v > math.MaxInt64 && (c.valid == nil || c.valid[i]) {
				b.set(i, ReasonOutOfRange, "value %d does not fit int64", v)
			}
			out[i] = int64(v)
		}
	}
	if c.valid != nil {
		for i := 0; i < n; i++ {
			if !c.valid[i] {
				out[i] = 0
			}
		}
	}
	c.ints = out
}

func (c *column) bindFloats(arr arrow.Array, n int) {
	if a, ok := arr.(*array.Float64); ok && c.valid == nil {
		c.floats = a.Float64Values()[:n]
		return
	}
	c.floatBuf = growFloats(c.floatBuf, n)
	out := c.floatBuf
	switch a := arr.(type) {
	case *array.Float64:
		copy(out, a.Float64Values())
	case *array.Float32:
		for i, v := range a.Float32Values()[:n] {
			out[i] = float64(v)
		}
	}
	if c.valid != nil {
		for i := 0; i < n; i++ {
			if !c.valid[i] {
				out[i] = 0
			}
		}
	}
	c.floats = out
}

// bindStrings decodes a string or enum column: dictionary entries are converted once per batch
// (lazily, only those referenced), plain strings through the interner.
func (c *column) bindStrings(arr arrow.Array, n int, in *interner, b *bad) {
	enum := isEnum(c.kind)
	if enum {
		c.enums = growEnums(c.enums, n)
	} else {
		c.strs = growStrings(c.strs, n)
	}
	valid := c.valid
	if d, ok := arr.(*array.Dictionary); ok {
		values := d.Dictionary().(stringValues)
		dc := &c.dict
		dc.use(values)
		var idx32 []int32
		if a, ok := d.Indices().(*array.Int32); ok {
			idx32 = a.Int32Values()
		}
		for i := 0; i < n; i++ {
			if valid != nil && !valid[i] {
				if enum {
					c.enums[i] = 0
				} else {
					c.strs[i] = ""
				}
				continue
			}
			var k int
			if idx32 != nil {
				k = int(idx32[i])
			} else {
				k = d.GetValueIndex(i)
			}
			if dc.stamp[k] != dc.gen {
				dc.stamp[k] = dc.gen
				s := values.Value(k)
				if enum {
					e, err := parseEnum(c.kind, s)
					dc.enums[k], dc.enumOK[k] = e, err == nil
					if err != nil {
						dc.errs[k] = err.Error()
					}
				} else {
					dc.strs[k] = in.get(s)
				}
			}
			if enum {
				if !dc.enumOK[k] {
					b.set(i, ReasonUnknownValue, "%s", dc.errs[k])
					c.enums[i] = 0
					continue
				}
				c.enums[i] = dc.enums[k]
			} else {
				c.strs[i] = dc.strs[k]
			}
		}
		return
	}
	values := arr.(stringValues)
	var prevRaw, prev string
	havePrev := false
	for i := 0; i < n; i++ {
		if valid != nil && !valid[i] {
			if enum {
				c.enums[i] = 0
			} else {
				c.strs[i] = ""
			}
			continue
		}
		s := values.Value(i) // aliases Arrow memory: never kept
		if enum {
			e, err := parseEnum(c.kind, s)
			if err != nil {
				b.set(i, ReasonUnknownValue, "%v", err)
			}
			c.enums[i] = e
			continue
		}
		if !havePrev || s != prevRaw {
			prevRaw, prev, havePrev = s, in.get(s), true
		}
		c.strs[i] = prev
	}
}

func (c *column) bindLists(arr array.ListLike, n int, in *interner, b *bad) {
	if c.kind == colStringList {
		c.strLists = make([][]string, n)
	} else {
		c.intLists = make([][]int64, n)
	}
	elems := arr.ListValues()
	for i := 0; i < n; i++ {
		if c.valid != nil && !c.valid[i] {
			continue
		}
		start, end := arr.ValueOffsets(i)
		if end == start {
			continue
		}
		if c.kind == colStringList {
			out := make([]string, 0, end-start)
			for j := start; j < end; j++ {
				s, ok := stringAt(elems, int(j))
				if !ok {
					b.set(i, ReasonNull, "null list element")
					out = nil
					break
				}
				out = append(out, in.get(s))
			}
			c.strLists[i] = out
			continue
		}
		out := make([]int64, 0, end-start)
		for j := start; j < end; j++ {
			v, ok := intAt(elems, int(j))
			if !ok {
				b.set(i, ReasonNull, "null or out-of-range list element")
				out = nil
				break
			}
			out = append(out, v)
		}
		c.intLists[i] = out
	}
}

// stringAt reads one element of a string array of any accepted layout.
func stringAt(arr arrow.Array, i int) (string, bool) {
	if arr.IsNull(i) {
		return "", false
	}
	if d, ok := arr.(*array.Dictionary); ok {
		return d.Dictionary().(stringValues).Value(d.GetValueIndex(i)), true
	}
	return arr.(stringValues).Value(i), true
}

// intAt reads one element of an integer array of any width.
func intAt(arr arrow.Array, i int) (int64, bool) {
	if arr.IsNull(i) {
		return 0, false
	}
	switch a := arr.(type) {
	case *array.Int64:
		return a.Value(i), true
	case *array.Int32:
		return int64(a.Value(i)), true
	case *array.Int16:
		return int64(a.Value(i)), true
	case *array.Int8:
		return int64(a.Value(i)), true
	case *array.Uint64:
		v := a.Value(i)
		return int64(v), v <= math.MaxInt64
	case *array.Uint32:
		return int64(a.Value(i)), true
	case *array.Uint16:
		return int64(a.Value(i)), true
	case *array.Uint8:
		return int64(a.Value(i)), true
	}
	return 0, false
}

// ---------------------------------------------------------------------------------------------
// Files

// oneLine keeps an error message on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// recoverAs turns a panic inside arrow-go (which it raises on some corrupt inputs) into an error
// naming the file.
func recoverAs(err *error, path string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: corrupt Parquet file: %s", path, strings.Join(strings.Fields(fmt.Sprint(r)), " "))
	}
}

// parquetFile is one open Parquet file reading a chosen set of top-level columns in batches.
type parquetFile struct {
	path  string
	pf    *file.Reader
	fr    *pqarrow.FileReader
	rr    pqarrow.RecordReader
	rows  int64
	types map[string]arrow.DataType // top-level column name → Arrow type
}

// openParquet opens a file and resolves its top-level columns. dictColumns are read as Arrow
// dictionaries when stored as strings, so that each distinct value is decoded once.
func openParquet(path string, dictColumns []string) (pq *parquetFile, err error) {
	defer recoverAs(&err, path)
	pf, err := file.OpenParquetFile(path, false, file.WithReadProps(parquet.NewReaderProperties(readAllocator)))
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable Parquet file: %s", path, oneLine(err))
	}
	defer func() {
		if err != nil {
			pf.Close()
		}
	}()
	dropStoredArrowSchema(pf)
	sch := pf.MetaData().Schema
	props := pqarrow.ArrowReadProperties{BatchSize: readBatchRows}
	for j := 0; j < sch.NumColumns(); j++ {
		col := sch.Column(j)
		if len(col.ColumnPath()) != 1 || col.PhysicalType() != parquet.Types.ByteArray {
			continue
		}
		for _, name := range dictColumns {
			if col.Name() == name {
				props.SetReadDict(j, true)
			}
		}
	}
	fr, err := pqarrow.NewFileReader(pf, props, readAllocator)
	if err != nil {
		return nil, fmt.Errorf("%s: unsupported Parquet schema: %s", path, oneLine(err))
	}
	pq = &parquetFile{path: path, pf: pf, fr: fr, rows: pf.NumRows(), types: make(map[string]arrow.DataType)}
	for _, f := range fr.Manifest.Fields {
		if _, dup := pq.types[f.Field.Name]; !dup {
			pq.types[f.Field.Name] = f.Field.Type
		}
	}
	return pq, nil
}

// dropStoredArrowSchema removes the Arrow schema that arrow-go and pyarrow store in the footer
// (key ARROW:schema) before pqarrow sees it. The reader needs nothing from it: the Parquet types
// give the units, UTC flags and string columns, and dictionaries are asked for per column. And
// arrow-go trusts the lengths inside it: a corrupt one makes it allocate without bound, which no
// recover can catch (found by FuzzReadOrders).
func dropStoredArrowSchema(pf *file.Reader) {
	meta := pf.MetaData()
	if meta == nil || meta.FileMetaData == nil {
		return
	}
	kv := meta.FileMetaData.KeyValueMetadata
	kept := kv[:0:0]
	for _, e := range kv {
		if e != nil && e.Key != "ARROW:schema" {
			kept = append(kept, e)
		}
	}
	meta.FileMetaData.KeyValueMetadata = kept
}

// startReading starts a record reader over the named top-level columns (all present).
func (p *parquetFile) startReading(names []string) (err error) {
	defer recoverAs(&err, p.path)
	var leaves []int
	sch := p.pf.MetaData().Schema
	for j := 0; j < sch.NumColumns(); j++ {
		root := sch.ColumnRoot(j).Name()
		for _, name := range names {
			if root == name {
				leaves = append(leaves, j)
				break
			}
		}
	}
	rr, err := p.fr.GetRecordReader(context.Background(), leaves, nil)
	if err != nil {
		return fmt.Errorf("%s: %s", p.path, oneLine(err))
	}
	p.rr = rr
	return nil
}

// nextBatch reads the next record batch; nil at the end of the file.
func (p *parquetFile) nextBatch() (rec arrow.RecordBatch, err error) {
	defer recoverAs(&err, p.path)
	if p.rr.Next() {
		return p.rr.RecordBatch(), nil
	}
	if err := p.rr.Err(); err != nil {
		return nil, fmt.Errorf("%s: corrupt Parquet data: %s", p.path, oneLine(err))
	}
	return nil, nil
}

func (p *parquetFile) close() {
	// A panic while releasing a corrupt file's buffers must not hide the error being reported.
	defer func() { _ = recover() }()
	if p.rr != nil {
		p.rr.Release()
		p.rr = nil
	}
	if p.pf != nil {
		p.pf.Close()
		p.pf = nil
	}
}

// ---------------------------------------------------------------------------------------------
// Scanning a table

// scanner reads a table's files one after the other, decoding a fixed set of columns batch by
// batch. At a row that does not decode it stops with an error, or, with a rejector, sets the
// row aside and goes on.
type scanner struct {
	files    []tableFile
	cols     []*column
	nextFile int

	cur      *parquetFile
	fileRows int64 // rows of the current file before the current batch
	n, pos   int
	// bads are the current batch's undecodable rows in row order; nextBad is the row of
	// bads[badIdx], or -1.
	bads    []badRow
	badIdx  int
	nextBad int
	rej     *rejector
	// origins, originFile and originRow locate the rows of a sorted copy in its original files
	// (ReadOptions.Origins); nil otherwise.
	origins               []string
	originFile, originRow *column
	in                    interner
	rowsServed            int64
	err                   error
}

func newScanner(files []tableFile, cols []*column) *scanner {
	return &scanner{files: files, cols: cols}
}

// openNext opens the next file, checks its columns and starts reading it.
func (s *scanner) openNext() error {
	tf := s.files[s.nextFile]
	s.nextFile++
	var dictCols []string
	for _, c := range s.cols {
		if c.kind == colString || isEnum(c.kind) {
			dictCols = append(dictCols, c.name)
		}
	}
	pq, err := openParquet(tf.path, dictCols)
	if err != nil {
		return err
	}
	var read []string
	for _, c := range s.cols {
		c.constant = nil
		dt, ok := pq.types[c.name]
		if ok {
			if !c.kind.accepts(dt) {
				pq.close()
				return fmt.Errorf("%s: column %s: type %s, want %s", tf.path, c.name, dt, c.kind.want())
			}
			read = append(read, c.name)
			continue
		}
		for i := range tf.partitions {
			if tf.partitions[i].Key == c.name {
				c.constant = &tf.partitions[i]
			}
		}
		if c.constant != nil && (c.kind == colTS || c.kind == colStringList || c.kind == colIntList) {
			pq.close()
			return fmt.Errorf("%s: column %s: missing (a partition folder cannot supply a %s column)", tf.path, c.name, c.kind.want())
		}
		if c.constant == nil && !c.nullable {
			pq.close()
			return fmt.Errorf("%s: column %s: missing", tf.path, c.name)
		}
	}
	if pq.rows == 0 {
		pq.close()
		return nil
	}
	if len(read) == 0 {
		// Every wanted column would come from partition folders, and pqarrow reads no rows
		// without a column.
		pq.close()
		return fmt.Errorf("%s: none of the columns %s is in the file", tf.path, colNames(s.cols))
	}
	if err := pq.startReading(read); err != nil {
		pq.close()
		return err
	}
	s.cur, s.fileRows, s.n, s.pos = pq, 0, 0, 0
	return nil
}

func colNames(cols []*column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

// loadBatch makes the next batch current; false at the end of the table.
func (s *scanner) loadBatch() (bool, error) {
	for {
		if s.cur == nil {
			if s.nextFile >= len(s.files) {
				return false, nil
			}
			if err := s.openNext(); err != nil {
				return false, err
			}
			continue
		}
		s.fileRows += int64(s.n)
		rec, err := s.cur.nextBatch()
		if err != nil {
			return false, err
		}
		if rec == nil {
			s.cur.close()
			s.cur, s.n, s.pos = nil, 0, 0
			continue
		}
		if err := s.bindBatch(rec); err != nil {
			return false, err
		}
		if s.n > 0 {
			return true, nil
		}
	}
}

func (s *scanner) bindBatch(rec arrow.RecordBatch) (err error) {
	defer recoverAs(&err, s.cur.path)
	sch := rec.Schema()
	n := int(rec.NumRows())
	s.n, s.pos, s.bads, s.badIdx, s.nextBad = n, 0, s.bads[:0], 0, -1
	badCols := 0
	for _, c := range s.cols {
		var arr arrow.Array
		if idx := sch.FieldIndices(c.name); len(idx) > 0 {
			arr = rec.Column(idx[0])
			if !c.kind.accepts(arr.DataType()) {
				return fmt.Errorf("%s: column %s: type %s, want %s", s.cur.path, c.name, arr.DataType(), c.kind.want())
			}
		}
		b := c.bind(arr, n, &s.in)
		if len(b.rows) == 0 {
			continue
		}
		if b.fatal {
			return fmt.Errorf("%s: row %d: column %s: %s", s.cur.path, s.fileRows+1, c.name, b.rows[0].msg)
		}
		for i := range b.rows {
			b.rows[i].col = c
		}
		s.bads = append(s.bads, b.rows...)
		badCols++
	}
	if badCols > 1 {
		// Each column's rows are in order; a stable sort keeps column order within a row.
		sort.SliceStable(s.bads, func(i, j int) bool { return s.bads[i].row < s.bads[j].row })
	}
	if len(s.bads) > 0 {
		s.nextBad = s.bads[0].row
	}
	return nil
}

// advance moves to the next row and returns its index within the current batch.
func (s *scanner) advance() (int, bool, error) {
	if s.err != nil {
		return 0, false, s.err
	}
	for {
		for s.pos >= s.n {
			ok, err := s.loadBatch()
			if err != nil {
				s.fail(err)
				return 0, false, err
			}
			if !ok {
				return 0, false, nil
			}
		}
		i := s.pos
		if i != s.nextBad {
			s.pos++
			s.rowsServed++
			return i, true, nil
		}
		b := s.bads[s.badIdx]
		if s.rej == nil {
			where := s.origin(i)
			err := fmt.Errorf("%s: row %d: column %s: %s", where.file, where.row, b.col.name, b.msg)
			s.fail(err)
			return 0, false, err
		}
		// Count the row once, under its first problem in column order.
		s.rej.add(s.origin(i), b.col.name, b.reason, b.msg)
		for s.badIdx < len(s.bads) && s.bads[s.badIdx].row == i {
			s.badIdx++
		}
		s.nextBad = -1
		if s.badIdx < len(s.bads) {
			s.nextBad = s.bads[s.badIdx].row
		}
		s.pos++
	}
}

// where names the row last returned by advance, for errors found by the caller.
func (s *scanner) where() string {
	if s.cur == nil {
		return "?"
	}
	return fmt.Sprintf("%s: row %d", s.cur.path, s.fileRows+int64(s.pos))
}

func (s *scanner) fail(err error) {
	s.err = err
	s.close()
}

func (s *scanner) close() {
	if s.cur != nil {
		s.cur.close()
		s.cur = nil
	}
	s.nextFile = len(s.files)
	s.n, s.pos = 0, 0
}

// columnsOf builds the columns of a canonical schema; kinds come from the types, and the enum
// columns from their names.
func columnsOf(sc *arrow.Schema) []*column {
	cols := make([]*column, 0, sc.NumFields())
	for _, f := range sc.Fields() {
		var k colKind
		switch {
		case f.Type.ID() == arrow.TIMESTAMP:
			k = colTS
		case isStringType(f.Type):
			switch f.Name {
			case "side", "taker_side":
				k = colSide
			case "event":
				k = colOrderEvent
			case "order_type":
				k = colOrderType
			default:
				k = colString
			}
		case isIntType(f.Type):
			k = colInt
		case f.Type.ID() == arrow.FLOAT64:
			k = colFloat
		case f.Type.ID() == arrow.BOOL:
			k = colBool
		case colStringList.accepts(f.Type):
			k = colStringList
		case colIntList.accepts(f.Type):
			k = colIntList
		default:
			panic("datasets: no decoder for column " + f.Name + " of type " + f.Type.String())
		}
		cols = append(cols, &column{name: f.Name, kind: k, nullable: f.Nullable})
	}
	return cols
}

func colByName(cols []*column, name string) *column {
	for _, c := range cols {
		if c.name == name {
			return c
		}
	}
	panic("datasets: no column " + name)
}

// ---------------------------------------------------------------------------------------------
// Events

// EventReader streams one event table as canonical events. It holds one decoded batch (64K rows)
// at a time and allocates nothing per row once the table's distinct strings have been seen.
type EventReader struct {
	table string
	kind  detectors.Kind
	sc    *scanner
	check *rowChecker // nil unless ReadOptions.Check

	ts, symbol *column
	// orders
	account, orderID, event, side, orderType, price, qty, leavesQty, reduceOnly, postOnly *column
	// trades
	tradeID, takerSide, makerAccount, takerAccount, makerOrderID, takerOrderID *column
	// marks
	markPrice, indexPrice, fundingRate, openInterest *column
}

func newEventReader(table string, files []tableFile) (*EventReader, error) {
	kind, _ := KindOfTable(table)
	schema, err := SchemaOf(table)
	if err != nil {
		return nil, err
	}
	cols := columnsOf(schema)
	r := &EventReader{table: table, kind: kind, sc: newScanner(files, cols)}
	c := func(name string) *column { return colByName(cols, name) }
	r.ts, r.symbol = c("ts"), c("symbol")
	switch kind {
	case detectors.KindOrder:
		r.account, r.orderID, r.event, r.side = c("account_id"), c("order_id"), c("event"), c("side")
		r.orderType, r.price, r.qty, r.leavesQty = c("order_type"), c("price"), c("qty"), c("leaves_qty")
		r.reduceOnly, r.postOnly = c("reduce_only"), c("post_only")
	case detectors.KindTrade:
		r.tradeID, r.price, r.qty, r.takerSide = c("trade_id"), c("price"), c("qty"), c("taker_side")
		r.makerAccount, r.takerAccount = c("maker_account"), c("taker_account")
		r.makerOrderID, r.takerOrderID = c("maker_order_id"), c("taker_order_id")
	case detectors.KindMark:
		r.markPrice, r.indexPrice = c("mark_price"), c("index_price")
		r.fundingRate, r.openInterest = c("funding_rate"), c("open_interest")
	case detectors.KindLiquidation:
		r.account, r.side, r.qty, r.price = c("account_id"), c("side"), c("qty"), c("price")
	}
	return r, nil
}

// Table returns the name of the table being read.
func (r *EventReader) Table() string { return r.table }

// decode fills ev with the next decodable row; Next adds the value checks.
func (r *EventReader) decode(ev *detectors.Event) (bool, error) {
	i, ok, err := r.sc.advance()
	if !ok {
		return false, err
	}
	ev.TS = r.ts.ints[i]
	ev.Symbol = r.symbol.strs[i]
	ev.Kind = r.kind
	switch r.kind {
	case detectors.KindOrder:
		ev.Order = detectors.Order{
			Account:    r.account.strs[i],
			OrderID:    r.orderID.ints[i],
			Event:      detectors.OrderEvent(r.event.enums[i]),
			Side:       detectors.Side(r.side.enums[i]),
			Type:       detectors.OrderType(r.orderType.enums[i]),
			Price:      r.price.floats[i],
			Qty:        r.qty.floats[i],
			LeavesQty:  r.leavesQty.floats[i],
			ReduceOnly: r.reduceOnly.bools[i],
			PostOnly:   r.postOnly.bools[i],
		}
	case detectors.KindTrade:
		ev.Trade = detectors.Trade{
			TradeID:      r.tradeID.ints[i],
			Price:        r.price.floats[i],
			Qty:          r.qty.floats[i],
			TakerSide:    detectors.Side(r.takerSide.enums[i]),
			MakerAccount: r.makerAccount.strs[i],
			TakerAccount: r.takerAccount.strs[i],
			MakerOrderID: r.makerOrderID.ints[i],
			TakerOrderID: r.takerOrderID.ints[i],
		}
	case detectors.KindMark:
		ev.Mark = detectors.Mark{
			MarkPrice:       r.markPrice.floats[i],
			IndexPrice:      r.indexPrice.floats[i],
			FundingRate:     r.fundingRate.floats[i],
			OpenInterest:    r.openInterest.floats[i],
			HasFunding:      r.fundingRate.valid == nil || r.fundingRate.valid[i],
			HasOpenInterest: r.openInterest.valid == nil || r.openInterest.valid[i],
		}
	case detectors.KindLiquidation:
		ev.Liquidation = detectors.Liquidation{
			Account: r.account.strs[i],
			Side:    detectors.Side(r.side.enums[i]),
			Qty:     r.qty.floats[i],
			Price:   r.price.floats[i],
		}
	}
	return true, nil
}

// Rows returns the rows read so far.
func (r *EventReader) Rows() int64 { return r.sc.rowsServed }

// Close releases the reader. It is safe to call more than once.
func (r *EventReader) Close() error {
	r.sc.close()
	return nil
}

// ---------------------------------------------------------------------------------------------
// Sort check

// Unsorted locates the first row of a table whose ts is below the previous row's.
type Unsorted struct {
	// Row is the 1-based row number across the table's files in order.
	Row int64
	// File and FileRow locate the row: its file and its 1-based row within the file.
	File    string
	FileRow int64
	TS      detectors.Micros
	PrevTS  detectors.Micros
}

func (u *Unsorted) Error() string {
	return fmt.Sprintf("%s: row %d: ts %d is before the previous row's %d (not sorted by ts)", u.File, u.FileRow, u.TS, u.PrevTS)
}

// CheckSorted reads only the ts column of an event table and reports the first row out of order:
// firstBadRow is its 1-based row number across the table's files in order (0 when sorted).
func (d *Dataset) CheckSorted(table string) (sorted bool, firstBadRow int64, err error) {
	u, err := d.FirstUnsorted(table)
	if err != nil {
		return false, 0, err
	}
	if u == nil {
		return true, 0, nil
	}
	return false, u.Row, nil
}

// FirstUnsorted is CheckSorted with the location of the first row out of order (nil when the
// table is sorted by ts across its files in order).
func (d *Dataset) FirstUnsorted(table string) (*Unsorted, error) {
	files, ok := d.tables[table]
	if !ok {
		return nil, fmt.Errorf("dataset folder %s: has no %s table", d.Dir, table)
	}
	ts := &column{name: "ts", kind: colTS}
	sc := newScanner(files, []*column{ts})
	// Rows whose ts does not decode (a null) are skipped here: the replay's reader rejects or
	// reports them.
	sc.rej = &rejector{}
	defer sc.close()
	var prev int64
	var row int64
	for {
		i, ok, err := sc.advance()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, nil
		}
		row = sc.rowsServed + sc.rej.stats.Rows
		v := ts.ints[i]
		if row > 1 && v < prev {
			return &Unsorted{Row: row, File: sc.cur.path, FileRow: sc.fileRows + int64(i) + 1, TS: v, PrevTS: prev}, nil
		}
		prev = v
	}
}

// ---------------------------------------------------------------------------------------------
// Small tables

func readAccountsFile(f tableFile, out map[string]detectors.Account) error {
	cols := columnsOf(AccountsSchema)
	c := func(name string) *column { return colByName(cols, name) }
	id, created, owner, ip, device, referrer := c("account_id"), c("created_at"), c("owner_group"), c("ip_hash"), c("device_hash"), c("referrer")
	sc := newScanner([]tableFile{f}, cols)
	defer sc.close()
	for {
		i, ok, err := sc.advance()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		a := detectors.Account{
			AccountID: id.strs[i], CreatedAt: created.ints[i], OwnerGroup: owner.strs[i],
			IPHash: ip.strs[i], DeviceHash: device.strs[i], Referrer: referrer.strs[i],
		}
		if a.AccountID == "" {
			return fmt.Errorf("%s: column account_id: empty", sc.where())
		}
		if _, dup := out[a.AccountID]; dup {
			return fmt.Errorf("%s: column account_id: %q appears twice", sc.where(), a.AccountID)
		}
		out[a.AccountID] = a
	}
}

func readLabelsFile(f tableFile, out []Incident, seen map[string]string) ([]Incident, error) {
	cols := columnsOf(LabelsSchema)
	c := func(name string) *column { return colByName(cols, name) }
	id, typ, symbol, accounts, start, end, source := c("incident_id"), c("type"), c("symbol"), c("accounts"), c("start_ts"), c("end_ts"), c("source")
	sc := newScanner([]tableFile{f}, cols)
	defer sc.close()
	for {
		i, ok, err := sc.advance()
		if err != nil {
			return nil, err
		}
		if !ok {
			return out, nil
		}
		inc := Incident{
			ID: id.strs[i], Symbol: symbol.strs[i], Accounts: accounts.strLists[i],
			Start: start.ints[i], End: end.ints[i], Source: source.strs[i],
		}
		if inc.ID == "" {
			return nil, fmt.Errorf("%s: column incident_id: empty", sc.where())
		}
		if where, dup := seen[inc.ID]; dup {
			return nil, fmt.Errorf("%s: column incident_id: %q already at %s", sc.where(), inc.ID, where)
		}
		seen[inc.ID] = sc.where()
		if inc.Type, err = detectors.ParseIncidentType(typ.strs[i]); err != nil {
			return nil, fmt.Errorf("%s: column type: %v", sc.where(), err)
		}
		if inc.End < inc.Start {
			return nil, fmt.Errorf("%s: column end_ts: end %d is before start %d", sc.where(), inc.End, inc.Start)
		}
		out = append(out, inc)
	}
}
