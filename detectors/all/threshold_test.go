package all_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/fds-dev/fds/datasets/synth"
	"github.com/fds-dev/fds/detectors"
)

// TestMinScoreOnlyFilters checks the threshold property for every registered detector: min_score
// must only filter. A run at min_score=t must raise exactly the alerts of a run at min_score=0
// that score at least t — same keys, times, scores and windows, in the same order. The tuner
// sweeps thresholds over one run's scores without replaying, and the PR curves are drawn the same
// way, so a detector whose episodes or cooldowns depend on min_score would make both wrong.
//
// Every detector runs at default parameters (the warm-ups shortened so that the small market
// has something to score) on the generator's small preset, once per threshold, all in one replay.
func TestMinScoreOnlyFilters(t *testing.T) {
	g, err := synth.New(synth.Config{Seed: 5, Preset: "small"})
	if err != nil {
		t.Fatal(err)
	}
	env := detectors.Env{Accounts: g.AccountMap()}
	thresholds := []float64{0, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95}
	specs := detectors.All()
	type instance struct {
		det    detectors.Detector
		alerts []detectors.Alert
	}
	runs := make([][]*instance, len(specs))
	for i, spec := range specs {
		for _, th := range thresholds {
			values := shortWarmups(spec)
			values[detectors.MinScoreParam] = th
			d, _, err := detectors.Build(spec.Name, values, env)
			if err != nil {
				t.Fatal(err)
			}
			runs[i] = append(runs[i], &instance{det: d})
		}
	}
	var seq int64
	if _, err := g.Run(func(ev *detectors.Event) error {
		ev.Seq = seq
		seq++
		for _, insts := range runs {
			for _, in := range insts {
				in.det.OnEvent(ev, func(a detectors.Alert) { in.alerts = append(in.alerts, a) })
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	withAlerts, split := 0, 0
	for i, spec := range specs {
		for _, in := range runs[i] {
			in.det.Flush(func(a detectors.Alert) { in.alerts = append(in.alerts, a) })
		}
		all := runs[i][0].alerts
		if len(all) > 0 {
			withAlerts++
		}
		for k, th := range thresholds[1:] {
			var want []detectors.Alert
			for _, a := range all {
				if a.Score >= th {
					want = append(want, a)
				}
			}
			if 0 < len(want) && len(want) < len(all) {
				split++
			}
			got := runs[i][k+1].alerts
			if d := diffAlerts(want, got); d != "" {
				t.Errorf("%s: min_score=%v is not a filter of min_score=0 (%d alerts at 0, %d kept, %d raised): %s",
					spec.Name, th, len(all), len(want), len(got), d)
			}
		}
		t.Logf("%-22s %4d alerts at min_score 0", spec.Name, len(all))
	}
	// The property is only tested where thresholds cut through the alerts.
	if withAlerts < 5 || split < 10 {
		t.Fatalf("only %d detectors raised alerts and %d thresholds split them: the market does not exercise the property", withAlerts, split)
	}
}

// shortWarmups returns parameter overrides that shorten warm-ups so that a 6-minute market gets
// scored: any parameter whose name says warm-up is set to its minimum.
func shortWarmups(spec *detectors.Spec) map[string]float64 {
	values := map[string]float64{}
	for _, p := range spec.Params {
		if p.Name == "warmup" || p.Name == "warmup_orders" {
			values[p.Name] = p.Min
		}
	}
	return values
}

// diffAlerts describes the first difference between two alert sequences, or returns "".
func diffAlerts(want, got []detectors.Alert) string {
	for j := 0; j < len(want) || j < len(got); j++ {
		if j >= len(want) {
			return fmt.Sprintf("extra alert %s score %v", got[j].Key(), got[j].Score)
		}
		if j >= len(got) {
			return fmt.Sprintf("missing alert %s score %v", want[j].Key(), want[j].Score)
		}
		w, g := &want[j], &got[j]
		if w.Key() != g.Key() || math.Float64bits(w.Score) != math.Float64bits(g.Score) ||
			w.WindowStart != g.WindowStart || w.WindowEnd != g.WindowEnd {
			return fmt.Sprintf("alert %d: want %s score %v window [%d, %d], got %s score %v window [%d, %d]",
				j, w.Key(), w.Score, w.WindowStart, w.WindowEnd, g.Key(), g.Score, g.WindowStart, g.WindowEnd)
		}
	}
	return ""
}
