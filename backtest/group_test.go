package backtest_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/datasets/synth"
	"github.com/fds-dev/fds/detectors"
	_ "github.com/fds-dev/fds/detectors/all"
)

// These tests hold detector groups (detectors.Spec.NewGroup: the configurations of a sweep
// sharing the state that depends on few parameters) to their promise: every configuration of a
// group raises exactly the alerts, in the same order, of a separate instance of it.

// smallMarket generates the small preset (seed 1) into a temporary folder and replays it into
// memory.
func smallMarket(t *testing.T) (string, []detectors.Event, detectors.Env) {
	return generatedMarket(t, "small")
}

// generatedMarket generates a preset (seed 1) into a temporary folder and replays it into memory.
func generatedMarket(t *testing.T, preset string) (string, []detectors.Event, detectors.Env) {
	return generatedMarketFor(t, preset, detectors.Names())
}

// generatedMarketFor is generatedMarket with the events the named detectors need only.
func generatedMarketFor(t *testing.T, preset string, names []string) (string, []detectors.Event, detectors.Env) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), preset)
	if _, err := synth.Generate(synth.Config{Seed: 1, Preset: preset}, dir); err != nil {
		t.Fatal(err)
	}
	events, env, err := backtest.LoadEventsForTest(dir, names)
	if err != nil {
		t.Fatal(err)
	}
	return dir, events, env
}

// groupedSpecs are the detectors that offer groups; those of mustGroup must be among them.
// mustGroup are the detectors known to offer groups: a detector that loses its group fails the
// test instead of silently leaving it.
var mustGroup = []string{"collusion", "front_running", "funding_manipulation", "layering", "liquidation_hunt", "momentum_ignition", "pump_and_dump", "quote_stuffing", "spoofing", "wash_trade"}

func groupedSpecs(t *testing.T) []*detectors.Spec {
	var out []*detectors.Spec
	have := map[string]bool{}
	for _, s := range detectors.All() {
		if s.NewGroup != nil {
			out = append(out, s)
			have[s.Name] = true
		}
	}
	for _, n := range mustGroup {
		if !have[n] {
			t.Fatalf("%s offers no group", n)
		}
	}
	return out
}

// randomGrid draws n configurations of a detector. Each parameter has two or three candidate
// values per grid (its default times a factor from 0.01 to 4, clipped to its range), so that
// configurations both share and differ in the state parameters, and caps (max_open_orders,
// max_candidates, ...) are sometimes small enough to bind.
func randomGrid(rng *rand.Rand, s *detectors.Spec, n int) []map[string]float64 {
	factors := []float64{0.01, 0.2, 0.5, 1, 1, 2, 4}
	choices := map[string][]float64{}
	for _, ps := range s.AllParams() {
		k := 1 + rng.IntN(3)
		for j := 0; j < k; j++ {
			v := ps.Default * factors[rng.IntN(len(factors))]
			if ps.Name == detectors.MinScoreParam {
				v = []float64{0, 0.2, 0.5, ps.Default}[rng.IntN(4)]
			}
			if ps.Bool {
				v = float64(rng.IntN(2))
			}
			if ps.Integer {
				v = math.Round(v)
			}
			v = math.Min(math.Max(v, ps.Min), ps.Max)
			choices[ps.Name] = append(choices[ps.Name], v)
		}
	}
	names := make([]string, 0, len(choices))
	for name := range choices {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]map[string]float64, n)
	for i := range out {
		out[i] = map[string]float64{}
		for _, name := range names {
			c := choices[name]
			out[i][name] = c[rng.IntN(len(c))]
		}
	}
	return out
}

// TestGroupsGiveTheAlertsOfSeparateInstances feeds the generated small market to a group of
// random configurations and to one separate instance per configuration, and requires the same
// alerts (every field, scores to the bit) in the same order, for every configuration.
//
// pump_and_dump needs half an hour of a symbol's history before it alerts (warmup), more than the
// small market's six minutes: it is fed the default market.
func TestGroupsGiveTheAlertsOfSeparateInstances(t *testing.T) {
	_, smallEvents, smallEnv := smallMarket(t)
	var defaultEvents []detectors.Event
	var defaultEnv detectors.Env
	for _, spec := range groupedSpecs(t) {
		events, env := smallEvents, smallEnv
		if spec.Name == "pump_and_dump" {
			if defaultEvents == nil {
				_, defaultEvents, defaultEnv = generatedMarketFor(t, "default", []string{spec.Name})
			}
			events, env = defaultEvents, defaultEnv
		}
		for trial := 0; trial < 4; trial++ {
			rng := rand.New(rand.NewPCG(uint64(trial)+1, 4))
			grid := randomGrid(rng, spec, 10)
			if trial == 0 {
				grid[0] = map[string]float64{} // the defaults, which raise alerts on this market
			}
			t.Run(fmt.Sprintf("%s/seed%d", spec.Name, trial+1), func(t *testing.T) {
				g, _, err := detectors.BuildGroup(spec.Name, grid, env)
				if err != nil {
					t.Fatal(err)
				}
				grouped := make([][]detectors.Alert, len(grid))
				emit := func(i int, a detectors.Alert) { grouped[i] = append(grouped[i], a) }
				singles := make([]detectors.Detector, len(grid))
				separate := make([][]detectors.Alert, len(grid))
				emits := make([]detectors.Emit, len(grid))
				for i, values := range grid {
					if singles[i], _, err = detectors.Build(spec.Name, values, env); err != nil {
						t.Fatal(err)
					}
					emits[i] = func(a detectors.Alert) { separate[i] = append(separate[i], a) }
				}
				for k := range events {
					ev := events[k] // each consumer gets its own copy: the contract reuses events
					g.OnEvent(&ev, emit)
					for i, d := range singles {
						ev := events[k]
						d.OnEvent(&ev, emits[i])
					}
				}
				g.Flush(emit)
				total := 0
				for i, d := range singles {
					d.Flush(emits[i])
					total += len(separate[i])
					if !reflect.DeepEqual(grouped[i], separate[i]) {
						t.Errorf("configuration %d %v: the group raised %d alerts, a separate instance %d%s",
							i, grid[i], len(grouped[i]), len(separate[i]), firstDifference(grouped[i], separate[i]))
					}
				}
				if trial == 0 && len(separate[0]) == 0 {
					t.Fatal("the defaults raise no alert on the small market: the comparison proves nothing")
				}
				t.Logf("%d alerts over %d configurations", total, len(grid))
			})
		}
	}
}

func firstDifference(a, b []detectors.Alert) string {
	for i := 0; i < min(len(a), len(b)); i++ {
		if !reflect.DeepEqual(a[i], b[i]) {
			return fmt.Sprintf("; first difference at alert %d:\n group    %+v\n separate %+v", i, a[i], b[i])
		}
	}
	return ""
}

// TestTuneGroupedEqualsSeparate runs one sweep through detector groups and again with one
// instance per configuration: the alerts of every configuration, and so the leaderboard, must
// be identical.
func TestTuneGroupedEqualsSeparate(t *testing.T) {
	dir, _, _ := smallMarket(t)
	grid, err := backtest.ParseGrid("grid.yaml", []byte(`detectors:
  spoofing:
    sweep:
      min_size_ratio: [3, 5]
      max_lifetime: [5, 20]
      order_horizon: [600, 3600]
  wash_trade:
    sweep:
      count_scale: [1, 3]
      typical_halflife: [100, 1000]
      gap: [60, 180]
`))
	if err != nil {
		t.Fatal(err)
	}
	obj, _ := backtest.ParseObjective("fbeta:1")
	run := func(separate bool) *backtest.TuneResult {
		res, err := backtest.Tune(context.Background(), backtest.TuneOptions{Options: backtest.Options{DataDir: dir},
			Grid: grid, Objective: obj, Validation: backtest.Validation{Split: true, SplitFraction: 0.5}, Seed: 1,
			SeparateInstances: separate})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	grouped, separate := run(false), run(true)
	ga, sa := backtest.SweepAlertsForTest(grouped), backtest.SweepAlertsForTest(separate)
	if len(ga) != 16 {
		t.Fatalf("%d configurations, want 16", len(ga))
	}
	total := 0
	for id, want := range sa {
		total += len(want)
		if !reflect.DeepEqual(ga[id], want) {
			t.Errorf("%s: grouped sweep raised %d alerts, separate instances %d%s", id, len(ga[id]), len(want), firstDifference(ga[id], want))
		}
	}
	if total == 0 {
		t.Fatal("no alerts at all: the comparison proves nothing")
	}
	if !reflect.DeepEqual(grouped.Detectors, separate.Detectors) {
		t.Error("the leaderboards differ")
	}
}
