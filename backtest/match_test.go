package backtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// t0 is an arbitrary epoch for hand-written cases; sec(x) is t0 + x seconds.
const t0 = detectors.Micros(1_700_000_000) * detectors.Second

func sec(x float64) detectors.Micros { return t0 + detectors.Micros(x*float64(detectors.Second)) }

func alert(det string, typ detectors.IncidentType, sym string, ts detectors.Micros, score float64, accounts ...string) detectors.Alert {
	return detectors.Alert{Detector: det, Type: typ, Symbol: sym, Accounts: accounts, TS: ts, WindowStart: ts, WindowEnd: ts, Score: score}
}

func incident(id string, typ detectors.IncidentType, sym string, start, end detectors.Micros, accounts ...string) datasets.Incident {
	return datasets.Incident{ID: id, Type: typ, Symbol: sym, Accounts: accounts, Start: start, End: end, Source: "test"}
}

// handCase is the worked example of docs/metrics.md. Windows use the defaults: lead 60 s,
// tolerance 300 s. Times are seconds after t0.
//
//	incident  type      accounts  [start, end]   eligible window
//	I1        spoofing  A         [1000, 1100]   [ 940, 1400]
//	I2        spoofing  B         [1200, 1300]   [1140, 1600]
//	I3        spoofing  (none)    [5000, 5100]   [4940, 5400]
//	I4        spoofing  D         [7000, 7100]   [6940, 7400]
//	W1        wash      A         [1000, 1100]   (no wash detector ran: uncovered)
//
//	alert  score  ts    accounts  eligible   decision
//	a1     0.9    1050  A         I1         TP I1
//	a2     0.8    1230  A,B       I1, I2     I1 taken -> TP I2
//	a3     0.7    1150  A,B       I1, I2     both taken -> FP, duplicate
//	a4     0.6    9000  C         -          FP
//	a5     0.5    4940  Z         I3         TP I3 (window start is inclusive; I3 names no accounts)
//
// I4 gets no alert: FN. So tp 3, fp 2 (1 duplicate), fn 1; P = 3/5 = 0.6, R = 3/4 = 0.75,
// F1 = 2·0.6·0.75/1.35 = 2/3. AP over the ranking TP,TP,FP,FP,TP with recall out of 4 incidents:
// 0.25·1 + 0.25·1 + 0 + 0 + 0.25·(3/5) = 0.65 (= scikit-learn AP 0.8667 over the five labels ×
// tp/incidents 3/4).
// Time-to-detect uses the earliest eligible alert: I1 1050−1000 = 50 s; I2 min(1230, 1150) −
// 1200 = −50 s (a3 came first although a2 matched); I3 4940−5000 = −60 s. Sorted −60, −50, 50:
// median −50, mean −20, p90 at position 0.9·2 = 1.8: −50 + 0.8·100 = 30.
func handCase() ([]detectors.Alert, []datasets.Incident) {
	const sp = detectors.Spoofing
	incidents := []datasets.Incident{
		incident("I4", sp, "BTCUSDT", sec(7000), sec(7100), "D"),
		incident("I2", sp, "BTCUSDT", sec(1200), sec(1300), "B"),
		incident("W1", detectors.WashTrade, "BTCUSDT", sec(1000), sec(1100), "A"),
		incident("I1", sp, "BTCUSDT", sec(1000), sec(1100), "A"),
		incident("I3", sp, "BTCUSDT", sec(5000), sec(5100)),
	}
	alerts := []detectors.Alert{
		alert("spoof", sp, "BTCUSDT", sec(1150), 0.7, "A", "B"),
		alert("spoof", sp, "BTCUSDT", sec(4940), 0.5, "Z"),
		alert("spoof", sp, "BTCUSDT", sec(1050), 0.9, "A"),
		alert("spoof", sp, "BTCUSDT", sec(9000), 0.6, "C"),
		alert("spoof", sp, "BTCUSDT", sec(1230), 0.8, "A", "B"),
	}
	return alerts, incidents
}

func TestMatchHandCase(t *testing.T) {
	alerts, incidents := handCase()
	res := Match(alerts, incidents, DefaultMatchConfig())
	if len(res.Detectors) != 1 {
		t.Fatalf("detectors = %d, want 1", len(res.Detectors))
	}
	d := res.Detectors[0]
	if d.TP != 3 || d.FP != 2 || d.FN != 1 || d.Duplicates != 1 {
		t.Fatalf("tp/fp/fn/dup = %d/%d/%d/%d, want 3/2/1/1", d.TP, d.FP, d.FN, d.Duplicates)
	}
	type decision struct {
		score    float64
		tp       bool
		incident string
		dup      bool
	}
	want := []decision{{0.9, true, "I1", false}, {0.8, true, "I2", false}, {0.7, false, "", true}, {0.6, false, "", false}, {0.5, true, "I3", false}}
	for i, a := range d.Alerts {
		got := decision{a.Score, a.TP, a.IncidentID, a.Duplicate}
		if got != want[i] {
			t.Errorf("decision %d = %+v, want %+v", i, got, want[i])
		}
	}
	// Time-to-detect per incident (hand computation above); I4 undetected.
	wantTTD := map[string]float64{"I1": 50, "I2": -50, "I3": -60}
	for _, in := range d.Incidents {
		w, detected := wantTTD[in.ID]
		if in.Detected != detected {
			t.Errorf("%s detected = %v, want %v", in.ID, in.Detected, detected)
		}
		if detected && in.TimeToDetect != detectors.Micros(w*1e6) {
			t.Errorf("%s time-to-detect = %d µs, want %v s", in.ID, in.TimeToDetect, w)
		}
	}
	if len(res.Uncovered) != 1 || res.Uncovered[0].ID != "W1" {
		t.Errorf("uncovered = %+v, want W1 only", res.Uncovered)
	}

	m := ComputeMetrics(&res, 2*detectors.Day)
	got := m.Detectors["spoof"]
	const tol = 1e-12
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"precision", got.Precision, 0.6},
		{"recall", got.Recall, 0.75},
		{"f1", got.F1, 2.0 / 3},
		{"ap", got.AveragePrecision, 0.65},
		{"alerts/day", got.AlertsPerDay, 2.5}, // 5 alerts over 2 days
		{"ttd min", got.TimeToDetect.Min, -60},
		{"ttd median", got.TimeToDetect.Median, -50},
		{"ttd p90", got.TimeToDetect.P90, 30},
		{"ttd mean", got.TimeToDetect.Mean, -20},
		{"ttd max", got.TimeToDetect.Max, 50},
	} {
		if math.Abs(c.got-c.want) > tol {
			t.Errorf("%s = %.15g, want %.15g", c.name, c.got, c.want)
		}
	}
	if got.Alerts != 5 || got.Incidents != 4 || got.TimeToDetect.Count != 3 {
		t.Errorf("alerts/incidents/ttd count = %d/%d/%d, want 5/4/3", got.Alerts, got.Incidents, got.TimeToDetect.Count)
	}
	if m.Overall.TP != 3 || m.Overall.FN != 1 || m.Overall.AveragePrecision != got.AveragePrecision {
		t.Errorf("overall = %+v, want the single detector's figures", m.Overall)
	}
}

func TestMatchRowsHandCase(t *testing.T) {
	alerts, incidents := handCase()
	res := Match(alerts, incidents, DefaultMatchConfig())
	rows := res.Rows()
	type row struct {
		outcome, incident string
		score             float64
		ttd               float64 // seconds
	}
	// Alert rows in decision order, then the missed incident. A tp row's time-to-detect is that
	// alert's own lateness: a2 at 1230 for I2 starting at 1200 is 30 s, although the incident's
	// time-to-detect (earliest eligible alert, a3) is -50 s.
	want := []row{{"tp", "I1", 0.9, 50}, {"tp", "I2", 0.8, 30}, {"fp", "", 0.7, 0}, {"fp", "", 0.6, 0}, {"tp", "I3", 0.5, -60}, {"fn", "I4", math.NaN(), 0}}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i, r := range rows {
		w := want[i]
		if r.Outcome != w.outcome || r.IncidentID != w.incident || float64(r.TimeToDetect)/1e6 != w.ttd ||
			(r.Score != w.score && !(math.IsNaN(r.Score) && math.IsNaN(w.score))) {
			t.Errorf("row %d = %+v, want %+v", i, r, w)
		}
		if r.Detector != "spoof" || r.Symbol != "BTCUSDT" {
			t.Errorf("row %d detector/symbol = %s/%s", i, r.Detector, r.Symbol)
		}
		if (r.Outcome == "fn") != (r.AlertKey == "") {
			t.Errorf("row %d: alert key %q for outcome %s", i, r.AlertKey, r.Outcome)
		}
	}
	if rows[5].IncidentStart != sec(7000) || rows[0].AlertTS != sec(1050) {
		t.Errorf("fn incident start %d / tp alert ts %d", rows[5].IncidentStart, rows[0].AlertTS)
	}
}

func TestMatchEligibility(t *testing.T) {
	const sp = detectors.Spoofing
	base := incident("I", sp, "BTCUSDT", sec(1000), sec(1100), "A", "B")
	cases := []struct {
		name  string
		alert detectors.Alert
		match bool
	}{
		{"inside", alert("d", sp, "BTCUSDT", sec(1050), 1, "B"), true},
		{"lead edge inclusive", alert("d", sp, "BTCUSDT", sec(940), 1, "A"), true},
		{"before lead", alert("d", sp, "BTCUSDT", sec(939.999999), 1, "A"), false},
		{"tolerance edge inclusive", alert("d", sp, "BTCUSDT", sec(1400), 1, "A"), true},
		{"after tolerance", alert("d", sp, "BTCUSDT", sec(1400.000001), 1, "A"), false},
		{"other symbol", alert("d", sp, "ETHUSDT", sec(1050), 1, "A"), false},
		{"other type", alert("d", detectors.Layering, "BTCUSDT", sec(1050), 1, "A"), false},
		{"disjoint accounts", alert("d", sp, "BTCUSDT", sec(1050), 1, "C", "D"), false},
		{"no accounts vs named incident", alert("d", sp, "BTCUSDT", sec(1050), 1), false},
		{"unsorted alert accounts", alert("d", sp, "BTCUSDT", sec(1050), 1, "Z", "B"), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := Match([]detectors.Alert{c.alert}, []datasets.Incident{base}, DefaultMatchConfig())
			tp := 0
			for _, d := range res.Detectors {
				tp += d.TP
			}
			if (tp == 1) != c.match {
				t.Errorf("matched = %v, want %v", tp == 1, c.match)
			}
		})
	}
	t.Run("zero windows", func(t *testing.T) {
		a := alert("d", sp, "BTCUSDT", sec(1100.5), 1, "A")
		res := Match([]detectors.Alert{a}, []datasets.Incident{base}, MatchConfig{})
		if res.Detectors[0].TP != 0 {
			t.Error("an alert after the end matched with zero tolerance")
		}
	})
}

func TestMatchPrefersEarliestEnd(t *testing.T) {
	const sp = detectors.Spoofing
	// One alert eligible for three incidents: it takes the one ending first (J2, end 1150); of
	// two ending together (K1, K2) the smaller id wins.
	incidents := []datasets.Incident{
		incident("J1", sp, "X", sec(900), sec(1200)),
		incident("J2", sp, "X", sec(1000), sec(1150)),
		incident("J3", sp, "X", sec(800), sec(1300)),
	}
	res := Match([]detectors.Alert{alert("d", sp, "X", sec(1000), 1)}, incidents, DefaultMatchConfig())
	if got := res.Detectors[0].Alerts[0].IncidentID; got != "J2" {
		t.Errorf("took %s, want J2 (earliest end)", got)
	}
	tied := []datasets.Incident{incident("K2", sp, "X", sec(900), sec(1200)), incident("K1", sp, "X", sec(1000), sec(1200))}
	res = Match([]detectors.Alert{alert("d", sp, "X", sec(1000), 1)}, tied, DefaultMatchConfig())
	if got := res.Detectors[0].Alerts[0].IncidentID; got != "K1" {
		t.Errorf("took %s, want K1 (end tie, smaller id)", got)
	}
}

func TestMatchScoreTiesByTimeThenKey(t *testing.T) {
	const sp = detectors.Spoofing
	// Equal scores: the earlier alert decides first and takes the only incident; equal score and
	// ts: the smaller key (account "A" < "B") decides first.
	inc := []datasets.Incident{incident("I", sp, "X", sec(1000), sec(1100))}
	later := alert("d", sp, "X", sec(1060), 0.5, "A")
	earlier := alert("d", sp, "X", sec(1040), 0.5, "B")
	d := Match([]detectors.Alert{later, earlier}, inc, DefaultMatchConfig()).Detectors[0]
	if !d.Alerts[0].TP || d.Alerts[0].TS != sec(1040) {
		t.Errorf("first decision %+v, want the earlier alert matched", d.Alerts[0])
	}
	b := alert("d", sp, "X", sec(1050), 0.5, "B")
	a := alert("d", sp, "X", sec(1050), 0.5, "A")
	d = Match([]detectors.Alert{b, a}, inc, DefaultMatchConfig()).Detectors[0]
	if d.Alerts[0].Key != a.Key() || !d.Alerts[0].TP {
		t.Errorf("first decision %+v, want key %s matched", d.Alerts[0], a.Key())
	}
}

func TestMatchDetectorWithoutAlertsAndUncovered(t *testing.T) {
	_, incidents := handCase()
	cfg := DefaultMatchConfig()
	cfg.Detectors = map[string]detectors.IncidentType{"spoof": detectors.Spoofing, "wash": detectors.WashTrade}
	res := Match(nil, incidents, cfg)
	if len(res.Uncovered) != 0 {
		t.Errorf("uncovered = %v, want none: both types have a detector", res.Uncovered)
	}
	m := ComputeMetrics(&res, detectors.Day)
	// Four spoofing incidents and one wash incident, all missed; precision 0 with no alerts
	// (zero_division=0).
	if s, w := m.Detectors["spoof"], m.Detectors["wash"]; s.FN != 4 || w.FN != 1 || s.Precision != 0 || s.Recall != 0 || s.F1 != 0 || s.AveragePrecision != 0 {
		t.Errorf("spoof %+v wash %+v", s, w)
	}
	if m.Overall.Incidents != 5 || m.Overall.FN != 5 {
		t.Errorf("overall incidents/fn = %d/%d, want 5/5", m.Overall.Incidents, m.Overall.FN)
	}
}

func TestMatchDetectorsAreIndependent(t *testing.T) {
	// Two spoofing detectors each match the same incident: one-to-one holds per detector, and the
	// overall micro figures count the incident once per detector.
	const sp = detectors.Spoofing
	inc := []datasets.Incident{incident("I", sp, "X", sec(1000), sec(1100))}
	alerts := []detectors.Alert{alert("a", sp, "X", sec(1050), 1), alert("b", sp, "X", sec(1060), 1), alert("b", sp, "X", sec(1070), 0.5)}
	res := Match(alerts, inc, DefaultMatchConfig())
	m := ComputeMetrics(&res, 0)
	if m.Detectors["a"].TP != 1 || m.Detectors["b"].TP != 1 || m.Detectors["b"].Duplicates != 1 {
		t.Errorf("a %+v b %+v", m.Detectors["a"], m.Detectors["b"])
	}
	// Overall: tp 2, fp 1, incidents 2: P = 2/3, R = 1.
	if o := m.Overall; o.TP != 2 || o.FP != 1 || o.Incidents != 2 || math.Abs(o.Precision-2.0/3) > 1e-15 || o.Recall != 1 {
		t.Errorf("overall %+v", o)
	}
	if m.Overall.AlertsPerDay != 0 {
		t.Errorf("alerts/day with zero span = %v, want 0", m.Overall.AlertsPerDay)
	}
}

func TestMatchBadInputDoesNotPanic(t *testing.T) {
	const sp = detectors.Spoofing
	incidents := []datasets.Incident{
		incident("backwards", sp, "X", sec(2000), sec(1000)),
		incident("", sp, "", math.MinInt64, math.MaxInt64),
		incident("dup", sp, "X", sec(1), sec(2)),
		incident("dup", sp, "X", sec(1), sec(2)),
	}
	alerts := []detectors.Alert{
		alert("d", sp, "X", math.MaxInt64, math.NaN()),
		alert("d", sp, "", math.MinInt64, math.Inf(1)),
		alert("d", sp, "X", sec(1.5), math.Inf(-1), "", ""),
		alert("", "", "", 0, 0),
	}
	res := Match(alerts, incidents, MatchConfig{Lead: -5, Tolerance: math.MaxInt64})
	ComputeMetrics(&res, -1)
	res.Rows()
	// The NaN-scored alert ranks last.
	d, _ := res.Detector("d")
	if last := d.Alerts[len(d.Alerts)-1]; !math.IsNaN(last.Score) {
		t.Errorf("last decision score %v, want NaN", last.Score)
	}
	// With an unbounded tolerance the MaxInt64 alert matches "backwards" (its window starts at
	// 2000 s and never ends), the MinInt64 alert matches the incident starting at MinInt64 on the
	// empty symbol, and the alert at 1.5 s takes one of the two "dup" rows (two labels rows are
	// two incidents even with one id): tp 3, fn 1.
	if d.TP != 3 || d.FN != 1 {
		t.Errorf("tp/fn = %d/%d, want 3/1", d.TP, d.FN)
	}
	if empty := Match(nil, nil, DefaultMatchConfig()); len(empty.Detectors) != 0 || len(empty.Rows()) != 0 {
		t.Errorf("empty input gave %+v", empty)
	}
}

// randomCase draws overlapping incidents and alerts with many score ties, on few symbols and
// accounts, so that alerts compete for incidents.
func randomCase(seed uint64, nAlerts, nIncidents int) ([]detectors.Alert, []datasets.Incident) {
	r := rand.New(rand.NewPCG(seed, 7))
	symbols := []string{"BTC", "ETH", "SOL"}
	accounts := []string{"a", "b", "c", "d", "e"}
	types := []detectors.IncidentType{detectors.Spoofing, detectors.WashTrade}
	pick := func() []string {
		var out []string
		for _, a := range accounts {
			if r.IntN(3) == 0 {
				out = append(out, a)
			}
		}
		return out
	}
	var incidents []datasets.Incident
	for i := range nIncidents {
		start := sec(float64(r.IntN(20_000)))
		incidents = append(incidents, incident(fmt.Sprintf("i%03d", i), types[r.IntN(2)], symbols[r.IntN(3)],
			start, start+detectors.Micros(r.IntN(600))*detectors.Second, pick()...))
	}
	var alerts []detectors.Alert
	for range nAlerts {
		typ := types[r.IntN(2)]
		det := map[detectors.IncidentType]string{detectors.Spoofing: "spoof", detectors.WashTrade: "wash"}[typ]
		alerts = append(alerts, alert(det, typ, symbols[r.IntN(3)], sec(float64(r.IntN(21_000))),
			float64(r.IntN(8))/8, pick()...))
	}
	return alerts, incidents
}

// TestMatchPrefixConsistent proves the property the PR curve relies on: matching only the top-k
// alerts gives exactly the first k decisions of the full matching, for every k, and matching
// the alerts above each threshold gives the curve's TP count at that threshold.
func TestMatchPrefixConsistent(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		alerts, incidents := randomCase(seed, 150, 60)
		full := Match(alerts, incidents, DefaultMatchConfig())
		tp, dup := 0, 0
		for _, d := range full.Detectors {
			tp, dup = tp+d.TP, dup+d.Duplicates
		}
		if tp == 0 || dup == 0 {
			t.Fatalf("seed %d: case too easy (tp %d, duplicates %d)", seed, tp, dup)
		}
		for _, d := range full.Detectors {
			ranked := make([]detectors.Alert, len(d.Alerts))
			for i, a := range d.Alerts {
				ranked[i] = alerts[a.Index]
			}
			for k := 0; k <= len(ranked); k++ {
				sub := Match(ranked[:k], incidents, DefaultMatchConfig())
				sd, ok := sub.Detector(d.Detector)
				if k == 0 {
					if ok {
						t.Fatalf("empty prefix produced detector %s", d.Detector)
					}
					continue
				}
				for i := range k {
					got, want := sd.Alerts[i], d.Alerts[i]
					got.Index = want.Index // positions differ between the two inputs
					if got != want {
						t.Fatalf("seed %d %s k=%d: decision %d = %+v, full matching says %+v", seed, d.Detector, k, i, got, want)
					}
				}
			}
			curve := PRCurve(d.Scored(), len(d.Incidents), 0)
			for _, p := range curve.Points {
				var above []detectors.Alert
				for _, a := range ranked {
					if a.Score >= p.Threshold {
						above = append(above, a)
					}
				}
				sd, _ := Match(above, incidents, DefaultMatchConfig()).Detector(d.Detector)
				if sd.TP != p.TP || sd.FP != p.FP {
					t.Fatalf("seed %d %s threshold %v: re-matched tp/fp %d/%d, curve says %d/%d", seed, d.Detector, p.Threshold, sd.TP, sd.FP, p.TP, p.FP)
				}
			}
		}
	}
}

// TestMatchOrderIndependent: the input order of alerts and incidents changes nothing.
func TestMatchOrderIndependent(t *testing.T) {
	alerts, incidents := randomCase(11, 200, 80)
	want := Match(alerts, incidents, DefaultMatchConfig()).Rows()
	r := rand.New(rand.NewPCG(3, 3))
	for range 3 {
		r.Shuffle(len(alerts), func(i, j int) { alerts[i], alerts[j] = alerts[j], alerts[i] })
		r.Shuffle(len(incidents), func(i, j int) { incidents[i], incidents[j] = incidents[j], incidents[i] })
		got := Match(alerts, incidents, DefaultMatchConfig()).Rows()
		if !rowsEqual(got, want) {
			t.Fatal("shuffled input changed the matches")
		}
	}
}

func rowsEqual(a, b []datasets.MatchRow) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if math.IsNaN(x.Score) && math.IsNaN(y.Score) {
			x.Score, y.Score = 0, 0
		}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

// TestMatchAgainstBruteForce checks the indexed eligibility search against a plain scan.
func TestMatchAgainstBruteForce(t *testing.T) {
	alerts, incidents := randomCase(21, 300, 120)
	cfg := DefaultMatchConfig()
	idx := newIncidentIndex(incidents, cfg.Lead, cfg.Tolerance)
	for i := range alerts {
		a := &alerts[i]
		got := idx.eligible(a, nil)
		sort.Ints(got)
		var want []int
		for j, in := range incidents {
			if in.Type == a.Type && in.Symbol == a.Symbol && a.TS >= in.Start-cfg.Lead && a.TS <= in.End+cfg.Tolerance &&
				(len(in.Accounts) == 0 || overlap(detectors.SortAccounts(append([]string(nil), a.Accounts...)), detectors.SortAccounts(append([]string(nil), in.Accounts...)))) {
				want = append(want, j)
			}
		}
		if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("alert %d: eligible %v, brute force %v", i, got, want)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	// 100k alerts against 5k incidents: a long synthetic run.
	alerts, incidents := randomCase(5, 100_000, 5_000)
	b.ResetTimer()
	for b.Loop() {
		Match(alerts, incidents, DefaultMatchConfig())
	}
	b.ReportMetric(float64(len(alerts))*float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
}
