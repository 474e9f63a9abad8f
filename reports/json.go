// Package reports renders a backtest run for people and tools: metrics.json, report.md, JUnit
// XML, the figures (PR, threshold and time-to-detect curves, detector comparison, alerts by
// incident type, incident timelines; PNG, PDF or SVG) and the publishable report of fds report
// (a multi-page PDF, a self-contained HTML page and a Markdown summary, with keyed-hash redaction
// of account ids). It imports no other fds package but internal/fsutil, so that the backtest
// engine can call it; package backtest converts run folders to the plain views defined here
// (Report, Document). Rendering reads no clock: the same views give the same bytes.
//
// Every file is written atomically: to a temporary file in the destination's folder, then
// renamed into place, so a reader never sees half a report.
package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteMetricsJSON writes m (normally a backtest.Metrics) to path as indented JSON with a final
// newline. encoding/json writes struct fields in declaration order, map keys sorted and floats
// in the shortest form that reads back to the same float64, so equal metrics give identical
// bytes. NaN or infinite floats are an error (JSON has no spelling for them).
func WriteMetricsJSON(path string, m any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return fmt.Errorf("%s: encode metrics: %w", path, err)
	}
	return WriteFileAtomic(path, buf.Bytes())
}

// WriteFileAtomic writes data to a temporary file in path's folder and renames it to path.
func WriteFileAtomic(path string, data []byte) error {
	return writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeAtomic streams write's output to a temporary file next to path, then renames it into
// place; on any error the temporary file is removed and path is left untouched.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = write(f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
