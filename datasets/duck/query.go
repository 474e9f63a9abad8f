package duck

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Session is an in-memory DuckDB in which the tables of a dataset and of a run folder are
// registered as views under canonical names, for ad-hoc SQL (`fds query`) and inspection. It
// holds one connection, so every statement sees the same views and settings (time zone UTC).
type Session struct {
	db    *DB
	views []ViewInfo
}

// ViewInfo describes one registered view.
type ViewInfo struct {
	Name string `json:"name"`
	// Source says where the rows come from: a file, a table folder or a run's metrics.json.
	Source  string       `json:"source"`
	Columns []ColumnInfo `json:"columns"`
}

// ColumnInfo is one column of a view with its DuckDB type.
type ColumnInfo struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// OpenSession opens an empty in-memory DuckDB for queries.
//
// Results are read through database/sql, not the driver's Arrow interface: with duckdb-go
// v2.10506.0 the Arrow batches of a query point into data chunks the reader has already freed
// (short strings come back overwritten), so the copying row interface is the safe one here.
func OpenSession(ctx context.Context) (*Session, error) {
	db, err := Open(ctx)
	if err != nil {
		return nil, err
	}
	return &Session{db: db}, nil
}

// Close releases the database.
func (s *Session) Close() error { return s.db.Close() }

// inlineArgs replaces the $N placeholders of a statement built by scanSQL with quoted literals.
// DuckDB takes no bound parameters in view definitions, so this is how paths reach CREATE VIEW:
// each value quoted (inner quotes doubled), never pasted raw. Placeholders are replaced from the
// highest number down so that $1 never matches the start of $12.
func inlineArgs(stmt string, args []any) (string, error) {
	for i := len(args); i >= 1; i-- {
		var lit string
		switch v := args[i-1].(type) {
		case string:
			lit = sqlString(v)
		case []string:
			parts := make([]string, len(v))
			for j, x := range v {
				parts[j] = sqlString(x)
			}
			lit = "[" + strings.Join(parts, ", ") + "]"
		case []int64:
			parts := make([]string, len(v))
			for j, x := range v {
				parts[j] = strconv.FormatInt(x, 10)
			}
			lit = "[" + strings.Join(parts, ", ") + "]::BIGINT[]"
		default:
			return "", fmt.Errorf("cannot inline a %T", v)
		}
		stmt = strings.ReplaceAll(stmt, "$"+strconv.Itoa(i), lit)
	}
	return stmt, nil
}

// RegisterParquet registers the Parquet files of one table (taken in the given order, columns
// matched by name, hive partition folders read as datasets.Open reads them) as a view named name.
// source is shown in listings. A file that is not readable Parquet fails here, naming the file.
func (s *Session) RegisterParquet(ctx context.Context, name, source string, files []string) error {
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("view %s: %w", name, err)
		}
	}
	scan, args, err := scanSQL(files, false)
	if err != nil {
		return fmt.Errorf("view %s: %w", name, err)
	}
	if scan, err = inlineArgs(scan, args); err != nil {
		return fmt.Errorf("view %s: %w", name, err)
	}
	stmt := fmt.Sprintf("CREATE VIEW %s AS %s", sqlIdent(name), scan)
	if _, err := s.db.conn.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("view %s (%s): %s", name, source, flattenErr(err))
	}
	return s.noteView(ctx, name, source)
}

// RegisterAlias registers a view named name showing every row of the existing view target.
func (s *Session) RegisterAlias(ctx context.Context, name, source, target string) error {
	stmt := fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM %s", sqlIdent(name), sqlIdent(target))
	if _, err := s.db.conn.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("view %s: %s", name, flattenErr(err))
	}
	return s.noteView(ctx, name, source)
}

// Column declares one column of a table built from Go values.
type Column struct {
	Name string
	// Type is a DuckDB type name: BIGINT, DOUBLE, VARCHAR or BOOLEAN.
	Type string
}

// RegisterRows creates a table named name from rows of Go values (int64, float64, string, bool,
// or nil for NULL), one value per column. Values are bound parameters, never spliced into SQL.
func (s *Session) RegisterRows(ctx context.Context, name, source string, cols []Column, rows [][]any) error {
	defs := make([]string, len(cols))
	marks := make([]string, len(cols))
	for i, c := range cols {
		switch c.Type {
		case "BIGINT", "DOUBLE", "VARCHAR", "BOOLEAN":
		default:
			return fmt.Errorf("table %s: column %s: unsupported type %q", name, c.Name, c.Type)
		}
		defs[i] = sqlIdent(c.Name) + " " + c.Type
		marks[i] = "?"
	}
	if _, err := s.db.conn.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s (%s)", sqlIdent(name), strings.Join(defs, ", "))); err != nil {
		return fmt.Errorf("table %s: %s", name, flattenErr(err))
	}
	insert := fmt.Sprintf("INSERT INTO %s VALUES (%s)", sqlIdent(name), strings.Join(marks, ", "))
	for i, r := range rows {
		if len(r) != len(cols) {
			return fmt.Errorf("table %s: row %d has %d values for %d columns", name, i+1, len(r), len(cols))
		}
		if _, err := s.db.conn.ExecContext(ctx, insert, r...); err != nil {
			return fmt.Errorf("table %s: row %d: %s", name, i+1, flattenErr(err))
		}
	}
	return s.noteView(ctx, name, source)
}

// noteView records a registered view with its columns as DuckDB describes them.
func (s *Session) noteView(ctx context.Context, name, source string) error {
	rows, err := s.db.conn.QueryContext(ctx, "SELECT column_name, data_type FROM information_schema.columns "+
		"WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position", name)
	if err != nil {
		return fmt.Errorf("view %s: %s", name, flattenErr(err))
	}
	defer rows.Close()
	v := ViewInfo{Name: name, Source: source}
	for rows.Next() {
		var c ColumnInfo
		if err := rows.Scan(&c.Name, &c.Type); err != nil {
			return fmt.Errorf("view %s: %w", name, err)
		}
		v.Columns = append(v.Columns, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("view %s: %s", name, flattenErr(err))
	}
	s.views = append(s.views, v)
	return nil
}

// Views returns the registered views in registration order.
func (s *Session) Views() []ViewInfo { return append([]ViewInfo(nil), s.views...) }

// View returns the named registered view.
func (s *Session) View(name string) (ViewInfo, bool) {
	for _, v := range s.views {
		if v.Name == name {
			return v, true
		}
	}
	return ViewInfo{}, false
}

// Query runs SQL (statements separated by semicolons run in order; the last one's result is
// returned). The caller closes the rows before the next statement.
func (s *Session) Query(ctx context.Context, query string) (*sql.Rows, error) {
	rows, err := s.db.conn.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("query: %s", flattenErr(err))
	}
	return rows, nil
}

// CopyToParquet writes the result of one query to a Parquet file (zstd) through DuckDB's COPY:
// column types as DuckDB has them (timestamps with zone as timestamp[us, UTC]). dst is written to
// a temporary file in its folder and renamed into place.
func (s *Session) CopyToParquet(ctx context.Context, query, dst string) error {
	stmts := SplitStatements(query)
	if len(stmts) == 0 {
		return errors.New("query to parquet: no statement")
	}
	for _, st := range stmts[:len(stmts)-1] {
		if _, err := s.db.conn.ExecContext(ctx, st); err != nil {
			return fmt.Errorf("query: %s", flattenErr(err))
		}
	}
	q := stmts[len(stmts)-1]
	dir, base := filepath.Split(dst)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("%s: %w", dst, err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmpName)
		}
	}()
	stmt := fmt.Sprintf("COPY (%s\n) TO $1 (FORMAT parquet, COMPRESSION zstd)", q)
	if _, err := s.db.conn.ExecContext(ctx, stmt, tmpName); err != nil {
		return fmt.Errorf("query to parquet (one SELECT-like statement): %s", flattenErr(err))
	}
	if err := os.Chmod(tmpName, 0o644); err != nil {
		return fmt.Errorf("%s: %w", dst, err)
	}
	if err := os.Rename(tmpName, dst); err != nil {
		return fmt.Errorf("%s: %w", dst, err)
	}
	ok = true
	return nil
}

// QueryRows runs a statement with bound arguments, for small results read through database/sql.
// The caller closes the rows before the next statement.
func (s *Session) QueryRows(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := s.db.conn.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, errors.New(flattenErr(err))
	}
	return rows, nil
}

// SplitStatements splits SQL text at the semicolons that end statements: those outside string
// literals ('...'), quoted identifiers ("..."), dollar-quoted strings ($$...$$) and comments
// (-- to the end of the line, /* ... */). Statements holding nothing but blanks and comments are
// dropped; the others keep their text, comments included, without the semicolon.
func SplitStatements(sqlText string) []string {
	var out []string
	start, hasCode := 0, false
	flush := func(end int) {
		if hasCode {
			out = append(out, strings.TrimSpace(sqlText[start:end]))
		}
		start, hasCode = end+1, false
	}
	for i := 0; i < len(sqlText); i++ {
		c := sqlText[i]
		switch {
		case c == '\'' || c == '"':
			hasCode = true
			for i++; i < len(sqlText); i++ {
				if sqlText[i] == c {
					if i+1 < len(sqlText) && sqlText[i+1] == c { // doubled quote inside
						i++
						continue
					}
					break
				}
			}
		case c == '$' && strings.HasPrefix(sqlText[i:], "$$"):
			hasCode = true
			if j := strings.Index(sqlText[i+2:], "$$"); j >= 0 {
				i += 2 + j + 1
			} else {
				i = len(sqlText)
			}
		case c == '-' && strings.HasPrefix(sqlText[i:], "--"):
			if j := strings.IndexByte(sqlText[i:], '\n'); j >= 0 {
				i += j
			} else {
				i = len(sqlText)
			}
		case c == '/' && strings.HasPrefix(sqlText[i:], "/*"):
			if j := strings.Index(sqlText[i+2:], "*/"); j >= 0 {
				i += 2 + j + 1
			} else {
				i = len(sqlText)
			}
		case c == ';':
			flush(i)
		case c != ' ' && c != '\t' && c != '\n' && c != '\r':
			hasCode = true
		}
	}
	if start < len(sqlText) {
		flush(len(sqlText))
	}
	return out
}
