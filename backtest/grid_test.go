package backtest

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The grid tests use the test_counter detector registered in config_test.go: parameters every
// (whole count in [1, 1000], default 3) and window (seconds in [0, 3600], default 2.5).

func TestParseGridAndExpandOrder(t *testing.T) {
	src := `# a grid
detectors:
  test_counter:
    fixed:
      min_score: 0.2
    sweep:
      window: {log: [1, 100, 3]}
      every: {linear: [2, 10, 5]}
match:
  lead_s: 30
`
	g, err := ParseGrid("g.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if g.Match.LeadSeconds != 30 || g.Match.ToleranceSeconds != DefaultToleranceSeconds {
		t.Fatalf("match = %+v", g.Match)
	}
	if string(g.Source) != src {
		t.Fatal("Source must keep the file's text")
	}
	// Axes follow the detector's declared parameter order (every, then window), not file order.
	want := []GridAxis{
		{Param: "every", Values: []float64{2, 4, 6, 8, 10}},
		{Param: "window", Values: []float64{1, 10, 100}},
	}
	if !reflect.DeepEqual(g.Detectors[0].Axes, want) {
		t.Fatalf("axes = %+v, want %+v", g.Detectors[0].Axes, want)
	}
	cfgs := g.Expand()
	if len(cfgs) != 15 || g.Size() != 15 {
		t.Fatalf("%d configurations (Size %d), want 5×3 = 15", len(cfgs), g.Size())
	}
	// The last axis varies fastest.
	checks := []struct {
		k             int
		every, window float64
	}{{0, 2, 1}, {1, 2, 10}, {2, 2, 100}, {3, 4, 1}, {14, 10, 100}}
	for _, c := range checks {
		got := cfgs[c.k]
		wantID := "test_counter#" + strconv.Itoa(c.k)
		if got.ID != wantID || got.Index != c.k || got.Values["every"] != c.every || got.Values["window"] != c.window || got.Values["min_score"] != 0.2 {
			t.Errorf("config %d = %+v, want %s every=%v window=%v min_score=0.2", c.k, got, wantID, c.every, c.window)
		}
		if len(got.Swept) != 2 || got.Swept[0] != (ParamValue{"every", c.every}) || got.Swept[1] != (ParamValue{"window", c.window}) {
			t.Errorf("config %d swept = %+v", c.k, got.Swept)
		}
	}
	if !reflect.DeepEqual(cfgs, g.Expand()) {
		t.Fatal("Expand is not deterministic")
	}
	cfgs[0].Values["every"] = 999
	if g.Expand()[0].Values["every"] != 2 {
		t.Fatal("configurations must not share their value maps")
	}
}

func TestRangeValues(t *testing.T) {
	cases := []struct {
		name        string
		kind        string
		start, stop float64
		steps       int
		whole       bool
		want        []float64
	}{
		// Interior linear steps of 0.1 are rounded to 12 significant digits: 0.3, not 0.30000000000000004.
		{"linear tenths", "linear", 0.1, 0.5, 5, false, []float64{0.1, 0.2, 0.3, 0.4, 0.5}},
		{"linear descending", "linear", 10, 0, 3, false, []float64{10, 5, 0}},
		// geomspace(1, 1000, 4) = 1, 10, 100, 1000.
		{"log decades", "log", 1, 1000, 4, false, []float64{1, 10, 100, 1000}},
		// geomspace(1, 10, 5) = 1, 1.778, 3.162, 5.623, 10, rounded for a whole parameter.
		{"log whole", "log", 1, 10, 5, true, []float64{1, 2, 3, 6, 10}},
		// linspace(1, 3, 5) = 1, 1.5, 2, 2.5, 3; rounding half away from zero gives 1, 2, 2, 3, 3:
		// repeats are dropped.
		{"linear whole drops repeats", "linear", 1, 3, 5, true, []float64{1, 2, 3}},
		{"one step", "log", 7, 9, 1, false, []float64{7}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := rangeValues(c.kind, c.start, c.stop, c.steps, c.whole)
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestParseGridErrorsNamePosition(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown top key", "detectorz:\n  test_counter: {}\n", `g.yaml:1:1: unknown key "detectorz"`},
		{"unknown detector", "detectors:\n  nope:\n    sweep:\n      every: [1]\n", `g.yaml:2:3: unknown detector "nope"`},
		{"unknown section", "detectors:\n  test_counter:\n    swep:\n      every: [1]\n", "g.yaml:3:5: unknown key detectors.test_counter.swep"},
		{"unknown parameter", "detectors:\n  test_counter:\n    sweep:\n      evry: [1, 2]\n", `g.yaml:4:7: detector test_counter has no parameter "evry"`},
		{"value out of range", "detectors:\n  test_counter:\n    sweep:\n      every: [1, 0]\n", "g.yaml:4:18: every: value 0 out of range [1, 1000]"},
		{"not whole", "detectors:\n  test_counter:\n    fixed:\n      every: 2.5\n", "g.yaml:4:14: every: value 2.5 must be a whole number"},
		{"range leaves the spec", "detectors:\n  test_counter:\n    sweep:\n      window: {linear: [0, 7200, 3]}\n", "g.yaml:4:24: window: linear range gives 7200"},
		{"log of zero", "detectors:\n  test_counter:\n    sweep:\n      window: {log: [0, 10, 3]}\n", "g.yaml:4:21: window: log range bounds must be > 0"},
		{"steps not whole", "detectors:\n  test_counter:\n    sweep:\n      window: {linear: [1, 10, 2.5]}\n", "g.yaml:4:32: window: steps 2.5 must be a whole number"},
		{"range of two", "detectors:\n  test_counter:\n    sweep:\n      window: {linear: [1, 10]}\n", "g.yaml:4:24: window: linear wants [start, stop, steps]"},
		{"unknown range kind", "detectors:\n  test_counter:\n    sweep:\n      window: {geom: [1, 10, 3]}\n", "g.yaml:4:15: window: want a list"},
		{"scalar in sweep", "detectors:\n  test_counter:\n    sweep:\n      window: 5\n", "g.yaml:4:15: window: want a list [a, b, ...], {linear: [start, stop, steps]} or {log: [start, stop, steps]} (a single value goes under fixed)"},
		{"empty list", "detectors:\n  test_counter:\n    sweep:\n      window: []\n", "g.yaml:4:15: window: empty list"},
		{"repeated value", "detectors:\n  test_counter:\n    sweep:\n      window: [1, 2, 1]\n", "g.yaml:4:22: window: value 1 is listed twice"},
		{"quoted number", "detectors:\n  test_counter:\n    sweep:\n      window: [\"5\"]\n", `g.yaml:4:16: want a number, got "5"`},
		{"fixed and swept", "detectors:\n  test_counter:\n    fixed:\n      every: 2\n    sweep:\n      every: [1, 2]\n", "g.yaml:6:7: test_counter.every is given twice (also at line 4)"},
		{"negative lead", "detectors:\n  test_counter: {}\nmatch:\n  lead_s: -1\n", "g.yaml:4:11: match.lead_s: -1 must be a finite number >= 0"},
		{"unknown match key", "detectors:\n  test_counter: {}\nmatch:\n  lead: 1\n", "g.yaml:4:3: unknown key match.lead"},
		{"no detector", "match:\n  lead_s: 1\n", "g.yaml:1:6: the grid names no detector"},
		{"too many", "detectors:\n  test_counter:\n    sweep:\n      every: {linear: [1, 1000, 1000]}\n      window: {linear: [0, 3600, 11]}\n", "the grid has 11000 configurations, more than 10000"},
		{"malformed", "detectors: [\n", "g.yaml: "},
		{"empty", "# nothing\n", "g.yaml: empty grid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseGrid("g.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "g.yaml") {
				t.Fatalf("err %q must be one line starting with the file name", err)
			}
		})
	}
}

func TestParseGridAcceptsFlowStyleBoolsAndExponents(t *testing.T) {
	g, err := ParseGrid("g.yaml", []byte("detectors: {test_counter: {sweep: {window: [1e3, 2.5e2]}, fixed: {every: 7}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := g.Detectors[0]
	if d.Fixed["every"] != 7 || !reflect.DeepEqual(d.Axes, []GridAxis{{Param: "window", Values: []float64{1000, 250}}}) {
		t.Fatalf("parsed %+v", d)
	}
	// min_score may be an axis (after the detector's own parameters); the detector then keeps
	// each configuration's min_score instead of sweeping a threshold.
	g, err = ParseGrid("g.yaml", []byte("detectors:\n  test_counter:\n    sweep:\n      min_score: [0.1, 0.5]\n      every: [1, 2]\n"))
	if err != nil || !g.Detectors[0].SweepsMinScore || g.Detectors[0].Axes[1].Param != "min_score" || g.Size() != 4 {
		t.Fatalf("swept min_score: %v %+v", err, g)
	}
	// A detector with no axes is one configuration: its threshold alone is tuned.
	g, err = ParseGrid("g.yaml", []byte("detectors:\n  test_counter: {}\n"))
	if err != nil || g.Size() != 1 || len(g.Expand()) != 1 || g.Expand()[0].ID != "test_counter#0" {
		t.Fatalf("no-axis grid: %v %+v", err, g)
	}
}
