package backtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// ShardManifest is what a shard run records about its shard (manifest.json "shard"), and what
// a merged run records about each shard it combined ("merged_shards").
type ShardManifest struct {
	Index int `json:"index"`
	Count int `json:"count"`
	// Symbols are the shard's symbols that had events, sorted.
	Symbols []string `json:"symbols"`
	// Events are the events replayed by the shard; FirstTS and LastTS (µs) bound them.
	Events  int64            `json:"events"`
	FirstTS detectors.Micros `json:"first_ts_us"`
	LastTS  detectors.Micros `json:"last_ts_us"`
	// Replayed counts the shard's replayed events by table.
	Replayed map[string]int64 `json:"replayed_by_table"`
	// Run is the shard's run folder as given to fds merge (merged runs only).
	Run string `json:"run,omitempty"`
}

// ErrShards says the run folders given to a merge are not the complete set of shards of one
// configuration.
var ErrShards = errors.New("not a complete set of shard runs")

// MergeOptions say which shard runs to combine.
type MergeOptions struct {
	Runs []string
	// DataDir is the dataset whose labels the alerts are matched against ("" = the data_dir
	// recorded by the shards, which must agree).
	DataDir string
}

// MergeRuns combines the run folders of shards 0/N … N−1/N of one configuration into the
// result a single unsharded backtest would give: the shards' alerts concatenated in canonical
// order, matched afresh against the dataset's labels of the shards' symbols, over the time span
// of all their events. Matching decides per symbol, so the matches and metrics equal a single
// run's exactly (TestShardedRunsMergeToTheUnshardedRun) for detectors that are not CrossSymbol.
func MergeRuns(opts MergeOptions) (*Result, error) {
	if len(opts.Runs) == 0 {
		return nil, fmt.Errorf("%w: no run folder given", ErrShards)
	}
	t0 := time.Now()
	type shardRun struct {
		dir      string
		cfgYAML  []byte
		manifest Manifest
	}
	runs := make([]shardRun, 0, len(opts.Runs))
	for _, dir := range opts.Runs {
		r := shardRun{dir: dir}
		var err error
		if r.cfgYAML, err = os.ReadFile(filepath.Join(dir, ConfigFile)); err != nil {
			return nil, fmt.Errorf("run folder %s: %w", dir, err)
		}
		b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
		if err != nil {
			return nil, fmt.Errorf("run folder %s: %w", dir, err)
		}
		if err := json.Unmarshal(b, &r.manifest); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
		}
		if r.manifest.Shard == nil {
			return nil, fmt.Errorf("%w: %s is not a shard run (made without --shard)", ErrShards, dir)
		}
		runs = append(runs, r)
	}
	// Shards in index order: the merged manifest must not depend on the order of the arguments.
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].manifest.Shard.Index < runs[j].manifest.Shard.Index })
	count := runs[0].manifest.Shard.Count
	if len(runs) != count {
		return nil, fmt.Errorf("%w: %d run folders for %d shards", ErrShards, len(runs), count)
	}
	for i, r := range runs {
		sh := r.manifest.Shard
		if sh.Count != count {
			return nil, fmt.Errorf("%w: %s is shard %d/%d, %s is shard %d/%d", ErrShards, runs[0].dir, runs[0].manifest.Shard.Index, count, r.dir, sh.Index, sh.Count)
		}
		if sh.Index != i {
			return nil, fmt.Errorf("%w: shard %d/%d is missing (or given twice)", ErrShards, i, count)
		}
		if !bytes.Equal(r.cfgYAML, runs[0].cfgYAML) {
			return nil, fmt.Errorf("%w: %s and %s ran different configurations (%s differs)", ErrShards, runs[0].dir, r.dir, ConfigFile)
		}
	}
	dataDir := opts.DataDir
	if dataDir == "" {
		dataDir = runs[0].manifest.DataDir
		for _, r := range runs[1:] {
			if r.manifest.DataDir != dataDir {
				return nil, fmt.Errorf("%w: shards read different dataset folders (%s, %s): give the labels' dataset with --data", ErrShards, dataDir, r.manifest.DataDir)
			}
		}
	}
	cfg, err := LoadConfig(filepath.Join(runs[0].dir, ConfigFile))
	if err != nil {
		return nil, err
	}
	res := &Result{Config: cfg}
	if res.Params, err = cfg.Effective(); err != nil {
		return nil, err
	}
	names := cfg.DetectorNames()

	symbols := map[string]bool{}
	m := Manifest{SchemaVersion: 1, FDSVersion: Version, DataDir: dataDir, Tables: map[string]Rows{},
		Detectors: names, Notices: []string{}, TimingsSeconds: map[string]float64{}}
	notices := map[string]bool{}
	inputs := map[string]bool{}
	first := true
	for _, r := range runs {
		alerts, err := datasets.ReadAlerts(filepath.Join(r.dir, AlertsFile))
		if err != nil {
			return nil, err
		}
		res.Alerts = append(res.Alerts, alerts...)
		sh := *r.manifest.Shard
		for _, s := range sh.Symbols {
			symbols[s] = true
		}
		if sh.Events > 0 {
			if first || sh.FirstTS < res.Stats.FirstTS {
				res.Stats.FirstTS = sh.FirstTS
			}
			if first || sh.LastTS > res.Stats.LastTS {
				res.Stats.LastTS = sh.LastTS
			}
			first = false
		}
		res.Stats.Events += sh.Events
		for table, n := range sh.Replayed {
			rows, seen := m.Tables[table]
			if own, ok := r.manifest.Tables[table]; ok && !seen {
				// Every shard reads (and rejects) every row: read and rejected are any shard's.
				rows = Rows{Read: own.Read, Rejected: own.Rejected, Reasons: own.Reasons, Examples: own.Examples}
			}
			rows.Replayed += n
			m.Tables[table] = rows
		}
		for _, n := range r.manifest.Notices {
			if !notices[n] {
				notices[n] = true
				m.Notices = append(m.Notices, n)
			}
		}
		for _, in := range r.manifest.Inputs {
			key := in.Table + "\x00" + in.Path + "\x00" + in.SHA256
			if !inputs[key] {
				inputs[key] = true
				m.Inputs = append(m.Inputs, in)
			}
		}
		sh.Run = r.dir
		m.Shards = append(m.Shards, sh)
		m.TimingsSeconds[fmt.Sprintf("shard_%d_total", sh.Index)] = r.manifest.TimingsSeconds["total"]
	}
	for table, rows := range m.Tables {
		rows.Read = max(rows.Read, rows.Replayed+rows.Rejected)
		rows.OtherShards = rows.Read - rows.Replayed - rows.Rejected // shards not merged
		m.Tables[table] = rows
	}
	if len(m.Shards) > 0 {
		m.Notices = append(m.Notices, fmt.Sprintf("merged %d shard runs: %s", len(runs), strings.Join(shardDirs(runs, func(r shardRun) string { return r.dir }), ", ")))
	}
	SortAlerts(res.Alerts)

	ds, err := datasets.Open(dataDir)
	if err != nil {
		return nil, fmt.Errorf("labels for the merge: %w", err)
	}
	if ds.Has(datasets.TableLabels) {
		all, err := ds.Labels()
		if err != nil {
			return nil, err
		}
		// The incidents a single run scores: those of symbols it replayed.
		for _, in := range all {
			if symbols[in.Symbol] {
				res.Incidents = append(res.Incidents, in)
			}
		}
		rows := Rows{Read: int64(len(all)), Replayed: int64(len(res.Incidents)), Rejected: int64(len(all) - len(res.Incidents))}
		if rows.Rejected > 0 {
			rows.Reasons = map[string]int64{"symbol: " + ReasonUnknownSymbol: rows.Rejected}
		}
		m.Tables[datasets.TableLabels] = rows
	}
	span := res.Stats.LastTS - res.Stats.FirstTS
	res.Match, res.Matches, res.Metrics = Evaluate(res.Alerts, res.Incidents, names, cfg.Match.MatchConfig(), span)
	m.Events = res.Stats.Events
	if res.Stats.Events > 0 {
		m.FirstTS, m.LastTS = formatTS(res.Stats.FirstTS), formatTS(res.Stats.LastTS)
	}
	m.SpanDays = float64(span) / float64(detectors.Day)
	m.TimingsSeconds["merge"] = time.Since(t0).Seconds()
	res.Manifest = m
	return res, nil
}

func shardDirs[T any](runs []T, dir func(T) string) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = dir(r)
	}
	return out
}
