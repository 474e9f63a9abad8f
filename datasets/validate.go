package datasets

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/fds-dev/fds/detectors"
)

// Severities of validation problems. A fatal problem makes `fds backtest --strict` fail (and,
// for structural ones, any backtest); a warning does not change a run's result.
const (
	SeverityFatal   = "fatal"
	SeverityWarning = "warning"
)

// Problem classes that are not a column's row-level reason (those are "column: reason").
const (
	ClassUnreadable  = "file: unreadable"   // not Parquet, truncated or corrupt
	ClassMissing     = "column: missing"    // a required column is absent
	ClassWrongType   = "column: wrong_type" // a column of a type the reader does not accept
	ClassWrongUnit   = "ts: wrong_unit"     // ts values in ms, s or ns stored as microseconds
	ClassBadFile     = "file: bad_value"    // a partition folder's value, or another file-level problem
	ClassUnsorted    = "ts: unsorted"       // a row whose ts is below the previous row's
	ClassEmptyTable  = "table: empty"       // a table without rows
	ClassNoEvents    = "dataset: no_events" // event tables present, no replayable row
	ClassNoEventData = "dataset: no_event_tables"
	ClassBeforeStart = "end_ts: " + reasonBeforeStart
	ClassUnknownSym  = "symbol: " + reasonUnknownSymbol
)

const (
	reasonBeforeStart   = "before_start"
	reasonUnknownSymbol = "unknown_symbol"
)

// Problem is one class of problem in one table: how many rows (files, for file-level classes)
// it affects and the first examples, each naming file, row and column.
type Problem struct {
	Severity string      `json:"severity"`
	Table    string      `json:"table"`
	Class    string      `json:"class"`
	Count    int64       `json:"count"`
	Examples []Rejection `json:"examples"`
}

// TableCheck summarises one table of a validated dataset.
type TableCheck struct {
	Table string `json:"table"`
	Files int    `json:"files"`
	// Rows is the number of rows read; Rejected those a backtest would set aside (row-level
	// problems). Both stop at a file's structural problem.
	Rows     int64 `json:"rows"`
	Rejected int64 `json:"rejected"`
	// Sorted says whether an event table is in ts order across its files (nil for reference
	// tables and for tables with structural problems).
	Sorted  *bool `json:"sorted_by_ts,omitempty"`
	Symbols int   `json:"symbols,omitempty"`
}

// Validation is the report of ValidateDataset.
type Validation struct {
	Dir      string       `json:"dataset"`
	Tables   []TableCheck `json:"tables"`
	Problems []Problem    `json:"problems"`
	// structural marks tables with a structural problem: their SQL checks are skipped.
	structural map[string]bool
	examples   int
}

// ValidateOptions say how much a validation reports.
type ValidateOptions struct {
	// Examples bounds the examples kept per problem class: 0 means 5, a negative value keeps
	// every problem row.
	Examples int
}

// Fatal reports whether any problem is fatal.
func (v *Validation) Fatal() bool {
	for _, p := range v.Problems {
		if p.Severity == SeverityFatal {
			return true
		}
	}
	return false
}

// Structural reports whether a table has a structural problem (then its rows were not all read).
func (v *Validation) Structural(table string) bool { return v.structural[table] }

// ExampleLimit returns the number of examples kept per class (negative: all).
func (v *Validation) ExampleLimit() int { return v.examples }

// Add records problem rows of a class, merging with the class's earlier ones.
func (v *Validation) Add(severity, table, class string, count int64, examples ...Rejection) {
	for i := range v.Problems {
		p := &v.Problems[i]
		if p.Table == table && p.Class == class {
			p.Count += count
			p.Examples = v.keep(p.Examples, examples)
			return
		}
	}
	v.Problems = append(v.Problems, Problem{Severity: severity, Table: table, Class: class, Count: count,
		Examples: v.keep(nil, examples)})
}

// Replace sets a class's problem, dropping what was recorded for it before (a table-wide SQL
// check supersedes the reader's partial one). A zero count removes the class.
func (v *Validation) Replace(p Problem) {
	out := v.Problems[:0]
	for _, q := range v.Problems {
		if q.Table != p.Table || q.Class != p.Class {
			out = append(out, q)
		}
	}
	v.Problems = out
	if p.Count > 0 {
		p.Examples = v.keep(nil, p.Examples)
		v.Problems = append(v.Problems, p)
	}
}

func (v *Validation) keep(have, more []Rejection) []Rejection {
	for _, r := range more {
		if v.examples >= 0 && len(have) >= v.examples {
			break
		}
		have = append(have, r)
	}
	if have == nil {
		have = []Rejection{}
	}
	return have
}

// Sort orders the problems: fatal first, then by table (AllTables order) and class.
func (v *Validation) Sort() {
	rank := map[string]int{"": len(AllTables)}
	for i, t := range AllTables {
		rank[t] = i
	}
	sort.SliceStable(v.Problems, func(i, j int) bool {
		a, b := v.Problems[i], v.Problems[j]
		if (a.Severity == SeverityFatal) != (b.Severity == SeverityFatal) {
			return a.Severity == SeverityFatal
		}
		if rank[a.Table] != rank[b.Table] {
			return rank[a.Table] < rank[b.Table]
		}
		return a.Class < b.Class
	})
}

// ValidateDataset checks a dataset folder against the canonical schema with the streaming
// reader: every file's structure (readable Parquet, required columns, accepted types, ts unit),
// every row's values (the checks a backtest applies, ReadOptions.Check), ts order across each
// event table's files, empty tables, and the reference tables' ids, types, times and (for
// labels) symbols. It reads every row once. Table-wide duplicate checks need SQL and live in
// datasets/duck. A folder that cannot be opened is an error, not a problem; a cancelled ctx
// stops it with ctx's error.
func ValidateDataset(ctx context.Context, dir string, opts ValidateOptions) (*Validation, error) {
	ds, err := Open(dir)
	if err != nil {
		return nil, err
	}
	v := &Validation{Dir: dir, Problems: []Problem{}, structural: map[string]bool{}, examples: opts.Examples}
	if v.examples == 0 {
		v.examples = 5
	}
	symbols := map[string]bool{}
	var eventRows int64
	eventTables := 0
	for _, table := range EventTables {
		if !ds.Has(table) {
			continue
		}
		eventTables++
		tc, err := v.validateEvents(ctx, ds, table, symbols)
		if err != nil {
			return nil, err
		}
		eventRows += tc.Rows - tc.Rejected
		v.Tables = append(v.Tables, tc)
	}
	if ds.Has(TableAccounts) {
		v.Tables = append(v.Tables, v.validateAccounts(ds))
	}
	if ds.Has(TableLabels) {
		known := symbols
		if eventTables == 0 {
			known = nil
		}
		v.Tables = append(v.Tables, v.validateLabels(ds, known))
	}
	switch {
	case eventTables == 0:
		v.Add(SeverityWarning, "", ClassNoEventData, 0, Rejection{File: dir,
			Message: "no event table (marks, orders, trades, liquidations): nothing to back-test"})
	case eventRows == 0 && !v.anyStructural():
		v.Add(SeverityFatal, "", ClassNoEvents, 0, Rejection{File: dir,
			Message: "the event tables hold no row a backtest would replay"})
	}
	v.Sort()
	return v, nil
}

func (v *Validation) anyStructural() bool { return len(v.structural) > 0 }

// fileProblem records a structural problem of a file from the reader's error.
func (v *Validation) fileProblem(table, path string, err error) {
	v.structural[table] = true
	class, column := classifyFileError(err)
	msg := strings.TrimPrefix(err.Error(), path+": ")
	var row int64
	// "row N: column c: message" from a file-level problem found at a row.
	if rest, ok := strings.CutPrefix(msg, "row "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			fmt.Sscan(n, &row)
			msg = after
		}
	}
	if c, after, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(c, "column ") {
		column, msg = strings.TrimPrefix(c, "column "), after
	}
	v.Add(SeverityFatal, table, class, 1, Rejection{File: path, Row: row, Column: column, Reason: class, Message: msg})
}

// classifyFileError names the class of a reader's structural error from its (stable, tested)
// wording.
func classifyFileError(err error) (class, column string) {
	msg := err.Error()
	switch {
	case strings.Contains(msg, ": missing"), strings.Contains(msg, "none of the columns"):
		return ClassMissing, ""
	case strings.Contains(msg, "partition folder"):
		return ClassBadFile, ""
	case strings.Contains(msg, "not microseconds"):
		return ClassWrongUnit, "ts"
	case strings.Contains(msg, ", want "):
		return ClassWrongType, ""
	}
	return ClassUnreadable, ""
}

// validateEvents reads an event table file by file with the value checks, counting problems
// and rows out of ts order.
func (v *Validation) validateEvents(ctx context.Context, ds *Dataset, table string, symbols map[string]bool) (TableCheck, error) {
	files := ds.tables[table]
	tc := TableCheck{Table: table, Files: len(files)}
	tableSymbols := map[string]bool{}
	var prev detectors.Micros
	var unsorted int64
	var unsortedEx []Rejection
	havePrev := false
	for _, f := range files {
		r, err := newEventReader(table, []tableFile{f})
		if err != nil {
			v.fileProblem(table, f.path, err)
			continue
		}
		r.sc.rej = &rejector{perReason: v.examples}
		r.check = &rowChecker{kind: r.kind}
		var ev detectors.Event
		for {
			ok, err := r.Next(&ev)
			if err != nil {
				v.fileProblem(table, f.path, err)
				break
			}
			if !ok {
				break
			}
			if n := r.Rows(); n%(1<<16) == 0 {
				if err := ctx.Err(); err != nil {
					r.Close()
					return tc, err
				}
			}
			if havePrev && ev.TS < prev {
				unsorted++
				if v.examples < 0 || len(unsortedEx) < v.examples {
					where := r.sc.origin(r.sc.pos - 1)
					unsortedEx = append(unsortedEx, Rejection{File: where.file, Row: where.row, Column: "ts", Reason: "unsorted",
						Message: fmt.Sprintf("%d (%s) is before the previous row's %d", ev.TS, formatMicros(ev.TS), prev)})
				}
			}
			prev, havePrev = ev.TS, true
		}
		rej := r.Rejections()
		tc.Rows += r.Rows() + rej.Rows
		tc.Rejected += rej.Rows
		v.addRejections(table, rej)
		for _, s := range r.Symbols() {
			tableSymbols[s] = true
			symbols[s] = true
		}
		r.Close()
	}
	tc.Symbols = len(tableSymbols)
	if !v.structural[table] {
		sorted := unsorted == 0
		tc.Sorted = &sorted
	}
	if unsorted > 0 {
		v.Add(SeverityWarning, table, ClassUnsorted, unsorted, unsortedEx...)
	}
	if tc.Rows == 0 && !v.structural[table] {
		v.Add(SeverityWarning, table, ClassEmptyTable, 0, Rejection{File: describeTable(ds, table), Message: "no rows"})
	}
	return tc, nil
}

func describeTable(ds *Dataset, table string) string {
	files := ds.Files(table)
	if len(files) == 1 {
		return files[0]
	}
	return fmt.Sprintf("%s (%d files)", table, len(files))
}

// addRejections adds a reader's rejections as fatal row-level problems, one class per reason.
func (v *Validation) addRejections(table string, rej Rejections) {
	byKey := map[string][]Rejection{}
	for _, ex := range rej.Examples {
		byKey[ex.Key()] = append(byKey[ex.Key()], ex)
	}
	for _, key := range SortedReasons(rej.ByReason) {
		v.Add(SeverityFatal, table, key, rej.ByReason[key], byKey[key]...)
	}
}

// refScanner opens a rejecting scanner over one reference-table file.
func (v *Validation) refScanner(f tableFile, schema []*column) *scanner {
	sc := newScanner([]tableFile{f}, schema)
	sc.rej = &rejector{perReason: v.examples}
	return sc
}

// rowProblem records a row-level problem of a reference table found after decoding.
func (v *Validation) rowProblem(table string, sc *scanner, i int, column, reason, msg string) {
	where := sc.origin(i)
	rej := Rejection{File: where.file, Row: where.row, Column: column, Reason: reason, Message: msg}
	v.Add(SeverityFatal, table, rej.Key(), 1, rej)
}

func (v *Validation) validateAccounts(ds *Dataset) TableCheck {
	files := ds.tables[TableAccounts]
	tc := TableCheck{Table: TableAccounts, Files: len(files)}
	seen := map[string]string{}
	for _, f := range files {
		cols := columnsOf(AccountsSchema)
		id, created := colByName(cols, "account_id"), colByName(cols, "created_at")
		sc := v.refScanner(f, cols)
		for {
			i, ok, err := sc.advance()
			if err != nil {
				v.fileProblem(TableAccounts, f.path, err)
				break
			}
			if !ok {
				break
			}
			tc.Rows++
			a := id.strs[i]
			switch {
			case a == "":
				v.rowProblem(TableAccounts, sc, i, "account_id", ReasonEmpty, "empty account id")
				tc.Rejected++
			case seen[a] != "":
				v.rowProblem(TableAccounts, sc, i, "account_id", ReasonDuplicateID, fmt.Sprintf("%q already at %s", a, seen[a]))
				tc.Rejected++
			default:
				seen[a] = sc.where()
			}
			if c := created.ints[i]; c < MinPlausibleTS {
				v.rowProblem(TableAccounts, sc, i, "created_at", ReasonFarPast, fmt.Sprintf("%d (%s) is before %s", c, formatMicros(c), formatMicros(MinPlausibleTS)))
			} else if c > MaxPlausibleTS {
				v.rowProblem(TableAccounts, sc, i, "created_at", ReasonFarFuture, fmt.Sprintf("%d (%s) is after %s", c, formatMicros(c), formatMicros(MaxPlausibleTS)))
			}
		}
		rej := sc.rej.stats
		tc.Rows += rej.Rows
		tc.Rejected += rej.Rows
		v.addRejections(TableAccounts, rej)
		sc.close()
	}
	if tc.Rows == 0 && !v.structural[TableAccounts] {
		v.Add(SeverityWarning, TableAccounts, ClassEmptyTable, 0, Rejection{File: describeTable(ds, TableAccounts), Message: "no rows"})
	}
	return tc
}

// validateLabels checks ids, types, times and, when known is not nil, that each incident's
// symbol appears in an event table.
func (v *Validation) validateLabels(ds *Dataset, known map[string]bool) TableCheck {
	files := ds.tables[TableLabels]
	tc := TableCheck{Table: TableLabels, Files: len(files)}
	seen := map[string]string{}
	for _, f := range files {
		cols := columnsOf(LabelsSchema)
		c := func(name string) *column { return colByName(cols, name) }
		id, typ, symbol, start, end := c("incident_id"), c("type"), c("symbol"), c("start_ts"), c("end_ts")
		sc := v.refScanner(f, cols)
		for {
			i, ok, err := sc.advance()
			if err != nil {
				v.fileProblem(TableLabels, f.path, err)
				break
			}
			if !ok {
				break
			}
			tc.Rows++
			bad := 0
			problem := func(column, reason, msg string) {
				v.rowProblem(TableLabels, sc, i, column, reason, msg)
				bad++
			}
			inc := id.strs[i]
			switch {
			case inc == "":
				problem("incident_id", ReasonEmpty, "empty incident id")
			case seen[inc] != "":
				problem("incident_id", ReasonDuplicateID, fmt.Sprintf("%q already at %s", inc, seen[inc]))
			default:
				seen[inc] = sc.where()
			}
			if _, err := detectors.ParseIncidentType(typ.strs[i]); err != nil {
				problem("type", ReasonUnknownValue, err.Error())
			}
			for _, ts := range []struct {
				name string
				v    int64
			}{{"start_ts", start.ints[i]}, {"end_ts", end.ints[i]}} {
				if ts.v < MinPlausibleTS {
					problem(ts.name, ReasonFarPast, fmt.Sprintf("%d (%s) is before %s", ts.v, formatMicros(ts.v), formatMicros(MinPlausibleTS)))
				} else if ts.v > MaxPlausibleTS {
					problem(ts.name, ReasonFarFuture, fmt.Sprintf("%d (%s) is after %s", ts.v, formatMicros(ts.v), formatMicros(MaxPlausibleTS)))
				}
			}
			if end.ints[i] < start.ints[i] {
				problem("end_ts", reasonBeforeStart, fmt.Sprintf("end %d is before start %d", end.ints[i], start.ints[i]))
			}
			switch sym := symbol.strs[i]; {
			case sym == "":
				problem("symbol", ReasonEmpty, "empty symbol")
			case known != nil && !known[sym]:
				problem("symbol", reasonUnknownSymbol, fmt.Sprintf("incident %s names symbol %q, which no event table holds", inc, sym))
			}
			if bad > 0 {
				tc.Rejected++
			}
		}
		rej := sc.rej.stats
		tc.Rows += rej.Rows
		tc.Rejected += rej.Rows
		v.addRejections(TableLabels, rej)
		sc.close()
	}
	if tc.Rows == 0 && !v.structural[TableLabels] {
		v.Add(SeverityWarning, TableLabels, ClassEmptyTable, 0, Rejection{File: describeTable(ds, TableLabels), Message: "no rows"})
	}
	return tc
}
