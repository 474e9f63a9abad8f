// Package duck is fds's only user of DuckDB (cgo, built with -tags=duckdb_arrow): sorting
// Parquet tables by ts out of core, summarising tables, and ad-hoc SQL over a dataset. Keeping
// it here lets every other package, and its tests, stay pure Go.
//
// Paths and values reach SQL only as bound parameters or as quoted literals and identifiers.
// DuckDB expands glob characters (* ? [) in file names whatever the quoting, so such names are
// refused rather than misread.
package duck

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/parquet/file"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// DB is an in-memory DuckDB for one-off table operations (sorting, summaries). It spills large
// sorts to a private temporary folder removed by Close.
type DB struct {
	db     *sql.DB
	conn   *sql.Conn
	tmpDir string
}

// Open opens an empty in-memory DuckDB with the session time zone set to UTC, so that naive
// timestamps are taken as UTC.
func Open(ctx context.Context) (d *DB, err error) {
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("duckdb: %w", err)
	}
	d = &DB{db: sql.OpenDB(connector)}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	// One connection: settings are per connection.
	if d.conn, err = d.db.Conn(ctx); err != nil {
		return nil, fmt.Errorf("duckdb: %w", err)
	}
	if d.tmpDir, err = os.MkdirTemp("", "fds-duckdb-"); err != nil {
		return nil, fmt.Errorf("duckdb spill folder: %w", err)
	}
	// SET takes no bound parameters: the values are quoted literals.
	for _, stmt := range []string{
		"SET TimeZone = 'UTC'",
		"SET temp_directory = " + sqlString(d.tmpDir),
	} {
		if _, err = d.conn.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("duckdb: %s", flattenErr(err))
		}
	}
	return d, nil
}

// Close releases the database and removes its spill folder.
func (d *DB) Close() error {
	var errs []error
	if d.conn != nil {
		errs = append(errs, d.conn.Close())
	}
	if d.db != nil {
		errs = append(errs, d.db.Close())
	}
	if d.tmpDir != "" {
		errs = append(errs, os.RemoveAll(d.tmpDir))
	}
	return errors.Join(errs...)
}

// SortParquet writes the rows of srcFiles (one table, taken in the given order) to dst sorted by
// ts, ties kept in input order (file order, then row order within a file): a stable sort. Hive
// partition folders (key=value) below the files' common table folder become columns for keys the
// files lack, as datasets.Open reads them. ts is written as timestamp[us, UTC] whatever its unit
// in the input; the other columns keep their types. dst is written to a temporary file in its
// folder and renamed into place. Row groups are DuckDB's default size (122,880 rows): asking for
// 2^20 rows, as EventWriter writes, made the sort about twice as slow.
func (d *DB) SortParquet(ctx context.Context, srcFiles []string, dst string) error {
	return d.sortParquet(ctx, srcFiles, dst, false)
}

// SortParquetWithOrigin is SortParquet keeping each row's provenance as two more columns:
// datasets.OriginFileColumn (the index of its file in srcFiles) and datasets.OriginRowColumn
// (its 0-based row in that file), so that a reader of the copy (datasets.ReadOptions.Origins)
// reports a problem at the row the user can find.
func (d *DB) SortParquetWithOrigin(ctx context.Context, srcFiles []string, dst string) error {
	return d.sortParquet(ctx, srcFiles, dst, true)
}

func (d *DB) sortParquet(ctx context.Context, srcFiles []string, dst string, keepOrigin bool) error {
	scan, args, err := scanSQL(srcFiles, true)
	if err != nil {
		return err
	}
	dir, base := filepath.Split(dst)
	if dir == "" {
		dir = "."
	}
	if err := checkSQLPath(dst); err != nil {
		return err
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
	args = append(args, tmpName)
	sel := "* EXCLUDE (fds_file_index, fds_file_row) REPLACE (CAST(ts AS TIMESTAMPTZ) AS ts)"
	if keepOrigin {
		sel += ", fds_file_index AS " + sqlIdent(datasets.OriginFileColumn) + ", fds_file_row AS " + sqlIdent(datasets.OriginRowColumn)
	}
	stmt := fmt.Sprintf(`COPY (
  SELECT %s
  FROM (%s)
  ORDER BY ts, fds_file_index, fds_file_row
) TO $%d (FORMAT parquet, COMPRESSION zstd)`, sel, scan, len(args))
	if _, err := d.conn.ExecContext(ctx, stmt, args...); err != nil {
		return fmt.Errorf("sorting %s: %s", describeFiles(srcFiles), flattenErr(err))
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

// Summary describes an event table.
type Summary struct {
	Rows         int64
	MinTS, MaxTS detectors.Micros
	// Symbols is the number of distinct non-null symbols.
	Symbols int
}

// TableSummary counts the rows, the ts range and the distinct symbols of an event table's files
// (MinTS and MaxTS are 0 for an empty table). Hive partition folders count as datasets.Open reads
// them.
func (d *DB) TableSummary(ctx context.Context, files []string) (Summary, error) {
	scan, args, err := scanSQL(files, false)
	if err != nil {
		return Summary{}, err
	}
	stmt := fmt.Sprintf(`SELECT count(*), coalesce(epoch_us(min(CAST(ts AS TIMESTAMPTZ))), 0),
  coalesce(epoch_us(max(CAST(ts AS TIMESTAMPTZ))), 0), count(DISTINCT symbol) FROM (%s)`, scan)
	var s Summary
	row := d.conn.QueryRowContext(ctx, stmt, args...)
	if err := row.Scan(&s.Rows, &s.MinTS, &s.MaxTS, &s.Symbols); err != nil {
		return Summary{}, fmt.Errorf("summarising %s: %s", describeFiles(files), flattenErr(err))
	}
	return s, nil
}

// sqlString quotes a value as a SQL string literal (inner quotes doubled), for the statements
// that take no bound parameters.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// sqlIdent quotes a name as a SQL identifier (inner double quotes doubled).
func sqlIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// flattenErr folds DuckDB's multi-line errors (LINE markers, carets) into one line.
func flattenErr(err error) string {
	var parts []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" && strings.Trim(l, "^ ") != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " ")
}

// describeFiles names a list of files in an error message.
func describeFiles(files []string) string {
	if len(files) == 1 {
		return files[0]
	}
	return fmt.Sprintf("%d files (%s, ...)", len(files), files[0])
}

// checkSQLPath refuses what neither binding nor quoting can pass to read_parquet exactly: NUL
// bytes, and glob characters, which DuckDB expands even in a bound value.
func checkSQLPath(path string) error {
	if strings.ContainsRune(path, 0) {
		return fmt.Errorf("%q: file name contains a NUL byte", path)
	}
	if strings.ContainsAny(path, "*?[") {
		return fmt.Errorf("%s: DuckDB reads *, ? and [ in file names as glob patterns; rename the file", path)
	}
	return nil
}

// tableRoot is the table folder of a set of files: their deepest common folder above any
// key=value partition folders.
func tableRoot(files []string) string {
	root := filepath.Dir(filepath.Clean(files[0]))
	for _, f := range files[1:] {
		dir := filepath.Dir(filepath.Clean(f))
		for root != dir && !strings.HasPrefix(dir, root+string(filepath.Separator)) {
			parent := filepath.Dir(root)
			if parent == root {
				break
			}
			root = parent
		}
	}
	for {
		k, _, ok := strings.Cut(filepath.Base(root), "=")
		if !ok || k == "" || filepath.Dir(root) == root {
			return root
		}
		root = filepath.Dir(root)
	}
}

// fileColumns reads the top-level column names from a Parquet file's footer.
func fileColumns(path string) (names map[string]bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: corrupt Parquet file: %v", path, r)
		}
	}()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable Parquet file: %s", path, strings.Join(strings.Fields(err.Error()), " "))
	}
	defer pf.Close()
	root := pf.MetaData().Schema.Root()
	names = make(map[string]bool, root.NumFields())
	for i := 0; i < root.NumFields(); i++ {
		names[root.Field(i).Name()] = true
	}
	return names, nil
}

// scanGroup is a run of files that get the same constant partition columns.
type scanGroup struct {
	constants []datasets.Partition
	files     []string
	indices   []int64
}

// scanSQL returns a query over files as one table, columns matched by name, with the partition
// constants each file lacks, and (withOrder) the columns fds_file_index and fds_file_row that
// give the input order. Every path and value is a bound parameter ($1, $2, ... in args).
func scanSQL(files []string, withOrder bool) (string, []any, error) {
	if len(files) == 0 {
		return "", nil, errors.New("no files to read")
	}
	root := tableRoot(files)
	var groups []*scanGroup
	bySignature := make(map[string]*scanGroup)
	seen := make(map[string]bool, len(files))
	for i, f := range files {
		if err := checkSQLPath(f); err != nil {
			return "", nil, err
		}
		// The input order is found by joining on the file name: a repeated name would repeat rows.
		if seen[f] {
			return "", nil, fmt.Errorf("%s: listed twice", f)
		}
		seen[f] = true
		cols, err := fileColumns(f)
		if err != nil {
			return "", nil, err
		}
		var constants []datasets.Partition
		if rel, err := filepath.Rel(root, filepath.Dir(filepath.Clean(f))); err == nil {
			for _, p := range datasets.ParsePartitionPath(rel) {
				if !cols[p.Key] {
					constants = append(constants, p)
				}
			}
		}
		sig := fmt.Sprintf("%#v", constants)
		g := bySignature[sig]
		if g == nil {
			g = &scanGroup{constants: constants}
			bySignature[sig] = g
			groups = append(groups, g)
		}
		g.files = append(g.files, f)
		g.indices = append(g.indices, int64(i))
	}
	var args []any
	param := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	parts := make([]string, len(groups))
	for gi, g := range groups {
		var sel strings.Builder
		sel.WriteString("SELECT t.* EXCLUDE (filename, file_row_number)")
		for _, c := range g.constants {
			if c.Null {
				fmt.Fprintf(&sel, ", NULL::VARCHAR AS %s", sqlIdent(c.Key))
			} else {
				fmt.Fprintf(&sel, ", %s::VARCHAR AS %s", param(c.Value), sqlIdent(c.Key))
			}
		}
		if withOrder {
			sel.WriteString(", f.fds_file_index, t.file_row_number AS fds_file_row")
		}
		fmt.Fprintf(&sel, " FROM read_parquet(%s::VARCHAR[], filename = true, file_row_number = true, union_by_name = true, hive_partitioning = false) t",
			param(g.files))
		if withOrder {
			names, indices := param(g.files), param(g.indices)
			fmt.Fprintf(&sel, " JOIN (SELECT unnest(n) AS fds_file_name, unnest(i) AS fds_file_index FROM (SELECT %s::VARCHAR[] AS n, %s::BIGINT[] AS i)) f ON t.filename = f.fds_file_name",
				names, indices)
		}
		parts[gi] = sel.String()
	}
	return strings.Join(parts, "\nUNION ALL BY NAME\n"), args, nil
}
