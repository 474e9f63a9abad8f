package backtest

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// Shard selects the symbols a backtest processes: those whose stable hash (FNV-1a, 64 bits, of
// the symbol's UTF-8 bytes) is Index modulo Count. N runs with shards 0/N … N−1/N cover every
// symbol exactly once, and `fds merge` combines them into the run a single machine would have
// made (docs/scaling.md). The zero Shard (Count 0) selects everything.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// ParseShard reads "K/N": shard K (0 ≤ K < N) of N, as a Kubernetes Indexed Job numbers its
// pods ($JOB_COMPLETION_INDEX).
func ParseShard(s string) (Shard, error) {
	k, n, ok := strings.Cut(s, "/")
	index, err1 := strconv.Atoi(strings.TrimSpace(k))
	count, err2 := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: want K/N, e.g. 0/4", s)
	}
	if count < 1 || index < 0 || index >= count {
		return Shard{}, fmt.Errorf("shard %q: want 0 <= K < N", s)
	}
	return Shard{Index: index, Count: count}, nil
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// All reports whether the shard selects every symbol.
func (s Shard) All() bool { return s.Count <= 1 }

// ShardOf returns the shard index of a symbol among count shards.
func ShardOf(symbol string, count int) int {
	if count <= 1 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(symbol))
	return int(h.Sum64() % uint64(count))
}

// Has reports whether the shard selects the symbol.
func (s Shard) Has(symbol string) bool {
	return s.All() || ShardOf(symbol, s.Count) == s.Index
}

// CrossSymbolDetectors returns the named detectors whose Spec says CrossSymbol: a shard of
// symbols changes their input, so their alerts in a sharded run are not those of a full run.
func CrossSymbolDetectors(names []string) []string {
	var out []string
	for _, n := range names {
		if spec, ok := detectors.Lookup(n); ok && spec.CrossSymbol {
			out = append(out, n)
		}
	}
	return out
}

// shardSource passes on the events of the shard's symbols and skips the others. It remembers
// the last symbol's verdict: the reader hands out one string per distinct value, so runs of one
// symbol cost a pointer comparison, not a hash. It collects the symbols it passed.
type shardSource struct {
	src     EventSource
	shard   Shard
	last    string
	lastIn  bool
	verdict map[string]bool
}

func newShardSource(src EventSource, shard Shard) *shardSource {
	return &shardSource{src: src, shard: shard, verdict: map[string]bool{}}
}

// Next implements EventSource.
func (s *shardSource) Next(ev *detectors.Event) (bool, error) {
	for {
		ok, err := s.src.Next(ev)
		if !ok || err != nil {
			return ok, err
		}
		if ev.Symbol != s.last || len(s.verdict) == 0 {
			in, seen := s.verdict[ev.Symbol]
			if !seen {
				in = s.shard.Has(ev.Symbol)
				s.verdict[ev.Symbol] = in
			}
			s.last, s.lastIn = ev.Symbol, in
		}
		if s.lastIn {
			return true, nil
		}
	}
}

// symbols returns the shard's symbols the source passed, sorted.
func (s *shardSource) symbols() []string {
	var out []string
	for sym, in := range s.verdict {
		if in {
			out = append(out, sym)
		}
	}
	sort.Strings(out)
	return out
}

// shardIncidents keeps the incidents of the shard's symbols.
func shardIncidents(incidents []datasets.Incident, shard Shard) []datasets.Incident {
	if shard.All() {
		return incidents
	}
	kept := make([]datasets.Incident, 0, len(incidents))
	for _, in := range incidents {
		if shard.Has(in.Symbol) {
			kept = append(kept, in)
		}
	}
	return kept
}

// shardManifest describes the shard a session replayed.
func (s *session) shardManifest() *ShardManifest {
	sm := &ShardManifest{Index: s.opts.Shard.Index, Count: s.opts.Shard.Count, Symbols: []string{},
		Events: s.stats.Events, Replayed: map[string]int64{}}
	if s.stats.Events > 0 {
		sm.FirstTS, sm.LastTS = s.stats.FirstTS, s.stats.LastTS
	}
	seen := map[string]bool{}
	for _, ss := range s.shardSources {
		for _, sym := range ss.symbols() {
			if !seen[sym] {
				seen[sym] = true
				sm.Symbols = append(sm.Symbols, sym)
			}
		}
	}
	sort.Strings(sm.Symbols)
	if s.merger != nil {
		for table, n := range s.merger.Rows() {
			sm.Replayed[table] = n
		}
	}
	return sm
}
