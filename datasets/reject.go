package datasets

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/fds-dev/fds/detectors"
)

// Row-level problem classes: the reasons a rejecting reader counts (docs/robustness.md). A
// run's manifest counts rejected rows by "column: reason".
const (
	ReasonNull         = "null"          // null in a required column or list
	ReasonEmpty        = "empty"         // empty string in a required id or symbol
	ReasonUnknownValue = "unknown_value" // enum value outside its vocabulary
	ReasonOutOfRange   = "out_of_range"  // a value that does not fit (timestamp overflow, uint64)
	ReasonBadPartition = "bad_partition" // a partition folder's value (a file-level problem)
	ReasonNotFinite    = "not_finite"    // NaN or ±Inf
	ReasonNegative     = "negative"      // below zero where it cannot be
	ReasonZero         = "zero"          // zero where it must be positive
	ReasonFarPast      = "far_past"      // ts before MinPlausibleTS
	ReasonFarFuture    = "far_future"    // ts after MaxPlausibleTS
	ReasonDuplicateID  = "duplicate_id"  // a trade id or an order's new event repeated at one ts
)

// The plausible range of event times. fds reads history of electronic markets: an instant before
// 1990 or after 2100 is a bad value or a timestamp in the wrong unit (milliseconds read as
// microseconds land in January 1970, nanoseconds tens of thousands of years ahead). Fixed
// bounds, not the wall clock, so that a run is reproducible.
var (
	MinPlausibleTS = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	MaxPlausibleTS = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
)

// MaxRejectionExamples bounds the examples a reader keeps of its rejected rows: the first few,
// and the first of each further reason.
const MaxRejectionExamples = 5

// maxReasonExamples bounds the examples kept beyond the first few, one per new reason.
const maxReasonExamples = 32

// ReadOptions say how an event reader treats rows with problems. The zero value decodes only and
// stops at the first row that does not decode, with an error naming file, row and column.
type ReadOptions struct {
	// Check applies the value checks besides decoding: finite prices and quantities, positive
	// where they must be, non-empty symbols and accounts, timestamps within
	// [MinPlausibleTS, MaxPlausibleTS], a trade id (or an order's new event) not repeated at
	// the same ts.
	Check bool
	// Reject sets rows with row-level problems aside, counted by reason with the first few as
	// examples (EventReader.Rejections), instead of stopping at the first. Structural problems
	// (a missing column, a wrong type, a corrupt file, a partition folder's bad value, a ts
	// column in the wrong unit) stop the reader whatever this says.
	Reject bool
	// Origins are the files a sorted copy was made from, in the order the sort was given them.
	// When the copy carries the columns OriginFileColumn and OriginRowColumn, problems are
	// reported at the original file and row.
	Origins []string
}

// The provenance columns of a sorted copy: the index of a row's file in ReadOptions.Origins and
// its 0-based row within that file.
const (
	OriginFileColumn = "fds_origin_file"
	OriginRowColumn  = "fds_origin_row"
)

// Rejection is one row a rejecting reader set aside.
type Rejection struct {
	File    string `json:"file"`
	Row     int64  `json:"row"` // 1-based within File
	Column  string `json:"column"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Key is the reason as a run's manifest counts it: "column: reason".
func (r Rejection) Key() string { return r.Column + ": " + r.Reason }

func (r Rejection) Error() string {
	var b strings.Builder
	b.WriteString(r.File)
	if r.Row > 0 {
		fmt.Fprintf(&b, ": row %d", r.Row)
	}
	if r.Column != "" {
		fmt.Fprintf(&b, ": column %s", r.Column)
	}
	b.WriteString(": ")
	b.WriteString(r.Message)
	return b.String()
}

// Rejections account for the rows a reader set aside.
type Rejections struct {
	Rows     int64
	ByReason map[string]int64
	// Examples are the first MaxRejectionExamples rejected rows in read order, then the first
	// row of each further reason.
	Examples []Rejection
}

// rejector collects rejections while a scanner reads.
type rejector struct {
	stats Rejections
	// perReason, when set, keeps up to that many examples of every reason instead (validation);
	// negative keeps them all.
	perReason int
}

func (r *rejector) add(where origin, column, reason, msg string) {
	rej := Rejection{File: where.file, Row: where.row, Column: column, Reason: reason, Message: msg}
	key := rej.Key()
	if r.stats.ByReason == nil {
		r.stats.ByReason = map[string]int64{}
	}
	r.stats.Rows++
	r.stats.ByReason[key]++
	if r.perReason != 0 {
		if r.perReason < 0 || r.stats.ByReason[key] <= int64(r.perReason) {
			r.stats.Examples = append(r.stats.Examples, rej)
		}
		return
	}
	if len(r.stats.Examples) < MaxRejectionExamples ||
		(r.stats.ByReason[key] == 1 && len(r.stats.Examples) < maxReasonExamples) {
		r.stats.Examples = append(r.stats.Examples, rej)
	}
}

// origin locates a row for a report: a file and its 1-based row.
type origin struct {
	file string
	row  int64
}

// origin locates row i of the current batch, in its original file when the file is a sorted copy
// that says where its rows came from.
func (s *scanner) origin(i int) origin {
	if s.origins != nil && s.originFile != nil && s.originRow != nil &&
		(s.originFile.valid == nil || s.originFile.valid[i]) && (s.originRow.valid == nil || s.originRow.valid[i]) {
		if k := s.originFile.ints[i]; k >= 0 && k < int64(len(s.origins)) {
			return origin{file: s.origins[k], row: s.originRow.ints[i] + 1}
		}
	}
	return origin{file: s.cur.path, row: s.fileRows + int64(i) + 1}
}

// rejectServed sets aside a row advance already returned (i is its index in the batch) for a
// problem found after decoding. Without a rejector it is the reader's error.
func (s *scanner) rejectServed(i int, column, reason, msg string) error {
	where := s.origin(i)
	if s.rej == nil {
		err := Rejection{File: where.file, Row: where.row, Column: column, Reason: reason, Message: msg}
		s.fail(err)
		return err
	}
	s.rowsServed--
	s.rej.add(where, column, reason, msg)
	return nil
}

// OpenEventsWith streams an event table in file order, treating problem rows as opts say.
func (d *Dataset) OpenEventsWith(table string, opts ReadOptions) (*EventReader, error) {
	r, err := d.OpenEvents(table)
	if err != nil {
		return nil, err
	}
	if opts.Reject {
		r.sc.rej = &rejector{}
	}
	if opts.Check {
		r.check = &rowChecker{kind: r.kind}
	}
	if len(opts.Origins) > 0 {
		r.sc.origins = opts.Origins
		r.sc.originFile = &column{name: OriginFileColumn, kind: colInt, nullable: true}
		r.sc.originRow = &column{name: OriginRowColumn, kind: colInt, nullable: true}
		r.sc.cols = append(r.sc.cols, r.sc.originFile, r.sc.originRow)
	}
	return r, nil
}

// Rejections returns the rows set aside so far (nothing unless opened with ReadOptions.Reject).
// The map and examples are copies.
func (r *EventReader) Rejections() Rejections {
	if r.sc.rej == nil {
		return Rejections{}
	}
	st := r.sc.rej.stats
	out := Rejections{Rows: st.Rows, Examples: append([]Rejection(nil), st.Examples...)}
	if st.ByReason != nil {
		out.ByReason = make(map[string]int64, len(st.ByReason))
		for k, v := range st.ByReason {
			out.ByReason[k] = v
		}
	}
	return out
}

// Next fills ev with the next row (TS, Symbol, Kind and the kind's member; not Seq) and reports
// false at the end. With ReadOptions.Check, a row failing a value check is set aside (Reject) or
// is the error. After an error, every later call returns the same error.
func (r *EventReader) Next(ev *detectors.Event) (bool, error) {
	for {
		ok, err := r.decode(ev)
		if !ok || r.check == nil {
			return ok, err
		}
		i := r.sc.pos - 1
		if r.check.first(r.sc) {
			if err := r.check.unit(ev.TS, r.sc.origin(i)); err != nil {
				r.sc.fail(err)
				return false, err
			}
		}
		column, reason, msg := r.check.check(ev)
		if reason == "" {
			r.check.sawSymbol(ev.Symbol)
			return true, nil
		}
		if err := r.sc.rejectServed(i, column, reason, msg); err != nil {
			return false, err
		}
	}
}

// rowChecker applies the value checks of ReadOptions.Check to decoded events.
type rowChecker struct {
	kind detectors.Kind
	// file is the scanner's file at the last row, to spot each file's first row.
	file *parquetFile
	// ids at the current ts, for the repeated-id check (a few at most: rows share a ts rarely).
	idTS detectors.Micros
	ids  []idAtTS
	// symbols are the symbols of the rows delivered; recent caches the last few seen, so that
	// interleaved symbols cost a few string compares (of shared strings) rather than map
	// lookups.
	symbols map[string]struct{}
	recent  [8]string
	next    int
}

type idAtTS struct {
	symbol string
	id     int64
}

// first reports whether the row just decoded is the first checked in its file.
func (c *rowChecker) first(s *scanner) bool {
	if s.cur == c.file {
		return false
	}
	c.file = s.cur
	return true
}

// unit reads a file's first timestamp for the signs of a unit mix-up: an instant that is
// implausible as microseconds but plausible as milliseconds, seconds or nanoseconds means the
// whole column is in that unit, a structural problem of the file.
func (c *rowChecker) unit(ts detectors.Micros, where origin) error {
	if ts >= MinPlausibleTS && ts <= MaxPlausibleTS {
		return nil
	}
	if u, at := guessTimeUnit(ts); u != "" {
		return fmt.Errorf("%s: row %d: column ts: %d is %s as microseconds but %s as %s: the column holds %s, not microseconds; rewrite it with its unit (timestamp[%s])",
			where.file, where.row, ts, formatMicros(ts), formatMicros(at), u, u, unitAbbrev(u))
	}
	return nil
}

// guessTimeUnit says in which other unit an implausible microsecond value would be a plausible
// instant, and the instant in microseconds ("" when none).
func guessTimeUnit(v int64) (string, detectors.Micros) {
	plausible := func(us int64) bool { return us >= MinPlausibleTS && us <= MaxPlausibleTS }
	switch {
	case v > 0 && v <= math.MaxInt64/1000 && plausible(v*1000):
		return "milliseconds", v * 1000
	case v > 0 && v <= math.MaxInt64/1_000_000 && plausible(v*1_000_000):
		return "seconds", v * 1_000_000
	case plausible(v / 1000):
		return "nanoseconds", v / 1000
	}
	return "", 0
}

func unitAbbrev(u string) string {
	switch u {
	case "milliseconds":
		return "ms"
	case "seconds":
		return "s"
	case "nanoseconds":
		return "ns"
	}
	return "us"
}

// formatMicros renders an instant for a message, also outside time.Time's printable years.
func formatMicros(us int64) string {
	t := time.UnixMicro(us).UTC()
	if t.Year() < 0 || t.Year() > 9999 {
		return fmt.Sprintf("year %d", t.Year())
	}
	return t.Format("2006-01-02T15:04:05.999999Z")
}

// check returns the first problem of an event (reason "" when none).
func (c *rowChecker) check(ev *detectors.Event) (column, reason, msg string) {
	switch {
	case ev.TS < MinPlausibleTS:
		return "ts", ReasonFarPast, fmt.Sprintf("%d (%s) is before %s", ev.TS, formatMicros(ev.TS), formatMicros(MinPlausibleTS))
	case ev.TS > MaxPlausibleTS:
		return "ts", ReasonFarFuture, fmt.Sprintf("%d (%s) is after %s", ev.TS, formatMicros(ev.TS), formatMicros(MaxPlausibleTS))
	case ev.Symbol == "":
		return "symbol", ReasonEmpty, "empty symbol"
	}
	if ev.TS != c.idTS {
		c.idTS, c.ids = ev.TS, c.ids[:0]
	}
	switch c.kind {
	case detectors.KindOrder:
		o := &ev.Order
		if o.Account == "" {
			return "account_id", ReasonEmpty, "empty account id"
		}
		// Market orders carry price 0; resting orders need a price when they are placed.
		needPrice := (o.Type == detectors.Limit || o.Type == detectors.StopLimit) &&
			(o.Event == detectors.OrderNew || o.Event == detectors.OrderAmend)
		if col, reason, msg := quantity("price", o.Price, needPrice); reason != "" {
			return col, reason, msg
		}
		if col, reason, msg := quantity("qty", o.Qty, o.Event == detectors.OrderNew || o.Event == detectors.OrderFill); reason != "" {
			return col, reason, msg
		}
		if col, reason, msg := quantity("leaves_qty", o.LeavesQty, false); reason != "" {
			return col, reason, msg
		}
		if o.Event == detectors.OrderNew && c.repeated(ev.Symbol, o.OrderID) {
			return "order_id", ReasonDuplicateID, fmt.Sprintf("order %d has a second new event at ts %d", o.OrderID, ev.TS)
		}
	case detectors.KindTrade:
		t := &ev.Trade
		if col, reason, msg := quantity("price", t.Price, true); reason != "" {
			return col, reason, msg
		}
		if col, reason, msg := quantity("qty", t.Qty, true); reason != "" {
			return col, reason, msg
		}
		if c.repeated(ev.Symbol, t.TradeID) {
			return "trade_id", ReasonDuplicateID, fmt.Sprintf("trade %d of %s repeated at ts %d", t.TradeID, ev.Symbol, ev.TS)
		}
	case detectors.KindMark:
		m := &ev.Mark
		if col, reason, msg := quantity("mark_price", m.MarkPrice, true); reason != "" {
			return col, reason, msg
		}
		if col, reason, msg := quantity("index_price", m.IndexPrice, true); reason != "" {
			return col, reason, msg
		}
		if m.HasFunding && (math.IsNaN(m.FundingRate) || math.IsInf(m.FundingRate, 0)) {
			return "funding_rate", ReasonNotFinite, fmt.Sprintf("%v is not a finite number", m.FundingRate)
		}
		if m.HasOpenInterest {
			if col, reason, msg := quantity("open_interest", m.OpenInterest, false); reason != "" {
				return col, reason, msg
			}
		}
	case detectors.KindLiquidation:
		l := &ev.Liquidation
		if col, reason, msg := quantity("qty", l.Qty, true); reason != "" {
			return col, reason, msg
		}
		if col, reason, msg := quantity("price", l.Price, true); reason != "" {
			return col, reason, msg
		}
	}
	return "", "", ""
}

// sawSymbol notes a delivered row's symbol.
func (c *rowChecker) sawSymbol(sym string) {
	for i := range c.recent {
		if c.recent[i] == sym {
			return
		}
	}
	c.recent[c.next] = sym
	c.next = (c.next + 1) % len(c.recent)
	if c.symbols == nil {
		c.symbols = map[string]struct{}{}
	}
	c.symbols[sym] = struct{}{}
}

// Symbols returns the distinct symbols of the rows delivered so far, sorted (nil unless the
// reader was opened with ReadOptions.Check).
func (r *EventReader) Symbols() []string {
	if r.check == nil {
		return nil
	}
	out := make([]string, 0, len(r.check.symbols))
	for s := range r.check.symbols {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// repeated reports whether (symbol, id) was already seen at the current ts, and remembers it.
// Rows with one ts are few, so a short list beats a map. A duplicated delivery (a file read
// twice, then sorted) puts its copies at the same ts; repeats across times are found by
// fds datasets validate.
func (c *rowChecker) repeated(symbol string, id int64) bool {
	for _, x := range c.ids {
		if x.id == id && x.symbol == symbol {
			return true
		}
	}
	c.ids = append(c.ids, idAtTS{symbol: symbol, id: id})
	return false
}

// quantity checks a price or quantity: finite and not negative, and positive when it must be.
func quantity(column string, v float64, positive bool) (string, string, string) {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return column, ReasonNotFinite, fmt.Sprintf("%v is not a finite number", v)
	case v < 0:
		return column, ReasonNegative, fmt.Sprintf("%v is negative", v)
	case v == 0 && positive:
		return column, ReasonZero, "0, want a positive value"
	}
	return "", "", ""
}

// FileRowCount returns a Parquet file's rows from its footer.
func FileRowCount(path string) (int64, error) { return fileRowCount(path) }

// SortedReasons returns the keys of a reason count in order.
func SortedReasons(byReason map[string]int64) []string {
	keys := make([]string, 0, len(byReason))
	for k := range byReason {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
