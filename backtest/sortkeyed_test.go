package backtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// randomTiedAlerts makes alerts with many ties of ts, detector, symbol, accounts and score (the
// tuner's case: many low-scoring alerts closed together), scores including NaN.
func randomTiedAlerts(rng *rand.Rand, n int) []detectors.Alert {
	accounts := []string{"a", "b", "a1", "ab", "b,a"}
	scores := []float64{0, 0.5, 1, math.NaN()}
	alerts := make([]detectors.Alert, n)
	for i := range alerts {
		det := []string{"front_running", "collusion"}[rng.IntN(2)]
		typ := detectors.FrontRunning
		if det == "collusion" {
			typ = detectors.Collusion
		}
		a := detectors.Alert{
			TS:       t0 + detectors.Micros(rng.IntN(4))*detectors.Second,
			Detector: det,
			Type:     typ,
			Symbol:   []string{"BTCUSDT", "ETHUSDT"}[rng.IntN(2)],
			Score:    scores[rng.IntN(len(scores))],
			// Tells alerts with equal keys apart: the canonical sort must be stable.
			WindowStart: detectors.Micros(i),
		}
		for k := rng.IntN(3); k > 0; k-- {
			a.Accounts = append(a.Accounts, accounts[rng.IntN(len(accounts))])
		}
		alerts[i] = a
	}
	return alerts
}

// TestSortAlertsKeyedAndMatchKeyed checks the tuner's path (keys built once by sortAlertsKeyed,
// reused by matchKeyed) against SortAlerts and Match, on shuffled and on already sorted input:
// same order, keys parallel to the sorted alerts, and a deeply equal match result.
func TestSortAlertsKeyedAndMatchKeyed(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 11))
	incidents := []datasets.Incident{
		incident("i1", detectors.FrontRunning, "BTCUSDT", t0, t0+2*detectors.Second, "a"),
		incident("i2", detectors.FrontRunning, "ETHUSDT", t0, t0+3*detectors.Second),
		incident("i3", detectors.Collusion, "BTCUSDT", t0+detectors.Second, t0+2*detectors.Second, "b"),
		incident("i4", detectors.Collusion, "ETHUSDT", t0, t0, "ab"),
	}
	for trial := 0; trial < 50; trial++ {
		alerts := randomTiedAlerts(rng, 1+rng.IntN(150))
		want := slices.Clone(alerts)
		SortAlerts(want)
		for _, presorted := range []bool{false, true} {
			got := slices.Clone(alerts)
			if presorted {
				got = slices.Clone(want)
			}
			keys := sortAlertsKeyed(got)
			// Compared as printed: DeepEqual fails on NaN scores, printing shows them alike.
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
				t.Fatalf("trial %d (presorted %v): sortAlertsKeyed order differs from SortAlerts", trial, presorted)
			}
			for i := range got {
				if keys[i] != got[i].Key() {
					t.Fatalf("trial %d: keys[%d] = %q, want %q", trial, i, keys[i], got[i].Key())
				}
			}
			cfg := DefaultMatchConfig()
			if m, w := matchKeyed(got, keys, incidents, matchIndex(incidents, cfg), cfg), Match(got, incidents, cfg); fmt.Sprintf("%+v", m) != fmt.Sprintf("%+v", w) {
				t.Fatalf("trial %d (presorted %v): matchKeyed differs from Match\n got  %+v\n want %+v", trial, presorted, m, w)
			}
		}
	}
}

// TestRankAlertsDecisionOrder pins the decision order on a hand-made case: descending score with
// NaN last, then earlier ts, then key, then position (two alerts with equal keys).
func TestRankAlertsDecisionOrder(t *testing.T) {
	alerts := []detectors.Alert{
		alert("d", detectors.Spoofing, "S", sec(1), math.NaN(), "a"), // 0
		alert("d", detectors.Spoofing, "S", sec(2), 0.5, "b"),        // 1
		alert("d", detectors.Spoofing, "S", sec(1), 0.5, "b"),        // 2
		alert("d", detectors.Spoofing, "S", sec(1), 0.5, "a"),        // 3
		alert("d", detectors.Spoofing, "S", sec(1), 0.9, "z"),        // 4
		alert("d", detectors.Spoofing, "S", sec(1), 0.5, "a"),        // 5: same key as 3
	}
	// By hand: 0.9 first (4); the 0.5s at ts 1 by key a,a,b (3, 5 by position, then 2); then the
	// 0.5 at ts 2 (1); NaN last (0).
	want := []int{4, 3, 5, 2, 1, 0}
	for _, keys := range [][]string{nil, {alerts[0].Key(), alerts[1].Key(), alerts[2].Key(),
		alerts[3].Key(), alerts[4].Key(), alerts[5].Key()}} {
		var got []int
		for _, o := range rankAlerts(alerts, keys, []int{0, 1, 2, 3, 4, 5}) {
			got = append(got, o.Index)
			if o.Key != alerts[o.Index].Key() {
				t.Errorf("outcome of alert %d has key %q, want %q", o.Index, o.Key, alerts[o.Index].Key())
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("keys given %v: order %v, want %v", keys != nil, got, want)
		}
	}
}

// TestAlertKeysEqualAlertKey checks the tuner's keys against Alert.Key itself on
// the format's edge cases: no accounts, an empty account, a negative and a zero ts, no alerts.
func TestAlertKeysEqualAlertKey(t *testing.T) {
	alerts := []detectors.Alert{
		{Detector: "spoofing", Symbol: "BTCUSDT", TS: 42},
		{Detector: "collusion", Symbol: "ETHUSDT", Accounts: []string{"a", "", "b,c"}, TS: -7},
		{Detector: "", Symbol: "", Accounts: []string{"x"}, TS: 0},
		{Detector: "wash_trade", Symbol: "SOLUSDT", Accounts: []string{"acct-1", "acct-2"}, TS: math.MaxInt64},
	}
	for n := 0; n <= len(alerts); n++ {
		keys := alertKeys(alerts[:n])
		if len(keys) != n {
			t.Fatalf("%d alerts: %d keys", n, len(keys))
		}
		for i := range keys {
			if want := alerts[i].Key(); keys[i] != want {
				t.Errorf("alert %d: key %q, want %q", i, keys[i], want)
			}
		}
	}
}
