// Package backtest replays a dataset through detectors and scores what they say: the replay
// engine, the one-to-one matching of alerts to labelled incidents, precision/recall metrics and
// PR curves, parameter tuning and regression diffs between runs.
package backtest

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// Default matching windows: an alert may come up to DefaultLead before an incident starts (a
// detector sometimes recognises the set-up) and up to DefaultTolerance after it ends (windowed
// detectors raise their alert when the window closes).
const (
	DefaultLead      = 60 * detectors.Second
	DefaultTolerance = 300 * detectors.Second
)

// MatchConfig says when an alert may match an incident. Lead and Tolerance are used as given
// (zero means zero); start from DefaultMatchConfig. Negative values count as zero.
type MatchConfig struct {
	// Lead is how long before an incident's start an alert may come and still match it.
	Lead detectors.Micros
	// Tolerance is how long after an incident's end an alert may come and still match it.
	Tolerance detectors.Micros
	// Detectors lists every detector that ran, with the incident type it detects. A detector
	// that ran but raised no alert is known only from here: list every detector so that its
	// incidents count as misses rather than as uncovered. Detectors seen in the alerts are
	// added automatically.
	Detectors map[string]detectors.IncidentType
}

// DefaultMatchConfig returns the default windows (60 s lead, 300 s tolerance) and no detectors.
func DefaultMatchConfig() MatchConfig {
	return MatchConfig{Lead: DefaultLead, Tolerance: DefaultTolerance}
}

// AlertOutcome is the matching decision for one alert.
type AlertOutcome struct {
	// Index is the alert's position in the slice given to Match.
	Index  int
	Key    string
	Symbol string
	TS     detectors.Micros
	Score  float64
	// TP says the alert matched an incident: IncidentID and IncidentStart name it.
	TP            bool
	IncidentID    string
	IncidentStart detectors.Micros
	// Duplicate marks a false positive that was eligible for at least one incident, every one of
	// which an earlier (higher-ranked) alert had already taken: a repeat alert on a known episode.
	Duplicate bool
}

// IncidentOutcome is what happened to one incident counted for a detector.
type IncidentOutcome struct {
	ID     string
	Type   detectors.IncidentType
	Symbol string
	Start  detectors.Micros
	End    detectors.Micros
	// Detected says an alert matched the incident; AlertKey and AlertTS name that alert.
	Detected bool
	AlertKey string
	AlertTS  detectors.Micros
	// TimeToDetect is, for a detected incident, the earliest ts among all of the detector's
	// alerts eligible for the incident (matched to it or not) minus the incident's start. It is
	// negative when the first alert came within the lead window.
	TimeToDetect detectors.Micros
}

// DetectorMatch is the matching of one detector's alerts against the incidents of its type.
type DetectorMatch struct {
	Detector string
	// Types are the incident types the detector's incidents were drawn from (normally one).
	Types []detectors.IncidentType
	// Alerts are in decision order: descending score, then ascending ts, then Alert.Key, then
	// input position. The first k entries are exactly the matching of the top-k alerts.
	Alerts []AlertOutcome
	// Incidents are every incident of the detector's types, by start, then id.
	Incidents  []IncidentOutcome
	TP         int
	FP         int
	FN         int
	Duplicates int
}

// MatchResult is the matching of every detector of a run.
type MatchResult struct {
	Config MatchConfig
	// Detectors are sorted by name.
	Detectors []DetectorMatch
	// Uncovered are the incidents of types no detector of the run detects: not counted as
	// misses anywhere. Sorted by type, start, id.
	Uncovered []datasets.Incident
}

// Detector returns the named detector's matching.
func (r MatchResult) Detector(name string) (*DetectorMatch, bool) {
	i := sort.Search(len(r.Detectors), func(i int) bool { return r.Detectors[i].Detector >= name })
	if i < len(r.Detectors) && r.Detectors[i].Detector == name {
		return &r.Detectors[i], true
	}
	return nil, false
}

// Rows returns the run's matches table: per detector (by name), one row per alert in decision
// order, then one "fn" row per missed incident by start, then id.
func (r MatchResult) Rows() []datasets.MatchRow {
	var rows []datasets.MatchRow
	for di := range r.Detectors {
		d := &r.Detectors[di]
		for _, a := range d.Alerts {
			row := datasets.MatchRow{
				Detector: d.Detector, Outcome: "fp", AlertKey: a.Key, Symbol: a.Symbol,
				Score: a.Score, AlertTS: a.TS,
			}
			if a.TP {
				row.Outcome = "tp"
				row.IncidentID = a.IncidentID
				row.IncidentStart = a.IncidentStart
				row.TimeToDetect = a.TS - a.IncidentStart
			}
			rows = append(rows, row)
		}
		for _, in := range d.Incidents {
			if in.Detected {
				continue
			}
			rows = append(rows, datasets.MatchRow{
				Detector: d.Detector, Outcome: "fn", IncidentID: in.ID, Symbol: in.Symbol,
				Score: math.NaN(), IncidentStart: in.Start,
			})
		}
	}
	return rows
}

// Scored returns the detector's alerts as (score, TP) pairs in decision order: the input of
// PRCurve.
func (d *DetectorMatch) Scored() []Scored {
	out := make([]Scored, len(d.Alerts))
	for i, a := range d.Alerts {
		out[i] = Scored{Score: a.Score, TP: a.TP}
	}
	return out
}

// Match pairs alerts with labelled incidents, one to one, per detector.
//
// An alert is eligible for an incident when the incident's type is the alert's Type, the symbols
// are equal, the incident names no accounts or shares at least one with the alert, and the
// alert's TS lies in [Start - Lead, End + Tolerance]. Each detector's alerts are taken in
// decision order (descending score, ties by earlier TS, then Key); each takes the still-unmatched
// eligible incident with the earliest End (ties by incident ID) or, if none is left, is a false
// positive. Because an alert's decision depends only on the alerts ranked before it, the matching
// of the alerts scoring at least t is a prefix of the full matching for every threshold t, so
// one matching gives the exact PR curve. See docs/metrics.md.
//
// NaN scores rank below every number. Match never fails: malformed input (an incident ending
// before it starts, an empty symbol) simply matches nothing it cannot.
func Match(alerts []detectors.Alert, incidents []datasets.Incident, cfg MatchConfig) MatchResult {
	return matchKeyed(alerts, nil, incidents, nil, cfg)
}

// matchKeyed is Match with each alert's Key given in keys (parallel to alerts, as from
// sortAlertsKeyed) rather than built again, and the incidents' index idx built once for many
// matchings (by matchIndex with the same cfg's windows); nil keys and a nil idx are built here.
func matchKeyed(alerts []detectors.Alert, keys []string, incidents []datasets.Incident, idx *incidentIndex,
	cfg MatchConfig) MatchResult {

	// Which incident types each detector covers.
	typesOf := map[string]map[detectors.IncidentType]bool{}
	addType := func(det string, t detectors.IncidentType) {
		if typesOf[det] == nil {
			typesOf[det] = map[detectors.IncidentType]bool{}
		}
		typesOf[det][t] = true
	}
	for name, t := range cfg.Detectors {
		addType(name, t)
	}
	for i := range alerts {
		addType(alerts[i].Detector, alerts[i].Type)
	}
	covered := map[detectors.IncidentType]bool{}
	for _, ts := range typesOf {
		for t := range ts {
			covered[t] = true
		}
	}

	if idx == nil {
		idx = matchIndex(incidents, cfg)
	}

	res := MatchResult{Config: cfg}
	for i := range incidents {
		if !covered[incidents[i].Type] {
			res.Uncovered = append(res.Uncovered, incidents[i])
		}
	}
	sort.SliceStable(res.Uncovered, func(i, j int) bool {
		a, b := &res.Uncovered[i], &res.Uncovered[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.Start != b.Start {
			return a.Start < b.Start
		}
		return a.ID < b.ID
	})

	byDetector := map[string][]int{}
	for i := range alerts {
		byDetector[alerts[i].Detector] = append(byDetector[alerts[i].Detector], i)
	}
	names := make([]string, 0, len(typesOf))
	for name := range typesOf {
		names = append(names, name)
	}
	sort.Strings(names)

	// Scratch shared by detectors, reset per detector through the touched lists.
	matchedBy := make([]int, len(incidents)) // incident -> position in decision order, or -1
	earliest := make([]detectors.Micros, len(incidents))
	for i := range matchedBy {
		matchedBy[i] = -1
		earliest[i] = math.MaxInt64
	}
	var eligible []int
	var touched []int

	for _, name := range names {
		d := DetectorMatch{Detector: name}
		for t := range typesOf[name] {
			d.Types = append(d.Types, t)
		}
		sort.Slice(d.Types, func(i, j int) bool { return d.Types[i] < d.Types[j] })

		d.Alerts = rankAlerts(alerts, keys, byDetector[name])
		touched = touched[:0]
		for pos := range d.Alerts {
			ao := &d.Alerts[pos]
			a := &alerts[ao.Index]
			eligible = idx.eligible(a, eligible[:0])
			best := -1
			for _, c := range eligible {
				if earliest[c] == math.MaxInt64 {
					touched = append(touched, c)
				}
				earliest[c] = min(earliest[c], a.TS)
				if matchedBy[c] >= 0 {
					continue
				}
				if best < 0 || idx.before(c, best) {
					best = c
				}
			}
			switch {
			case best >= 0:
				matchedBy[best] = pos
				ao.TP = true
				ao.IncidentID = incidents[best].ID
				ao.IncidentStart = incidents[best].Start
				d.TP++
			case len(eligible) > 0:
				ao.Duplicate = true
				d.FP++
				d.Duplicates++
			default:
				d.FP++
			}
		}

		for _, c := range idx.ofTypes(d.Types) {
			in := &incidents[c]
			out := IncidentOutcome{ID: in.ID, Type: in.Type, Symbol: in.Symbol, Start: in.Start, End: in.End}
			if pos := matchedBy[c]; pos >= 0 {
				out.Detected = true
				out.AlertKey = d.Alerts[pos].Key
				out.AlertTS = d.Alerts[pos].TS
				out.TimeToDetect = earliest[c] - in.Start
			} else {
				d.FN++
			}
			d.Incidents = append(d.Incidents, out)
		}
		for _, c := range touched {
			matchedBy[c] = -1
			earliest[c] = math.MaxInt64
		}
		res.Detectors = append(res.Detectors, d)
	}
	return res
}

// rankAlerts returns the outcomes of the given alerts in decision order, undecided; keys holds
// the alerts' Keys by index, or is nil to build them.
func rankAlerts(alerts []detectors.Alert, keys []string, indices []int) []AlertOutcome {
	// Sorted as compact entries rather than the wide outcomes: far less to move and compare.
	entries := make([]rankEntry, len(indices))
	for i, ai := range indices {
		a := &alerts[ai]
		var key string
		if keys != nil {
			key = keys[ai]
		} else {
			key = a.Key()
		}
		entries[i] = rankEntry{score: rankScore(a.Score), ts: a.TS, key: key, index: ai}
	}
	// The order is total (ties end at the alert's index), so any sort gives the same result.
	slices.SortFunc(entries, compareRanked)
	out := make([]AlertOutcome, len(entries))
	for i := range entries {
		e := &entries[i]
		a := &alerts[e.index]
		out[i] = AlertOutcome{Index: e.index, Key: e.key, Symbol: a.Symbol, TS: a.TS, Score: a.Score}
	}
	return out
}

// rankEntry is what the decision order compares of an alert: its score as rankScore maps it,
// ts, key and index.
type rankEntry struct {
	score float64
	ts    detectors.Micros
	key   string
	index int
}

// compareRanked is the decision order: descending score (NaN last), earlier ts, key, position.
func compareRanked(a, b rankEntry) int {
	if a.score != b.score {
		if a.score > b.score {
			return -1
		}
		return 1
	}
	if a.ts != b.ts {
		return cmp.Compare(a.ts, b.ts)
	}
	if a.key != b.key {
		return strings.Compare(a.key, b.key)
	}
	return cmp.Compare(a.index, b.index)
}

// rankScore maps NaN below every number so that sorting and grouping by score are total.
func rankScore(s float64) float64 {
	if math.IsNaN(s) {
		return math.Inf(-1)
	}
	return s
}

// matchIndex is the incidents' index for matching under cfg's windows.
func matchIndex(incidents []datasets.Incident, cfg MatchConfig) *incidentIndex {
	return newIncidentIndex(incidents, max(cfg.Lead, 0), max(cfg.Tolerance, 0))
}

// incidentIndex finds the incidents an alert is eligible for without scanning them all.
type incidentIndex struct {
	incidents []datasets.Incident
	accounts  [][]string // per incident: sorted, de-duplicated, without empty ids
	lead, tol detectors.Micros
	buckets   map[bucketKey]*bucket
	byType    map[detectors.IncidentType][]int // by start, id, position
}

type bucketKey struct {
	typ    detectors.IncidentType
	symbol string
}

// bucket holds one (type, symbol)'s incidents by start; maxEnd[i] is the largest end among the
// first i+1, which bounds a backward scan.
type bucket struct {
	members []int
	starts  []detectors.Micros
	maxEnd  []detectors.Micros
}

func newIncidentIndex(incidents []datasets.Incident, lead, tol detectors.Micros) *incidentIndex {
	x := &incidentIndex{
		incidents: incidents, accounts: make([][]string, len(incidents)), lead: lead, tol: tol,
		buckets: map[bucketKey]*bucket{}, byType: map[detectors.IncidentType][]int{},
	}
	for i := range incidents {
		in := &incidents[i]
		x.accounts[i] = detectors.SortAccounts(append([]string(nil), in.Accounts...))
		k := bucketKey{in.Type, in.Symbol}
		b := x.buckets[k]
		if b == nil {
			b = &bucket{}
			x.buckets[k] = b
		}
		b.members = append(b.members, i)
		x.byType[in.Type] = append(x.byType[in.Type], i)
	}
	byStart := func(list []int) {
		sort.SliceStable(list, func(i, j int) bool {
			a, b := &incidents[list[i]], &incidents[list[j]]
			if a.Start != b.Start {
				return a.Start < b.Start
			}
			return a.ID < b.ID
		})
	}
	for _, b := range x.buckets {
		byStart(b.members)
		b.starts = make([]detectors.Micros, len(b.members))
		b.maxEnd = make([]detectors.Micros, len(b.members))
		run := detectors.Micros(math.MinInt64)
		for j, c := range b.members {
			b.starts[j] = incidents[c].Start
			run = max(run, incidents[c].End)
			b.maxEnd[j] = run
		}
	}
	for _, list := range x.byType {
		byStart(list)
	}
	return x
}

// eligible appends to dst the incidents alert a may match.
func (x *incidentIndex) eligible(a *detectors.Alert, dst []int) []int {
	b := x.buckets[bucketKey{a.Type, a.Symbol}]
	if b == nil {
		return dst
	}
	// Incidents starting after ts + lead cannot hold ts in their window.
	hi := sort.Search(len(b.starts), func(i int) bool { return b.starts[i] > satAdd(a.TS, x.lead) })
	var accounts []string
	for j := hi - 1; j >= 0 && satAdd(b.maxEnd[j], x.tol) >= a.TS; j-- {
		c := b.members[j]
		if satAdd(x.incidents[c].End, x.tol) < a.TS {
			continue
		}
		if len(x.accounts[c]) > 0 {
			if accounts == nil {
				accounts = canonicalAccounts(a.Accounts)
			}
			if !overlap(accounts, x.accounts[c]) {
				continue
			}
		}
		dst = append(dst, c)
	}
	return dst
}

// before is the incident preference among eligible ones: earliest end, then id, then position.
func (x *incidentIndex) before(i, j int) bool {
	a, b := &x.incidents[i], &x.incidents[j]
	if a.End != b.End {
		return a.End < b.End
	}
	if a.ID != b.ID {
		return a.ID < b.ID
	}
	return i < j
}

// ofTypes returns the incidents of the given types, by start then id.
func (x *incidentIndex) ofTypes(types []detectors.IncidentType) []int {
	if len(types) == 1 {
		return x.byType[types[0]]
	}
	var out []int
	for _, t := range types {
		out = append(out, x.byType[t]...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := &x.incidents[out[i]], &x.incidents[out[j]]
		if a.Start != b.Start {
			return a.Start < b.Start
		}
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		return out[i] < out[j]
	})
	return out
}

// canonicalAccounts returns accounts sorted, de-duplicated and without empty ids: the list itself
// when it already is (as every alert from detectors.Build is), else a sorted copy.
func canonicalAccounts(accounts []string) []string {
	for i, a := range accounts {
		if a == "" || (i > 0 && accounts[i-1] >= a) {
			return detectors.SortAccounts(append([]string(nil), accounts...))
		}
	}
	return accounts
}

// overlap reports whether two sorted lists share an element.
func overlap(a, b []string) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			return true
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return false
}

// satAdd adds a non-negative d to t without wrapping past the largest timestamp, so that absurd
// label timestamps cannot turn a window inside out.
func satAdd(t, d detectors.Micros) detectors.Micros {
	if t > math.MaxInt64-d {
		return math.MaxInt64
	}
	return t + d
}
