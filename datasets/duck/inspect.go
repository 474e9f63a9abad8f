package duck

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// Inspection describes a dataset folder: what `fds datasets inspect` prints.
type Inspection struct {
	Dir    string            `json:"dir"`
	Tables []TableInspection `json:"tables"`
	// LabelsByType counts the labelled incidents per type, in type order (nil without labels).
	LabelsByType []TypeCount `json:"labels_by_type"`
}

// TableInspection describes one table.
type TableInspection struct {
	Table string   `json:"table"`
	Files []string `json:"files"`
	Rows  int64    `json:"rows"`
	// FirstTS and LastTS span the table's time column (ts; start_ts to end_ts for labels;
	// created_at for accounts) as RFC 3339 UTC with microseconds; nil when the table has no such
	// column or no non-null value.
	FirstTS     *string  `json:"first_ts"`
	LastTS      *string  `json:"last_ts"`
	SpanSeconds *float64 `json:"span_s"`
	// Symbols is the number of distinct symbols (nil without a symbol column); SymbolNames lists
	// them when there are at most MaxListedSymbols.
	Symbols     *int64   `json:"symbols"`
	SymbolNames []string `json:"symbol_names,omitempty"`
	// Accounts is the number of distinct account ids over the table's account columns
	// (account_id, maker_account, taker_account, accounts); nil when it has none.
	Accounts *int64 `json:"accounts"`
	// SortedByTS is set for event tables: whether ts never decreases across the files in read
	// order. FirstUnsortedRow is then the 1-based row (across files) of the first decrease.
	SortedByTS       *bool         `json:"sorted_by_ts"`
	FirstUnsortedRow int64         `json:"first_unsorted_row,omitempty"`
	Columns          []ColumnStats `json:"columns"`
}

// ColumnStats are one column's type, null count and value range (min and max as text: numbers
// as DuckDB prints them, timestamps as RFC 3339 UTC; nil for nested types or an all-null column).
type ColumnStats struct {
	Name  string  `json:"name"`
	Type  string  `json:"type"`
	Nulls int64   `json:"nulls"`
	Min   *string `json:"min"`
	Max   *string `json:"max"`
}

// TypeCount is a count of labelled incidents of one type.
type TypeCount struct {
	Type  string `json:"type"`
	Count int64  `json:"count"`
}

// MaxListedSymbols bounds the symbols listed by name in an inspection.
const MaxListedSymbols = 20

// accountColumns are the columns that hold account ids, in any table.
var accountColumns = []string{"account_id", "maker_account", "taker_account", "accounts"}

// FormatMicros writes a timestamp as RFC 3339 UTC with up to six decimals.
func FormatMicros(us detectors.Micros) string {
	return time.UnixMicro(us).UTC().Format("2006-01-02T15:04:05.999999Z07:00")
}

// Inspect summarises every table of a dataset: rows, time span, symbols, accounts, per-column
// null counts and ranges, whether event tables are sorted by ts, and the labels per type.
func (s *Session) Inspect(ctx context.Context, ds *datasets.Dataset) (*Inspection, error) {
	out := &Inspection{Dir: ds.Dir, Tables: []TableInspection{}}
	for _, table := range ds.Tables() {
		if _, ok := s.View(table); !ok {
			if err := s.RegisterParquet(ctx, table, table, ds.Files(table)); err != nil {
				return nil, err
			}
		}
		ti, err := s.inspectTable(ctx, table)
		if err != nil {
			return nil, fmt.Errorf("inspecting %s: %w", describeFiles(ds.Files(table)), err)
		}
		ti.Files = ds.Files(table)
		if _, isEvent := datasets.KindOfTable(table); isEvent {
			sorted, firstBad, err := ds.CheckSorted(table)
			if err != nil {
				return nil, err
			}
			ti.SortedByTS = &sorted
			ti.FirstUnsortedRow = firstBad
		}
		out.Tables = append(out.Tables, ti)
		if table == datasets.TableLabels {
			if out.LabelsByType, err = s.labelCounts(ctx, table); err != nil {
				return nil, fmt.Errorf("inspecting labels: %w", err)
			}
		}
	}
	return out, nil
}

// isTimestamp says a DuckDB type is a timestamp of any unit or zone.
func isTimestamp(typ string) bool { return strings.HasPrefix(typ, "TIMESTAMP") }

// isNested says a DuckDB type has no meaningful min and max.
func isNested(typ string) bool {
	return strings.HasSuffix(typ, "]") || strings.HasPrefix(typ, "STRUCT") || strings.HasPrefix(typ, "MAP") ||
		strings.HasPrefix(typ, "UNION")
}

// inspectTable computes the statistics of a registered view in one scan, plus small queries for
// distinct symbols and accounts.
func (s *Session) inspectTable(ctx context.Context, view string) (TableInspection, error) {
	v, _ := s.View(view)
	ti := TableInspection{Table: view, Columns: []ColumnStats{}}
	has := map[string]string{}
	exprs := []string{"count(*)"}
	for _, c := range v.Columns {
		has[c.Name] = c.Type
		id := sqlIdent(c.Name)
		exprs = append(exprs, "count("+id+")")
		switch {
		case isNested(c.Type):
			exprs = append(exprs, "NULL::VARCHAR", "NULL::VARCHAR")
		case isTimestamp(c.Type):
			exprs = append(exprs, "CAST(epoch_us(min("+id+")) AS VARCHAR)", "CAST(epoch_us(max("+id+")) AS VARCHAR)")
		default:
			exprs = append(exprs, "CAST(min("+id+") AS VARCHAR)", "CAST(max("+id+") AS VARCHAR)")
		}
	}
	stmt := fmt.Sprintf("SELECT %s FROM %s", strings.Join(exprs, ", "), sqlIdent(view))
	vals := make([]any, len(exprs))
	var rows int64
	counts := make([]int64, len(v.Columns))
	mins := make([]sql.NullString, len(v.Columns))
	maxs := make([]sql.NullString, len(v.Columns))
	vals[0] = &rows
	for i := range v.Columns {
		vals[1+3*i], vals[2+3*i], vals[3+3*i] = &counts[i], &mins[i], &maxs[i]
	}
	if err := s.db.conn.QueryRowContext(ctx, stmt).Scan(vals...); err != nil {
		return ti, fmt.Errorf("%s", flattenErr(err))
	}
	ti.Rows = rows
	for i, c := range v.Columns {
		cs := ColumnStats{Name: c.Name, Type: c.Type, Nulls: rows - counts[i]}
		for _, p := range []struct {
			src sql.NullString
			dst **string
		}{{mins[i], &cs.Min}, {maxs[i], &cs.Max}} {
			if !p.src.Valid {
				continue
			}
			text := p.src.String
			if isTimestamp(c.Type) {
				var us int64
				if _, err := fmt.Sscan(text, &us); err == nil {
					text = FormatMicros(us)
				}
			}
			*p.dst = &text
		}
		ti.Columns = append(ti.Columns, cs)
	}

	// Time span.
	first, last := "ts", "ts"
	switch {
	case has["start_ts"] != "" && has["end_ts"] != "":
		first, last = "start_ts", "end_ts"
	case has["ts"] == "" && has["created_at"] != "":
		first, last = "created_at", "created_at"
	}
	if isTimestamp(has[first]) && isTimestamp(has[last]) {
		var lo, hi sql.NullInt64
		q := fmt.Sprintf("SELECT epoch_us(min(%s)), epoch_us(max(%s)) FROM %s", sqlIdent(first), sqlIdent(last), sqlIdent(view))
		if err := s.db.conn.QueryRowContext(ctx, q).Scan(&lo, &hi); err != nil {
			return ti, fmt.Errorf("%s", flattenErr(err))
		}
		if lo.Valid && hi.Valid {
			a, b := FormatMicros(lo.Int64), FormatMicros(hi.Int64)
			span := float64(hi.Int64-lo.Int64) / float64(detectors.Second)
			ti.FirstTS, ti.LastTS, ti.SpanSeconds = &a, &b, &span
		}
	}

	// Symbols.
	if _, ok := has["symbol"]; ok {
		var n int64
		q := fmt.Sprintf("SELECT count(DISTINCT symbol) FROM %s", sqlIdent(view))
		if err := s.db.conn.QueryRowContext(ctx, q).Scan(&n); err != nil {
			return ti, fmt.Errorf("%s", flattenErr(err))
		}
		ti.Symbols = &n
		if n <= MaxListedSymbols {
			names, err := s.strings(ctx, fmt.Sprintf("SELECT DISTINCT CAST(symbol AS VARCHAR) FROM %s WHERE symbol IS NOT NULL ORDER BY 1", sqlIdent(view)))
			if err != nil {
				return ti, err
			}
			ti.SymbolNames = names
		}
	}

	// Accounts, over every account column.
	var parts []string
	for _, name := range accountColumns {
		typ, ok := has[name]
		if !ok {
			continue
		}
		if strings.HasSuffix(typ, "[]") {
			parts = append(parts, fmt.Sprintf("SELECT CAST(unnest(%s) AS VARCHAR) AS a FROM %s", sqlIdent(name), sqlIdent(view)))
		} else {
			parts = append(parts, fmt.Sprintf("SELECT CAST(%s AS VARCHAR) AS a FROM %s", sqlIdent(name), sqlIdent(view)))
		}
	}
	if len(parts) > 0 {
		var n int64
		q := fmt.Sprintf("SELECT count(DISTINCT a) FROM (%s) WHERE a <> ''", strings.Join(parts, " UNION ALL "))
		if err := s.db.conn.QueryRowContext(ctx, q).Scan(&n); err != nil {
			return ti, fmt.Errorf("%s", flattenErr(err))
		}
		ti.Accounts = &n
	}
	return ti, nil
}

// labelCounts counts the labels per type.
func (s *Session) labelCounts(ctx context.Context, view string) ([]TypeCount, error) {
	v, _ := s.View(view)
	hasType := false
	for _, c := range v.Columns {
		hasType = hasType || c.Name == "type"
	}
	if !hasType {
		return nil, fmt.Errorf("no type column")
	}
	rows, err := s.QueryRows(ctx, fmt.Sprintf("SELECT coalesce(CAST(type AS VARCHAR), '(null)'), count(*) FROM %s GROUP BY 1 ORDER BY 1", sqlIdent(view)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []TypeCount{}
	for rows.Next() {
		var tc TypeCount
		if err := rows.Scan(&tc.Type, &tc.Count); err != nil {
			return nil, err
		}
		out = append(out, tc)
	}
	return out, rows.Err()
}

// strings runs a one-column query and returns its values.
func (s *Session) strings(ctx context.Context, q string) ([]string, error) {
	rows, err := s.QueryRows(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
