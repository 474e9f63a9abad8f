package backtest

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// Sorter sorts Parquet files by ts into one file. datasets/duck implements it with DuckDB; the
// backtest package only knows this interface so that its tests stay pure Go.
type Sorter interface {
	SortParquet(ctx context.Context, srcFiles []string, dst string) error
}

// OriginSorter is a Sorter whose sorted copies say where each row came from
// (datasets.OriginFileColumn, datasets.OriginRowColumn), so that rejected rows are reported at
// their original file and row. duck.DB is one.
type OriginSorter interface {
	SortParquetWithOrigin(ctx context.Context, srcFiles []string, dst string) error
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
	// Strict fails the run at the first row with a problem; by default such rows are rejected
	// and counted in the manifest (docs/robustness.md).
	Strict bool
	// Shard restricts the run to the symbols of one shard (docs/scaling.md); the zero value
	// runs every symbol. Detectors whose Spec says CrossSymbol are refused in a shard.
	Shard Shard
	// Workers bounds the goroutines of the replay: 1 decodes, merges and runs the detectors in
	// line; 0 (the default) decodes every table in a goroutine of its own, ahead of the merge,
	// and runs several detector instances on GOMAXPROCS goroutines. The alerts are the same.
	Workers int
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
	// Strict records that the run rejected no row (--strict).
	Strict bool `json:"strict,omitempty"`
	// Shard is set in the run of one shard (fds backtest --shard); Shards in a merged run (fds
	// merge), one entry per shard combined.
	Shard  *ShardManifest  `json:"shard,omitempty"`
	Shards []ShardManifest `json:"merged_shards,omitempty"`
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

// Rows accounts for a table's rows: read = replayed + rejected (+ OtherShards in a shard's
// run). Reasons count the rejected rows by "column: reason" (datasets.Reason*), Examples are
// the first few with file, row and column. For labels, "replayed" counts the incidents scored.
type Rows struct {
	Read     int64                `json:"read"`
	Replayed int64                `json:"replayed"`
	Rejected int64                `json:"rejected"`
	Reasons  map[string]int64     `json:"rejected_by_reason,omitempty"`
	Examples []datasets.Rejection `json:"rejected_examples,omitempty"`
	// OtherShards counts the valid rows of other shards' symbols (fds backtest --shard): read =
	// replayed + rejected + other shards.
	OtherShards int64 `json:"other_shards,omitempty"`
}

// Version is stamped into manifests; the CLI sets it.
var Version = "0.1.0-dev"

// Run back-tests a dataset: it builds the configured detectors, replays the dataset's event
// tables through them in event-time order, matches the alerts to the dataset's labels and
// computes the metrics. It writes nothing; see WriteRunFolder.
func Run(ctx context.Context, opts Options) (*Result, error) {
	cfg := opts.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	names := cfg.DetectorNames()
	if cross := CrossSymbolDetectors(names); !opts.Shard.All() && len(cross) > 0 {
		return nil, fmt.Errorf("shard %s: detector %s relates events of different symbols (CrossSymbol) and needs every symbol: run it unsharded, or leave it out with --detectors",
			opts.Shard, strings.Join(cross, ", "))
	}
	s, err := openSession(opts, names)
	if err != nil {
		return nil, err
	}
	defer s.close()
	res := &Result{Config: cfg}
	if res.Params, err = cfg.Effective(); err != nil {
		return nil, err
	}
	instances := make([]Instance, 0, len(names))
	for _, n := range names {
		d, _, err := detectors.Build(n, cfg.Detectors[n], s.env)
		if err != nil {
			return nil, err
		}
		instances = append(instances, Instance{ID: n, Detector: d})
	}
	if err := s.openSources(ctx); err != nil {
		return nil, err
	}
	stats, err := s.replay(ctx, func(next func() (*detectors.Event, error), progress func(int64)) (ReplayStats, error) {
		var st ReplayStats
		var err error
		res.Alerts, st, err = replayCollect(ctx, next, instances, progress, opts.Workers)
		return st, err
	})
	if err != nil {
		return nil, err
	}
	res.Stats = stats
	SortAlerts(res.Alerts)
	if res.Incidents, err = s.labels(); err != nil {
		return nil, err
	}
	t := time.Now()
	res.Match, res.Matches, res.Metrics = Evaluate(res.Alerts, res.Incidents, names, cfg.Match.MatchConfig(), s.span())
	s.timings["match"] = time.Since(t).Seconds()
	if err := s.finish(); err != nil {
		return nil, err
	}
	res.Manifest = s.manifest
	if !opts.Shard.All() {
		res.Manifest.Shard = s.shardManifest()
	}
	return res, nil
}

// session is what a backtest and a sweep share: the dataset opened, its reference data read, the
// event tables its detectors need checked for ts order (sorted once when not) and merged into one
// stream, its labels read, its inputs hashed and the manifest kept. Run and Tune differ only in
// the detector instances they feed from it.
type session struct {
	opts     Options
	names    []string
	ds       *datasets.Dataset
	env      detectors.Env
	merger   *Merger
	total    int64
	readers  []*datasets.EventReader
	tmpDirs  []string
	hashes   chan hashResult
	stats    ReplayStats
	manifest Manifest
	timings  map[string]float64
	t0       time.Time
	// symbols are the symbols of the events replayed, for checking the labels.
	symbols map[string]bool
	// shardSources filter the tables to the shard's symbols (Options.Shard).
	shardSources []*shardSource
}

// openSession opens the dataset and reads its accounts for the named detectors.
func openSession(opts Options, names []string) (*session, error) {
	s := &session{opts: opts, names: names, timings: map[string]float64{}, t0: time.Now()}
	s.manifest = Manifest{SchemaVersion: 1, FDSVersion: Version, DataDir: opts.DataDir,
		Tables: map[string]Rows{}, TimingsSeconds: s.timings, Notices: []string{}, Detectors: names,
		Strict: opts.Strict}
	var err error
	if s.ds, err = datasets.Open(opts.DataDir); err != nil {
		return nil, err
	}
	s.env = detectors.Env{Accounts: map[string]detectors.Account{}}
	if s.ds.Has(datasets.TableAccounts) {
		if s.env.Accounts, err = s.ds.Accounts(); err != nil {
			return nil, err
		}
	}
	for _, n := range names {
		spec, ok := detectors.Lookup(n)
		if !ok {
			return nil, fmt.Errorf("unknown detector %q (have %s)", n, strings.Join(detectors.Names(), ", "))
		}
		if spec.NeedsAccounts && !s.ds.Has(datasets.TableAccounts) {
			s.note(fmt.Sprintf("detector %s uses the accounts table, which %s lacks: it links accounts by id only", n, opts.DataDir))
		}
	}
	return s, nil
}

func (s *session) note(msg string) {
	s.manifest.Notices = append(s.manifest.Notices, msg)
	if s.opts.Notice != nil {
		s.opts.Notice(msg)
	}
}

// openSources opens every event table a detector of the session needs, sorted by ts (sorted
// once through the Sorter when not), adds it to the merger and starts hashing the inputs.
func (s *session) openSources(ctx context.Context) error {
	needed := map[detectors.Kind]bool{}
	for _, n := range s.names {
		spec, _ := detectors.Lookup(n)
		for _, k := range spec.Needs {
			needed[k] = true
		}
	}
	s.merger = NewMerger()
	for _, table := range datasets.EventTables {
		kind, _ := datasets.KindOfTable(table)
		if !needed[kind] {
			continue
		}
		if !s.ds.Has(table) {
			s.note(fmt.Sprintf("table %s is absent: detectors that read it see no %s events", table, kind))
			continue
		}
		src := s.ds
		readOpts := datasets.ReadOptions{Check: true, Reject: !s.opts.Strict}
		sorted, badRow, err := s.ds.CheckSorted(table)
		if err != nil {
			return err
		}
		if !sorted {
			if s.opts.Sorter == nil {
				return fmt.Errorf("%s: row %d: column ts: table not sorted by ts (sort it, e.g. with fds datasets validate --fix)", table, badRow)
			}
			tmp, err := os.MkdirTemp(s.opts.TempDir, "fds-sorted-")
			if err != nil {
				return err
			}
			s.tmpDirs = append(s.tmpDirs, tmp)
			dst := filepath.Join(tmp, table+".parquet")
			ts := time.Now()
			if osorter, ok := s.opts.Sorter.(OriginSorter); ok {
				err = osorter.SortParquetWithOrigin(ctx, s.ds.Files(table), dst)
				readOpts.Origins = s.ds.Files(table)
			} else {
				err = s.opts.Sorter.SortParquet(ctx, s.ds.Files(table), dst)
			}
			if err != nil {
				return fmt.Errorf("sorting %s by ts: %w", table, err)
			}
			s.timings["sort_"+table] = time.Since(ts).Seconds()
			s.note(fmt.Sprintf("table %s is not sorted by ts (first out-of-order row %d): sorted a copy once through DuckDB", table, badRow))
			if src, err = datasets.Open(tmp); err != nil {
				return err
			}
		}
		if n, err := src.RowCount(table); err == nil {
			s.total += n
		}
		r, err := src.OpenEventsWith(table, readOpts)
		if err != nil {
			return err
		}
		s.readers = append(s.readers, r)
		var events EventSource = r
		if !s.opts.Shard.All() {
			ss := newShardSource(r, s.opts.Shard)
			s.shardSources = append(s.shardSources, ss)
			events = ss
		}
		if err := s.merger.Add(table, kind, events); err != nil {
			return err
		}
	}
	s.timings["open"] = time.Since(s.t0).Seconds()

	// Hash the inputs while the replay runs: the manifest proves what was read.
	s.hashes = make(chan hashResult, 1)
	go func() { s.hashes <- hashInputs(s.ds) }()
	return nil
}

// replay runs a replay function over the merged stream and records its statistics.
func (s *session) replay(ctx context.Context, run func(next func() (*detectors.Event, error), progress func(int64)) (ReplayStats, error)) (ReplayStats, error) {
	t := time.Now()
	var progress func(int64)
	if s.opts.Progress != nil {
		progress = func(n int64) { s.opts.Progress(n, s.total) }
	}
	stopPrefetch := func() {}
	if s.opts.Workers != 1 {
		stopPrefetch = s.merger.Prefetch()
	}
	stats, err := run(s.merger.Next, progress)
	stopPrefetch()
	if err != nil {
		return stats, err
	}
	s.stats = stats
	s.timings["replay"] = time.Since(t).Seconds()
	if err := s.accountRows(); err != nil {
		return stats, err
	}
	s.manifest.Events = stats.Events
	if stats.Events > 0 {
		s.manifest.FirstTS = formatTS(stats.FirstTS)
		s.manifest.LastTS = formatTS(stats.LastTS)
	}
	s.manifest.SpanDays = float64(s.span()) / float64(detectors.Day)
	return stats, nil
}

// span is the replayed data's time span: the denominator of alerts per day.
func (s *session) span() detectors.Micros { return s.stats.LastTS - s.stats.FirstTS }

// labels reads the labels table (none, with a notice, when absent).
func (s *session) labels() ([]datasets.Incident, error) {
	if !s.ds.Has(datasets.TableLabels) {
		s.note("table labels is absent: every alert counts as a false positive")
		return nil, nil
	}
	incidents, err := s.ds.Labels()
	if err != nil {
		return nil, err
	}
	return s.checkLabels(shardIncidents(incidents, s.opts.Shard))
}

// finish waits for the input hashes and completes the manifest.
func (s *session) finish() error {
	if s.hashes != nil {
		h := <-s.hashes
		s.hashes = nil
		if h.err != nil {
			return h.err
		}
		s.manifest.Inputs = h.files
	}
	s.timings["total"] = time.Since(s.t0).Seconds()
	return nil
}

// close releases the readers and temporary sorted copies; safe after finish.
func (s *session) close() {
	if s.hashes != nil {
		<-s.hashes
		s.hashes = nil
	}
	for _, r := range s.readers {
		r.Close()
	}
	for _, d := range s.tmpDirs {
		os.RemoveAll(d)
	}
}

// SortAlerts puts alerts in their canonical order: by ts, then detector, symbol and key. The
// order is part of the byte-identical output promise.
//
// Keys are built only for alerts tied on ts, detector and symbol, once each: a sweep sorts many
// alerts of one detector closed at the same instant (episodes flushed together), and building
// the key in every comparison cost more than the detector itself.
func SortAlerts(alerts []detectors.Alert) {
	keys := make([]string, len(alerts)) // "" until needed; a key is never empty
	sortAlertsWithKeys(alerts, keys)
}

// sortAlertsKeyed sorts like SortAlerts and returns every alert's Key, parallel to the sorted
// slice, for Match to reuse: the tuner needs all keys anyway, so each is built exactly once.
func sortAlertsKeyed(alerts []detectors.Alert) []string {
	return sortAlertsWithKeys(alerts, alertKeys(alerts))
}

// alertKeys returns each alert's Key, parallel to alerts.
func alertKeys(alerts []detectors.Alert) []string {
	keys := make([]string, len(alerts))
	for i := range alerts {
		keys[i] = alerts[i].Key()
	}
	return keys
}

// sortAlertsWithKeys sorts alerts (stably) in canonical order and permutes keys along; keys
// holds each alert's Key or "" where not built yet (built on demand for ties). Slices already
// in order, as a single detector's alerts mostly are, are left as they are.
func sortAlertsWithKeys(alerts []detectors.Alert, keys []string) []string {
	key := func(i int) string {
		if keys[i] == "" {
			keys[i] = alerts[i].Key()
		}
		return keys[i]
	}
	// Compared as compact entries rather than the wide alerts: the comparisons stay in cache.
	// Ties of the canonical order go by position, which makes the order total: the unstable
	// (and faster) sort then gives exactly the stable sort's result.
	entries := make([]alertSortEntry, len(alerts))
	for i := range alerts {
		a := &alerts[i]
		entries[i] = alertSortEntry{ts: a.TS, detector: a.Detector, symbol: a.Symbol, index: i}
	}
	canonical := func(a, b alertSortEntry) int {
		if a.ts != b.ts {
			return cmp.Compare(a.ts, b.ts)
		}
		if a.detector != b.detector {
			return strings.Compare(a.detector, b.detector)
		}
		if a.symbol != b.symbol {
			return strings.Compare(a.symbol, b.symbol)
		}
		if c := strings.Compare(key(a.index), key(b.index)); c != 0 {
			return c
		}
		return cmp.Compare(a.index, b.index)
	}
	if slices.IsSortedFunc(entries, canonical) {
		return keys
	}
	slices.SortFunc(entries, canonical)
	order := make([]int, len(entries))
	for i := range entries {
		order[i] = entries[i].index
	}
	permute(alerts, keys, order)
	return keys
}

// alertSortEntry is what the canonical order compares of an alert, and its position.
type alertSortEntry struct {
	ts               detectors.Micros
	detector, symbol string
	index            int
}

// permute rearranges alerts and keys in place so that position i holds what was at order[i],
// following the permutation's cycles (one move per element, no copy of the wide alerts); order
// is consumed.
func permute(alerts []detectors.Alert, keys []string, order []int) {
	for start := range order {
		if order[start] == start {
			continue
		}
		alert, key := alerts[start], keys[start]
		j := start
		for {
			k := order[j]
			order[j] = j // placed
			if k == start {
				alerts[j], keys[j] = alert, key
				break
			}
			alerts[j], keys[j] = alerts[k], keys[k]
			j = k
		}
	}
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
