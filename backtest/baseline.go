package backtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/internal/fsutil"
)

// A committed baseline is the small part of a run folder that fds regress needs, in text so that
// updating it shows in a code review as a readable diff: metrics.json, config.yaml and
// matches.tsv (the matches table: every alert's key, score and outcome, and every missed
// incident). fds regress reads a baseline folder like a run folder.

// BaselineMatchesFile is the text form of matches.parquet in a baseline folder.
const BaselineMatchesFile = "matches.tsv"

// matchesTSVHeader is matches.tsv's first line: the columns of datasets.MatchRow.
const matchesTSVHeader = "detector\toutcome\talert_key\tincident_id\tsymbol\tscore\talert_ts_us\tincident_start_us\ttime_to_detect_us"

// WriteBaseline writes a baseline folder at dir from a run folder (which must hold its
// matches.parquet). The folder is built beside dir and swapped in whole: files of an older
// baseline that the new one lacks disappear.
func WriteBaseline(ctx context.Context, dir, runDir string) error {
	rf, err := LoadRun(runDir)
	if err != nil {
		return err
	}
	matchesPath := filepath.Join(rf.Dir, MatchesFile)
	rows, err := datasets.ReadMatches(matchesPath)
	if err != nil {
		return err
	}
	st, err := fsutil.NewStaging(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Abort()
	if err := fsutil.WriteJSON(st.Path(MetricsFile), rf.Metrics); err != nil {
		return err
	}
	cfg, err := os.ReadFile(filepath.Join(rf.Dir, ConfigFile))
	switch {
	case err == nil:
		if err := fsutil.WriteFile(st.Path(ConfigFile), cfg, 0o644); err != nil {
			return err
		}
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s: %w", filepath.Join(rf.Dir, ConfigFile), unwrapPath(err))
	}
	var buf bytes.Buffer
	if err := WriteMatchesTSV(&buf, rows); err != nil {
		return fmt.Errorf("%s: %w", matchesPath, err)
	}
	if err := fsutil.WriteFile(st.Path(BaselineMatchesFile), buf.Bytes(), 0o644); err != nil {
		return err
	}
	return st.Commit()
}

// WriteMatchesTSV writes match rows as tab-separated text with a header line, in the given order.
// Scores are written in the shortest form that reads back exactly, a NaN score as an empty field;
// times are integer microseconds. A field holding a tab or a line break is an error.
func WriteMatchesTSV(w io.Writer, rows []datasets.MatchRow) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(matchesTSVHeader)
	bw.WriteByte('\n')
	for i := range rows {
		m := &rows[i]
		for _, f := range []string{m.Detector, m.Outcome, m.AlertKey, m.IncidentID, m.Symbol} {
			if strings.ContainsAny(f, "\t\r\n") {
				return fmt.Errorf("match %d: field %q holds a tab or line break", i, f)
			}
		}
		score := ""
		if !math.IsNaN(m.Score) {
			score = strconv.FormatFloat(m.Score, 'g', -1, 64)
		}
		fmt.Fprintf(bw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n", m.Detector, m.Outcome, m.AlertKey, m.IncidentID,
			m.Symbol, score, m.AlertTS, m.IncidentStart, m.TimeToDetect)
	}
	return bw.Flush()
}

// ReadMatchesTSV reads a file written by WriteMatchesTSV. Errors name the file, line and column.
func ReadMatchesTSV(path string) ([]datasets.MatchRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	defer f.Close()
	return ParseMatchesTSV(path, f)
}

// ParseMatchesTSV parses matches.tsv content; name is used in errors.
func ParseMatchesTSV(name string, r io.Reader) ([]datasets.MatchRow, error) {
	columns := strings.Split(matchesTSVHeader, "\t")
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	line := 0
	rows := []datasets.MatchRow{}
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if line == 1 {
			if text != matchesTSVHeader {
				return nil, fmt.Errorf("%s: line 1: not a matches.tsv header (want %q)", name, matchesTSVHeader)
			}
			continue
		}
		if text == "" {
			continue
		}
		f := strings.Split(text, "\t")
		if len(f) != len(columns) {
			return nil, fmt.Errorf("%s: line %d: %d fields, want %d (%s)", name, line, len(f), len(columns), strings.Join(columns, ", "))
		}
		m := datasets.MatchRow{Detector: f[0], Outcome: f[1], AlertKey: f[2], IncidentID: f[3], Symbol: f[4], Score: math.NaN()}
		switch m.Outcome {
		case datasets.OutcomeTP, datasets.OutcomeFP, datasets.OutcomeFN:
		default:
			return nil, fmt.Errorf("%s: line %d: column outcome: %q is not tp, fp or fn", name, line, m.Outcome)
		}
		if f[5] != "" {
			v, err := strconv.ParseFloat(f[5], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: line %d: column score: %q is not a number", name, line, f[5])
			}
			m.Score = v
		}
		ints := []*int64{&m.AlertTS, &m.IncidentStart, &m.TimeToDetect}
		for k, p := range ints {
			v, err := strconv.ParseInt(f[6+k], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: line %d: column %s: %q is not an integer", name, line, columns[6+k], f[6+k])
			}
			*p = v
		}
		rows = append(rows, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: line %d: %w", name, line+1, err)
	}
	if line == 0 {
		return nil, fmt.Errorf("%s: empty file (want a matches.tsv header)", name)
	}
	return rows, nil
}
