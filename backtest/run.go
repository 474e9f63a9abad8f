package backtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// Sorter sorts Parquet files by ts into one file. datasets/duck implements it with DuckDB; the
// backtest package only knows this interface so that its tests stay pure Go.
type Sorter interface {
	SortParquet(ctx context.Context, srcFiles []string, dst string) error
}

// Options say what to back-test and where to report.
type Options struct {
	DataDir string
	Config  Config
	// Sorter sorts tables found out of ts order; nil rejects them with an error.
	Sorter Sorter
	// TempDir holds sorted copies of unsorted tables for the duration of the run ("" = os temp).
	TempDir string
	// Notice receives one-line notices (a table sorted, a table absent); may be nil.
	Notice func(string)
	// Progress receives the number of events replayed so far, and the total when known.
	Progress func(done, total int64)
}

// Result is a finished backtest: everything a run folder holds.
type Result struct {
	Config    Config
	Params    map[string]detectors.Params
	Alerts    []detectors.Alert
	Incidents []datasets.Incident
	Match     MatchResult
	Matches   []datasets.MatchRow
	Metrics   Metrics
	Manifest  Manifest
	Stats     ReplayStats
}

// Manifest accounts for a run's inputs and work: what was read, from which files (with hashes),
// by which fds, and how long each step took.
type Manifest struct {
	SchemaVersion int             `json:"schema_version"`
	FDSVersion    string          `json:"fds_version"`
	DataDir       string          `json:"data_dir"`
	Inputs        []InputFile     `json:"inputs"`
	Tables        map[string]Rows `json:"tables"`
	Detectors     []string        `json:"detectors"`
	Events        int64           `json:"events_replayed"`
	FirstTS       string          `json:"first_ts"`
	LastTS        string          `json:"last_ts"`
	SpanDays      float64         `json:"span_days"`
	Notices       []string        `json:"notices"`
	// TimingsSeconds are wall-clock durations of the steps: informative, not reproducible.
	TimingsSeconds map[string]float64 `json:"timings_s"`
}

// InputFile is one input file with its size and SHA-256.
type InputFile struct {
	Table  string `json:"table"`
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Rows accounts for a table's rows: read = replayed + rejected.
type Rows struct {
	Read     int64            `json:"read"`
	Replayed int64            `json:"replayed"`
	Rejected int64            `json:"rejected"`
	Reasons  map[string]int64 `json:"rejected_by_reason,omitempty"`
}

// Version is stamped into manifests; the CLI sets it.
var Version = "0.1.0-dev"

// Run back-tests a dataset: it builds the configured detectors, replays the dataset's event
// tables through them in event-time order, matches the alerts to the dataset's labels and
// computes the metrics. It writes nothing; see WriteRunFolder.
func Run(ctx context.Context, opts Options) (*Result, error) {
	notice := opts.Notice
	if notice == nil {
		notice = func(string) {}
	}
	timings := map[string]float64{}
	t0 := time.Now()
	cfg := opts.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ds, err := datasets.Open(opts.DataDir)
	if err != nil {
		return nil, err
	}
	res := &Result{Config: cfg}
	res.Manifest = Manifest{SchemaVersion: 1, FDSVersion: Version, DataDir: opts.DataDir,
		Tables: map[string]Rows{}, TimingsSeconds: timings, Notices: []string{}}
	note := func(s string) {
		res.Manifest.Notices = append(res.Manifest.Notices, s)
		notice(s)
	}

	// Reference data and detectors.
	env := detectors.Env{Accounts: map[string]detectors.Account{}}
	if ds.Has(datasets.TableAccounts) {
		if env.Accounts, err = ds.Accounts(); err != nil {
			return nil, err
		}
	}
	res.Params, err = cfg.Effective()
	if err != nil {
		return nil, err
	}
	names := cfg.DetectorNames()
	res.Manifest.Detectors = names
	instances := make([]Instance, 0, len(names))
	needed := map[detectors.Kind]bool{}
	for _, n := range names {
		spec, _ := detectors.Lookup(n)
		if spec.NeedsAccounts && !ds.Has(datasets.TableAccounts) {
			note(fmt.Sprintf("detector %s uses the accounts table, which %s lacks: it links accounts by id only", n, opts.DataDir))
		}
		d, _, err := detectors.Build(n, cfg.Detectors[n], env)
		if err != nil {
			return nil, err
		}
		instances = append(instances, Instance{ID: n, Detector: d})
		for _, k := range spec.Needs {
			needed[k] = true
		}
	}

	// Sources: every needed table, sorted by ts (sorted once through the Sorter when not).
	merger := NewMerger()
	var readers []*datasets.EventReader
	defer func() {
		for _, r := range readers {
			r.Close()
		}
	}()
	var tmpDirs []string
	defer func() {
		for _, d := range tmpDirs {
			os.RemoveAll(d)
		}
	}()
	var total int64
	for _, table := range datasets.EventTables {
		kind, _ := datasets.KindOfTable(table)
		if !needed[kind] {
			continue
		}
		if !ds.Has(table) {
			note(fmt.Sprintf("table %s is absent: detectors that read it see no %s events", table, kind))
			continue
		}
		src := ds
		sorted, badRow, err := ds.CheckSorted(table)
		if err != nil {
			return nil, err
		}
		if !sorted {
			if opts.Sorter == nil {
				return nil, fmt.Errorf("%s: row %d: column ts: table not sorted by ts (sort it, e.g. with fds datasets validate --fix)", table, badRow)
			}
			tmp, err := os.MkdirTemp(opts.TempDir, "fds-sorted-")
			if err != nil {
				return nil, err
			}
			tmpDirs = append(tmpDirs, tmp)
			dst := filepath.Join(tmp, table+".parquet")
			ts := time.Now()
			if err := opts.Sorter.SortParquet(ctx, ds.Files(table), dst); err != nil {
				return nil, fmt.Errorf("sorting %s by ts: %w", table, err)
			}
			timings["sort_"+table] = time.Since(ts).Seconds()
			note(fmt.Sprintf("table %s is not sorted by ts (first out-of-order row %d): sorted a copy once through DuckDB", table, badRow))
			if src, err = datasets.Open(tmp); err != nil {
				return nil, err
			}
		}
		if n, err := src.RowCount(table); err == nil {
			total += n
		}
		r, err := src.OpenEvents(table)
		if err != nil {
			return nil, err
		}
		readers = append(readers, r)
		if err := merger.Add(table, kind, r); err != nil {
			return nil, err
		}
	}
	timings["open"] = time.Since(t0).Seconds()

	// Hash the inputs while the replay runs: the manifest proves what was read.
	hashes := make(chan hashResult, 1)
	go func() { hashes <- hashInputs(ds) }()

	t1 := time.Now()
	var progress func(int64)
	if opts.Progress != nil {
		progress = func(n int64) { opts.Progress(n, total) }
	}
	stats, err := Replay(ctx, merger.Next, instances, func(i int, a detectors.Alert) {
		res.Alerts = append(res.Alerts, a)
	}, progress)
	if err != nil {
		<-hashes
		return nil, err
	}
	res.Stats = stats
	timings["replay"] = time.Since(t1).Seconds()
	SortAlerts(res.Alerts)
	for table, n := range merger.Rows() {
		res.Manifest.Tables[table] = Rows{Read: n, Replayed: n}
	}
	res.Manifest.Events = stats.Events
	if stats.Events > 0 {
		res.Manifest.FirstTS = formatTS(stats.FirstTS)
		res.Manifest.LastTS = formatTS(stats.LastTS)
	}
	span := stats.LastTS - stats.FirstTS
	res.Manifest.SpanDays = float64(span) / float64(detectors.Day)

	// Labels, matching and metrics.
	t2 := time.Now()
	if ds.Has(datasets.TableLabels) {
		if res.Incidents, err = ds.Labels(); err != nil {
			return nil, err
		}
		res.Manifest.Tables[datasets.TableLabels] = Rows{Read: int64(len(res.Incidents)), Replayed: int64(len(res.Incidents))}
	} else {
		note("table labels is absent: every alert counts as a false positive")
	}
	res.Match, res.Matches, res.Metrics = Evaluate(res.Alerts, res.Incidents, names, cfg.Match.MatchConfig(), span)
	timings["match"] = time.Since(t2).Seconds()

	h := <-hashes
	if h.err != nil {
		return nil, h.err
	}
	res.Manifest.Inputs = h.files
	timings["total"] = time.Since(t0).Seconds()
	return res, nil
}

// SortAlerts puts alerts in their canonical order: by ts, then detector, symbol and key. The
// order is part of the byte-identical output promise.
func SortAlerts(alerts []detectors.Alert) {
	sort.SliceStable(alerts, func(i, j int) bool {
		a, b := &alerts[i], &alerts[j]
		if a.TS != b.TS {
			return a.TS < b.TS
		}
		if a.Detector != b.Detector {
			return a.Detector < b.Detector
		}
		if a.Symbol != b.Symbol {
			return a.Symbol < b.Symbol
		}
		return a.Key() < b.Key()
	})
}

// Evaluate matches alerts of the named detectors to incidents and computes the metrics; span is
// the replayed data's time span (for alerts per day). Detectors that raised no alert still count
// their incidents as misses.
func Evaluate(alerts []detectors.Alert, incidents []datasets.Incident, names []string, cfg MatchConfig,
	span detectors.Micros) (MatchResult, []datasets.MatchRow, Metrics) {
	cfg.Detectors = map[string]detectors.IncidentType{}
	for _, n := range names {
		if spec, ok := detectors.Lookup(n); ok {
			cfg.Detectors[n] = spec.Type
		}
	}
	m := Match(alerts, incidents, cfg)
	return m, m.Rows(), ComputeMetrics(&m, span)
}

func formatTS(ts detectors.Micros) string {
	return time.UnixMicro(ts).UTC().Format("2006-01-02T15:04:05.000000Z")
}

type hashResult struct {
	files []InputFile
	err   error
}

func hashInputs(ds *datasets.Dataset) hashResult {
	var out []InputFile
	for _, table := range ds.Tables() {
		for _, path := range ds.Files(table) {
			f, err := os.Open(path)
			if err != nil {
				return hashResult{err: err}
			}
			h := sha256.New()
			n, err := io.Copy(h, f)
			f.Close()
			if err != nil {
				return hashResult{err: fmt.Errorf("%s: %w", path, err)}
			}
			rel, err := filepath.Rel(ds.Dir, path)
			if err != nil {
				rel = path
			}
			out = append(out, InputFile{Table: table, Path: filepath.ToSlash(rel), Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))})
		}
	}
	return hashResult{files: out}
}
