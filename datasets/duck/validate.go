package duck

import (
	"context"
	"fmt"

	"github.com/fds-dev/fds/datasets"
)

// duplicateCheck is a table-wide uniqueness rule of fds datasets validate.
type duplicateCheck struct {
	column string // the id column reported
	key    string // the SQL partition key (columns of the canonical schema)
	filter string // a constant SQL condition on the rows checked
	what   string // how a message names the row's id
}

var duplicateChecks = map[string]duplicateCheck{
	// Trade ids are unique per instrument (public feeds number trades per symbol).
	datasets.TableTrades: {column: "trade_id", key: "symbol, trade_id", filter: "trade_id IS NOT NULL AND symbol IS NOT NULL", what: "trade"},
	// An order is placed once; ids are checked per symbol, as some venues number orders per book.
	datasets.TableOrders: {column: "order_id", key: "symbol, order_id", filter: "event = 'new' AND order_id IS NOT NULL AND symbol IS NOT NULL", what: "new event of order"},
}

// DuplicateIDs checks an event table's files for ids that must be unique across the whole table:
// a trade id repeated within a symbol, an order's new event repeated. It returns the problem
// (class "<id column>: duplicate_id", fatal; Count 0 when there is none) with up to examples
// rows (every one when examples < 0), each a second or later occurrence naming the first. ok is
// false for tables without such a rule. Paths reach SQL as bound parameters only.
func (d *DB) DuplicateIDs(ctx context.Context, table string, files []string, examples int) (p datasets.Problem, ok bool, err error) {
	chk, ok := duplicateChecks[table]
	if !ok {
		return datasets.Problem{}, false, nil
	}
	scan, args, err := scanSQL(files, true)
	if err != nil {
		return datasets.Problem{}, true, err
	}
	p = datasets.Problem{Severity: datasets.SeverityFatal, Table: table, Class: chk.column + ": " + datasets.ReasonDuplicateID,
		Examples: []datasets.Rejection{}}
	dups := fmt.Sprintf(`WITH d AS (
  SELECT fds_file_index, fds_file_row, CAST(symbol AS VARCHAR) AS symbol, CAST(%[1]s AS BIGINT) AS id,
    row_number() OVER w AS k, first_value(fds_file_index) OVER w AS first_file, first_value(fds_file_row) OVER w AS first_row
  FROM (%[2]s)
  WHERE %[3]s
  WINDOW w AS (PARTITION BY %[4]s ORDER BY fds_file_index, fds_file_row)
)`, sqlIdent(chk.column), scan, chk.filter, chk.key)
	if err := d.conn.QueryRowContext(ctx, dups+" SELECT count(*) FROM d WHERE k > 1", args...).Scan(&p.Count); err != nil {
		return p, true, fmt.Errorf("checking %s ids of %s: %s", chk.column, describeFiles(files), flattenErr(err))
	}
	if p.Count == 0 || examples == 0 {
		return p, true, nil
	}
	limit := ""
	if examples > 0 {
		limit = fmt.Sprintf(" LIMIT %d", examples)
	}
	rows, err := d.conn.QueryContext(ctx, dups+" SELECT fds_file_index, fds_file_row, symbol, id, first_file, first_row FROM d WHERE k > 1 ORDER BY fds_file_index, fds_file_row"+limit, args...)
	if err != nil {
		return p, true, fmt.Errorf("checking %s ids of %s: %s", chk.column, describeFiles(files), flattenErr(err))
	}
	defer rows.Close()
	for rows.Next() {
		var file, row, firstFile, firstRow, id int64
		var symbol string
		if err := rows.Scan(&file, &row, &symbol, &id, &firstFile, &firstRow); err != nil {
			return p, true, fmt.Errorf("checking %s ids of %s: %s", chk.column, describeFiles(files), flattenErr(err))
		}
		p.Examples = append(p.Examples, datasets.Rejection{File: files[file], Row: row + 1, Column: chk.column, Reason: datasets.ReasonDuplicateID,
			Message: fmt.Sprintf("%s %d of %s already at %s: row %d", chk.what, id, symbol, files[firstFile], firstRow+1)})
	}
	if err := rows.Err(); err != nil {
		return p, true, fmt.Errorf("checking %s ids of %s: %s", chk.column, describeFiles(files), flattenErr(err))
	}
	return p, true, nil
}
