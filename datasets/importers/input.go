package importers

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ParseError is the one-line error of an input the importer cannot map: the file, the line
// (1-based, counting the header) and the column, then what is wrong.
type ParseError struct {
	File   string
	Line   int
	Column string
	Err    error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(oneLine(e.File))
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, ": column %s", e.Column)
	}
	fmt.Fprintf(&b, ": %s", oneLine(e.Err.Error()))
	return b.String()
}

// oneLine quotes a text holding control characters (a file name with a newline, a message
// quoting raw input) so that the error stays on one line.
func oneLine(s string) string {
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			q := strconv.Quote(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}

func (e *ParseError) Unwrap() error { return e.Err }

func errAt(file string, line int, column string, err error) error {
	return &ParseError{File: file, Line: line, Column: column, Err: err}
}

func errAtf(file string, line int, column, format string, args ...any) error {
	return errAt(file, line, column, fmt.Errorf(format, args...))
}

// maxDecompressed bounds what one input may expand to, so that a gzip bomb fails cleanly.
const maxDecompressed = 8 << 30

// input is one opened source: its display name (the path, plus the member inside a zip), the base
// name that carries format hints (symbol, data type) and the decompressed content.
type input struct {
	name string
	base string
	r    io.Reader
}

// openInput opens a file and undoes its compression, told by magic bytes rather than by the
// name: gzip (1f 8b) and zip (PK 03 04, one member, as Binance's public dumps ship) are read
// transparently; anything else is read as is.
func openInput(path string) (*input, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	in, closeFn, err := wrapInput(path, f, f)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return in, func() error { closeFn(); return f.Close() }, nil
}

func wrapInput(path string, r io.Reader, ra io.ReaderAt) (*input, func(), error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, _ := br.Peek(4)
	base := filepath.Base(path)
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, errAt(path, 0, "", fmt.Errorf("gzip: %w", err))
		}
		return &input{name: path, base: strings.TrimSuffix(strings.TrimSuffix(base, ".gz"), ".gzip"),
			r: &limitedReader{r: zr, left: maxDecompressed, name: path}}, func() { zr.Close() }, nil
	case bytes.Equal(magic, []byte("PK\x03\x04")):
		f, ok := ra.(*os.File)
		if !ok {
			return nil, nil, errAt(path, 0, "", errors.New("zip input must be a file"))
		}
		st, err := f.Stat()
		if err != nil {
			return nil, nil, err
		}
		zr, err := zip.NewReader(f, st.Size())
		if err != nil {
			return nil, nil, errAt(path, 0, "", fmt.Errorf("zip: %w", err))
		}
		var members []*zip.File
		for _, m := range zr.File {
			if !m.FileInfo().IsDir() {
				members = append(members, m)
			}
		}
		if len(members) != 1 {
			return nil, nil, errAt(path, 0, "", fmt.Errorf("zip holds %d files; want exactly one", len(members)))
		}
		rc, err := members[0].Open()
		if err != nil {
			return nil, nil, errAt(path, 0, "", fmt.Errorf("zip: %w", err))
		}
		return &input{name: path + "!" + members[0].Name, base: filepath.Base(members[0].Name),
			r: &limitedReader{r: rc, left: maxDecompressed, name: path}}, func() { rc.Close() }, nil
	}
	return &input{name: path, base: base, r: br}, func() {}, nil
}

type limitedReader struct {
	r    io.Reader
	left int64
	name string
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, fmt.Errorf("%s: decompresses to more than %d bytes", l.name, int64(maxDecompressed))
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		// Said plainly: a download cut short is the usual cause, not a bug of the importer.
		err = fmt.Errorf("compressed input truncated (%w)", err)
	}
	return n, err
}

// csvFile reads delimited text with line numbers for errors; it strips a UTF-8 byte-order mark
// and tolerates CRLF line ends and a ragged number of fields (each format checks its own).
type csvFile struct {
	name   string
	r      *csv.Reader
	header []string
	line   int
}

func newCSV(name string, r io.Reader, comma rune) *csvFile {
	br := bufio.NewReader(r)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.LazyQuotes = true
	return &csvFile{name: name, r: cr}
}

// next returns the next record, or io.EOF; a malformed line becomes a ParseError.
func (c *csvFile) next() ([]string, error) {
	rec, err := c.r.Read()
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, errAt(c.name, pe.Line, "", pe.Err)
		}
		return nil, errAt(c.name, c.line+1, "", err)
	}
	c.line, _ = c.r.FieldPos(0)
	return rec, nil
}

// columns indexes a header by lower-cased, trimmed name.
func columns(header []string) map[string]int {
	m := make(map[string]int, len(header))
	for i, h := range header {
		m[strings.ToLower(strings.TrimSpace(h))] = i
	}
	return m
}

// require returns the indexes of the named columns or an error naming the first one missing.
func require(file string, cols map[string]int, names ...string) ([]int, error) {
	out := make([]int, len(names))
	for i, n := range names {
		j, ok := cols[n]
		if !ok {
			return nil, errAtf(file, 1, n, "missing from the header")
		}
		out[i] = j
	}
	return out, nil
}

// field returns rec[i] or an error naming the line and column when the row is too short.
func (c *csvFile) field(rec []string, i int, column string) (string, error) {
	if i >= len(rec) {
		return "", errAtf(c.name, c.line, column, "missing (row has %d fields)", len(rec))
	}
	return rec[i], nil
}

// readAllBytes reads a whole (small) input, bounded, for the JSON label lists.
func readAllBytes(in *input, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(in.r, limit+1))
	if err != nil {
		return nil, errAt(in.name, 0, "", err)
	}
	if int64(len(b)) > limit {
		return nil, errAtf(in.name, 0, "", "larger than %d bytes", limit)
	}
	return b, nil
}
