package backtest

import (
	"math"
	"sort"
	"strings"

	"github.com/fds-dev/fds/datasets"
)

// AlertDiff is what changed between two runs' alerts, alerts being paired by Alert.Key
// (detector, symbol, accounts, ts): alerts only the candidate raised appeared, alerts only the
// baseline raised disappeared. Keys are compared as multisets, so two alerts with one key in the
// baseline and one in the candidate make one disappeared alert. Identical runs give an empty
// diff; the diff depends only on the two runs' alerts, not on their order.
type AlertDiff struct {
	// Available is false when a run has neither alerts nor matches to compare (a bare metrics.json).
	Available   bool `json:"available"`
	Appeared    int  `json:"appeared"`
	Disappeared int  `json:"disappeared"`
	// Detectors lists, by name, the detectors whose alerts changed.
	Detectors []DetectorAlertDiff `json:"detectors"`
	// FirstAppeared and FirstDisappeared list up to RegressOptions.List alerts each, by ts, then
	// key.
	FirstAppeared    []DiffAlert `json:"first_appeared"`
	FirstDisappeared []DiffAlert `json:"first_disappeared"`
}

// Empty reports whether no alert appeared or disappeared.
func (d *AlertDiff) Empty() bool { return d.Appeared == 0 && d.Disappeared == 0 }

// DetectorAlertDiff counts one detector's alerts and their changes.
type DetectorAlertDiff struct {
	Detector    string `json:"detector"`
	Baseline    int    `json:"baseline"`
	Candidate   int    `json:"candidate"`
	Appeared    int    `json:"appeared"`
	Disappeared int    `json:"disappeared"`
}

// DiffAlert is one alert of the diff, with its outcome in its run when the matches tell it.
type DiffAlert struct {
	Key      string `json:"key"`
	Detector string `json:"detector"`
	Symbol   string `json:"symbol"`
	// Accounts are the key's accounts, comma-separated ("" for symbol-level alerts).
	Accounts string   `json:"accounts"`
	TS       int64    `json:"ts_us"`
	Time     string   `json:"time"`
	Score    *float64 `json:"score"`
	// Outcome is "tp" or "fp" in the run that raised it ("" when unknown); IncidentID names the
	// incident a tp matched.
	Outcome    string `json:"outcome,omitempty"`
	IncidentID string `json:"incident_id,omitempty"`
}

// diffAlerts returns a run's alerts for the diff: from its matches (which carry outcomes) when
// present, else from its alerts; ok is false when it has neither.
func (r *RegressRun) diffAlerts() ([]DiffAlert, bool) {
	var out []DiffAlert
	switch {
	case r.Matches != nil:
		for i := range r.Matches {
			m := &r.Matches[i]
			if m.Outcome == datasets.OutcomeFN {
				continue
			}
			a := DiffAlert{Key: m.AlertKey, Detector: m.Detector, Symbol: m.Symbol, TS: m.AlertTS,
				Outcome: m.Outcome, IncidentID: m.IncidentID, Accounts: keyAccounts(m.AlertKey, m.Detector, m.Symbol)}
			if !math.IsNaN(m.Score) {
				s := m.Score
				a.Score = &s
			}
			out = append(out, a)
		}
	case r.Run.Alerts != nil:
		for i := range r.Run.Alerts {
			al := &r.Run.Alerts[i]
			a := DiffAlert{Key: al.Key(), Detector: al.Detector, Symbol: al.Symbol, TS: al.TS,
				Accounts: strings.Join(al.Accounts, ",")}
			if !math.IsNaN(al.Score) {
				s := al.Score
				a.Score = &s
			}
			out = append(out, a)
		}
	default:
		return nil, false
	}
	for i := range out {
		out[i].Time = formatTS(out[i].TS)
	}
	return out, true
}

// keyAccounts extracts the accounts part of an Alert.Key whose detector and symbol are known.
func keyAccounts(key, detector, symbol string) string {
	prefix := detector + "|" + symbol + "|"
	if !strings.HasPrefix(key, prefix) {
		return ""
	}
	rest := key[len(prefix):]
	if i := strings.LastIndex(rest, "|"); i >= 0 {
		return rest[:i]
	}
	return ""
}

// DiffRuns diffs two runs' alerts, listing up to list alerts in each direction.
func DiffRuns(base, cand *RegressRun, list int) AlertDiff {
	b, okb := base.diffAlerts()
	c, okc := cand.diffAlerts()
	if !okb || !okc {
		return AlertDiff{Detectors: []DetectorAlertDiff{}, FirstAppeared: []DiffAlert{}, FirstDisappeared: []DiffAlert{}}
	}
	return DiffAlertSets(b, c, list)
}

// DiffAlertSets diffs two multisets of alerts by key.
func DiffAlertSets(base, cand []DiffAlert, list int) AlertDiff {
	d := AlertDiff{Available: true, Detectors: []DetectorAlertDiff{}, FirstAppeared: []DiffAlert{}, FirstDisappeared: []DiffAlert{}}
	group := func(alerts []DiffAlert) map[string][]DiffAlert {
		m := map[string][]DiffAlert{}
		for _, a := range alerts {
			m[a.Key] = append(m[a.Key], a)
		}
		return m
	}
	bk, ck := group(base), group(cand)
	per := map[string]*DetectorAlertDiff{}
	det := func(name string) *DetectorAlertDiff {
		if per[name] == nil {
			per[name] = &DetectorAlertDiff{Detector: name}
		}
		return per[name]
	}
	for _, a := range base {
		det(a.Detector).Baseline++
	}
	for _, a := range cand {
		det(a.Detector).Candidate++
	}
	var appeared, disappeared []DiffAlert
	// Within one key, the surplus alerts are the last ones by score order, so that the listed
	// representative does not depend on input order.
	surplus := func(have, other []DiffAlert) []DiffAlert {
		if len(have) <= len(other) {
			return nil
		}
		s := append([]DiffAlert(nil), have...)
		sortDiffAlerts(s)
		return s[len(other):]
	}
	for k, bs := range bk {
		disappeared = append(disappeared, surplus(bs, ck[k])...)
	}
	for k, cs := range ck {
		appeared = append(appeared, surplus(cs, bk[k])...)
	}
	sortDiffAlerts(appeared)
	sortDiffAlerts(disappeared)
	for _, a := range appeared {
		det(a.Detector).Appeared++
	}
	for _, a := range disappeared {
		det(a.Detector).Disappeared++
	}
	d.Appeared, d.Disappeared = len(appeared), len(disappeared)
	for _, name := range sortedKeys(per) {
		if p := per[name]; p.Appeared > 0 || p.Disappeared > 0 {
			d.Detectors = append(d.Detectors, *p)
		}
	}
	list = max(list, 0)
	d.FirstAppeared = append(d.FirstAppeared, appeared[:min(list, len(appeared))]...)
	d.FirstDisappeared = append(d.FirstDisappeared, disappeared[:min(list, len(disappeared))]...)
	return d
}

// sortDiffAlerts orders by ts, key, then score (missing last), outcome and incident.
func sortDiffAlerts(s []DiffAlert) {
	sort.SliceStable(s, func(i, j int) bool {
		a, b := &s[i], &s[j]
		if a.TS != b.TS {
			return a.TS < b.TS
		}
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		sa, sb := math.Inf(-1), math.Inf(-1)
		if a.Score != nil {
			sa = rankScore(*a.Score)
		}
		if b.Score != nil {
			sb = rankScore(*b.Score)
		}
		if sa != sb {
			return sa > sb
		}
		if a.Outcome != b.Outcome {
			return a.Outcome < b.Outcome
		}
		return a.IncidentID < b.IncidentID
	})
}
