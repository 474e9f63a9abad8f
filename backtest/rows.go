package backtest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/fds-dev/fds/datasets"
)

// ErrNoEvents says a run had nothing to replay: every event table it needs is absent or empty,
// or every row was rejected.
var ErrNoEvents = errors.New("no events to replay")

// accountRows fills the manifest's row accounting from the readers (read = replayed + rejected
// + other shards', rejections by reason with examples), notes rejections and empty tables,
// collects the symbols read, and fails a run that read no valid row.
func (s *session) accountRows() error {
	s.symbols = map[string]bool{}
	var replayed int64
	var empty []string
	var inShard map[string]int64
	if len(s.shardSources) > 0 {
		inShard = s.merger.Rows()
	}
	for _, r := range s.readers {
		table := r.Table()
		rej := r.Rejections()
		n := r.Rows() // valid rows read, of every shard
		rows := Rows{Read: n + rej.Rows, Replayed: n, Rejected: rej.Rows, Reasons: rej.ByReason, Examples: rej.Examples}
		if inShard != nil {
			rows.Replayed = inShard[table]
			rows.OtherShards = n - rows.Replayed
		}
		s.manifest.Tables[table] = rows
		replayed += n
		switch {
		case n+rej.Rows == 0:
			empty = append(empty, table)
			s.note(fmt.Sprintf("table %s is empty", table))
		case rej.Rows > 0:
			var reasons []string
			for _, k := range datasets.SortedReasons(rej.ByReason) {
				reasons = append(reasons, fmt.Sprintf("%s %d", k, rej.ByReason[k]))
			}
			s.note(fmt.Sprintf("table %s: rejected %d of %d rows (%s); first: %s",
				table, rej.Rows, n+rej.Rows, strings.Join(reasons, ", "), rej.Examples[0].Error()))
		}
		for _, sym := range r.Symbols() {
			s.symbols[sym] = true
		}
	}
	if replayed > 0 {
		return nil
	}
	switch {
	case len(s.readers) == 0:
		return fmt.Errorf("dataset folder %s: %w: it has none of the tables the detectors read", s.opts.DataDir, ErrNoEvents)
	case len(empty) == len(s.readers):
		return fmt.Errorf("dataset folder %s: %w: table %s empty", s.opts.DataDir, ErrNoEvents, strings.Join(empty, ", "))
	}
	return fmt.Errorf("dataset folder %s: %w: every row was rejected (see the notices)", s.opts.DataDir, ErrNoEvents)
}

// checkLabels sets aside incidents naming a symbol no replayed event has: no detector could
// raise an alert on them, so counting them as misses would blame the detectors for the data.
// They are counted in the manifest (an error with Strict).
func (s *session) checkLabels(incidents []datasets.Incident) ([]datasets.Incident, error) {
	rows := Rows{Read: int64(len(incidents))}
	kept := incidents[:0:0]
	var locate func(i int) (string, int64)
	for i, inc := range incidents {
		if s.symbols == nil || s.symbols[inc.Symbol] {
			kept = append(kept, inc)
			continue
		}
		if locate == nil {
			locate = s.labelRows()
		}
		file, row := locate(i)
		rej := datasets.Rejection{File: file, Row: row, Column: "symbol", Reason: ReasonUnknownSymbol,
			Message: fmt.Sprintf("incident %s names symbol %q, which no replayed event has", inc.ID, inc.Symbol)}
		if s.opts.Strict {
			return nil, rej
		}
		if rows.Reasons == nil {
			rows.Reasons = map[string]int64{}
		}
		rows.Rejected++
		rows.Reasons[rej.Key()]++
		if len(rows.Examples) < datasets.MaxRejectionExamples {
			rows.Examples = append(rows.Examples, rej)
		}
	}
	rows.Replayed = int64(len(kept))
	s.manifest.Tables[datasets.TableLabels] = rows
	if rows.Rejected > 0 {
		s.note(fmt.Sprintf("table labels: set aside %d of %d incidents naming a symbol no replayed event has; first: %s",
			rows.Rejected, rows.Read, rows.Examples[0].Error()))
	}
	return kept, nil
}

// ReasonUnknownSymbol is the reason an incident naming a symbol absent from the replayed data is
// set aside.
const ReasonUnknownSymbol = "unknown_symbol"

// labelRows maps an incident's index (Dataset.Labels keeps file order) to its file and 1-based
// row, from the files' row counts.
func (s *session) labelRows() func(i int) (string, int64) {
	files := s.ds.Files(datasets.TableLabels)
	counts := make([]int64, len(files))
	for k, f := range files {
		counts[k] = -1
		if n, err := datasets.FileRowCount(f); err == nil {
			counts[k] = n
		}
	}
	return func(i int) (string, int64) {
		row := int64(i)
		for k, n := range counts {
			if n < 0 {
				break
			}
			if row < n {
				return files[k], row + 1
			}
			row -= n
		}
		return "table labels", int64(i) + 1
	}
}
