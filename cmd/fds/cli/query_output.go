package cli

import (
	"bufio"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/fds-dev/fds/datasets/duck"
)

// isTerminal says w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// writeOutput runs write on stdout, or on a temporary file beside path renamed to path when write
// succeeds, so that a failed query never leaves a half-written file under the real name.
func writeOutput(app *App, path string, write func(io.Writer) error) (err error) {
	if path == "" {
		bw := bufio.NewWriter(app.Stdout)
		if err := write(bw); err != nil {
			bw.Flush()
			return err
		}
		return bw.Flush()
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("--output %s: %w", path, unwrapPathError(err))
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriter(f)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("--output %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("--output %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("--output %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("--output %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("--output %s: %w", path, err)
	}
	return nil
}

// writeRows writes a query result in a text format and returns the number of rows.
func writeRows(w io.Writer, rows *sql.Rows, format string) (int, error) {
	types, err := rows.ColumnTypes()
	if err != nil {
		return 0, err
	}
	names := make([]string, len(types))
	dbTypes := make([]string, len(types))
	for i, t := range types {
		names[i], dbTypes[i] = t.Name(), t.DatabaseTypeName()
	}
	vals := make([]any, len(types))
	ptrs := make([]any, len(types))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	next := func() (bool, error) {
		if !rows.Next() {
			return false, rows.Err()
		}
		for i := range vals {
			vals[i] = nil
		}
		if err := rows.Scan(ptrs...); err != nil {
			return false, err
		}
		return true, nil
	}
	n := 0
	switch format {
	case "json":
		if _, err := io.WriteString(w, "["); err != nil {
			return 0, err
		}
		keys := make([][]byte, len(names))
		for i, name := range names {
			keys[i], _ = json.Marshal(name)
		}
		for {
			ok, err := next()
			if err != nil {
				return n, err
			}
			if !ok {
				break
			}
			var b strings.Builder
			if n > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n  {")
			for i := range vals {
				if i > 0 {
					b.WriteString(", ")
				}
				b.Write(keys[i])
				b.WriteString(": ")
				v, err := json.Marshal(duck.JSONValue(vals[i], dbTypes[i]))
				if err != nil {
					return n, fmt.Errorf("column %s: %v", names[i], err)
				}
				b.Write(v)
			}
			b.WriteString("}")
			if _, err := io.WriteString(w, b.String()); err != nil {
				return n, err
			}
			n++
		}
		end := "\n]\n"
		if n == 0 {
			end = "]\n"
		}
		_, err := io.WriteString(w, end)
		return n, err
	case "csv", "tsv":
		var cw *csv.Writer
		if format == "csv" {
			cw = csv.NewWriter(w)
			if err := cw.Write(names); err != nil {
				return 0, err
			}
		} else if _, err := io.WriteString(w, tsvLine(names)); err != nil {
			return 0, err
		}
		cells := make([]string, len(vals))
		for {
			ok, err := next()
			if err != nil {
				return n, err
			}
			if !ok {
				break
			}
			for i, v := range vals {
				cells[i] = duck.TextValue(v, dbTypes[i])
			}
			if cw != nil {
				err = cw.Write(cells)
			} else {
				_, err = io.WriteString(w, tsvLine(cells))
			}
			if err != nil {
				return n, err
			}
			n++
		}
		if cw != nil {
			cw.Flush()
			return n, cw.Error()
		}
		return n, nil
	default: // table
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(escapeCells(names), "\t"))
		rule := make([]string, len(names))
		for i, name := range names {
			rule[i] = strings.Repeat("-", max(len([]rune(name)), 1))
		}
		fmt.Fprintln(tw, strings.Join(rule, "\t"))
		cells := make([]string, len(vals))
		for {
			ok, err := next()
			if err != nil {
				return n, err
			}
			if !ok {
				break
			}
			for i, v := range vals {
				if v == nil {
					cells[i] = "NULL"
				} else {
					cells[i] = duck.TextValue(v, dbTypes[i])
				}
			}
			fmt.Fprintln(tw, strings.Join(escapeCells(cells), "\t"))
			n++
		}
		return n, tw.Flush()
	}
}

// tsvEscaper escapes what would break a TSV line, as PostgreSQL's text format does.
var tsvEscaper = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)

func tsvLine(cells []string) string {
	escaped := make([]string, len(cells))
	for i, c := range cells {
		escaped[i] = tsvEscaper.Replace(c)
	}
	return strings.Join(escaped, "\t") + "\n"
}

// escapeCells keeps a table cell on one line and out of tabwriter's column syntax.
func escapeCells(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = tsvEscaper.Replace(c)
	}
	return out
}

// writeDelimited writes a header and rows as CSV (sep ",") or TSV (sep "\t").
func writeDelimited(w io.Writer, header []string, rows [][]string, sep string) error {
	if sep == "\t" {
		if _, err := io.WriteString(w, tsvLine(header)); err != nil {
			return err
		}
		for _, r := range rows {
			if _, err := io.WriteString(w, tsvLine(r)); err != nil {
				return err
			}
		}
		return nil
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}
