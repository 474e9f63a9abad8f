package backtest

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

func TestBootstrapDeterministicPerSeed(t *testing.T) {
	s := BootstrapSample{
		Detected: []bool{true, true, false, true, false, true, true, false, true, true},
		BlockFP:  []int{0, 3, 1, 0, 5, 2, 0},
	}
	a := Bootstrap(s, 500, 0.95, 7)
	b := Bootstrap(s, 500, 0.95, 7)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different intervals: %+v %+v", a, b)
	}
	c := Bootstrap(s, 500, 0.95, 8)
	if reflect.DeepEqual(a.Recall, c.Recall) && reflect.DeepEqual(a.Precision, c.Precision) {
		t.Fatalf("seeds 7 and 8 gave identical intervals %+v: the seed is not used", a)
	}
	if a.Resamples != 500 || a.Level != 0.95 || a.Seed != 7 {
		t.Fatalf("settings not recorded: %+v", a)
	}
	// The point estimates (recall 7/10; precision 7/18) lie inside their intervals.
	if !a.Recall.Contains(0.7) || !a.Precision.Contains(7.0/18) {
		t.Fatalf("intervals %+v miss the point estimates", a)
	}
	if a.Recall.Low >= a.Recall.High {
		t.Fatalf("degenerate recall interval %+v", a.Recall)
	}
}

func TestBootstrapDegenerateSamples(t *testing.T) {
	// Every incident detected and no false positive: every resample has P = R = F1 = 1.
	perfect := Bootstrap(BootstrapSample{Detected: []bool{true, true, true}, BlockFP: []int{0, 0}}, 200, 0.9, 1)
	one := Interval{1, 1}
	if perfect.Precision != one || perfect.Recall != one || perfect.F1 != one {
		t.Fatalf("perfect sample: %+v", perfect)
	}
	// No incidents and no alerts: zero_division=0 gives 0 everywhere; no panic on empty lists.
	none := Bootstrap(BootstrapSample{}, 0, 0, 1)
	zero := Interval{0, 0}
	if none.Precision != zero || none.Recall != zero || none.F1 != zero || none.Resamples != DefaultResamples || none.Level != DefaultCILevel {
		t.Fatalf("empty sample: %+v", none)
	}
}

// TestBootstrapCoverage checks that nominal 95% intervals cover the true recall about 95% of the
// time: 300 simulated evaluations of 80 incidents each detected with probability 0.6. The
// percentile bootstrap of a binomial proportion at n = 80 covers close to nominally (about
// 93–95%); with 300 trials the binomial spread of the observed rate is about ±1.3 points, so
// [0.89, 0.99] fails only if the method is wrong.
func TestBootstrapCoverage(t *testing.T) {
	const trials, n, p = 300, 80, 0.6
	rng := rand.New(rand.NewPCG(42, 1))
	covered := 0
	for trial := 0; trial < trials; trial++ {
		s := BootstrapSample{Detected: make([]bool, n), BlockFP: []int{1, 0, 2}}
		for i := range s.Detected {
			s.Detected[i] = rng.Float64() < p
		}
		ci := Bootstrap(s, 400, 0.95, uint64(trial))
		if ci.Recall.Contains(p) {
			covered++
		}
	}
	rate := float64(covered) / trials
	if rate < 0.89 || rate > 0.99 {
		t.Fatalf("95%% intervals covered the true recall in %.1f%% of %d trials", rate*100, trials)
	}
}

// fpAt returns n zero counts with counts[i] = v for each (i, v) pair.
func fpAt(n int, pairs ...int) []int {
	out := make([]int, n)
	for i := 0; i+1 < len(pairs); i += 2 {
		out[pairs[i]] = pairs[i+1]
	}
	return out
}

func TestBootstrapSampleOfPeriod(t *testing.T) {
	day := detectors.Day
	// Alerts in decision order. inc-a (start day 0) matched by a 0.9 alert; inc-b (day 1) by a
	// 0.4 alert; inc-c (day 2) missed. False positives: 0.8 on day 0, 0.3 on day 1, 0.7 on day 2.
	d := &DetectorMatch{
		Alerts: []AlertOutcome{
			{Score: 0.9, TS: 10, TP: true, IncidentID: "inc-a", IncidentStart: 5},
			{Score: 0.8, TS: 20},
			{Score: 0.7, TS: 2*day + 5},
			{Score: 0.4, TS: day + 30, TP: true, IncidentID: "inc-b", IncidentStart: day},
			{Score: 0.3, TS: day + 40},
		},
		Incidents: []IncidentOutcome{
			{ID: "inc-a", Start: 5, Detected: true},
			{ID: "inc-b", Start: day, Detected: true},
			{ID: "inc-c", Start: 2*day + 1},
		},
	}
	// 25 days: the blocks are days.
	all := Period{From: -1 << 62, To: 1 << 62, Start: 0, End: 25 * day}
	// At min_score 0.5 the 0.4 alert is dropped: inc-b counts as missed; the 0.3 FP is dropped.
	got := BootstrapSampleOf(d, 0.5, all)
	want := BootstrapSample{Detected: []bool{true, false, false}, BlockFP: fpAt(25, 0, 1, 2, 1)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("min_score 0.5: %+v, want %+v", got, want)
	}
	got = BootstrapSampleOf(d, 0, all)
	want = BootstrapSample{Detected: []bool{true, true, false}, BlockFP: fpAt(25, 0, 1, 1, 1, 2, 1)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("min_score 0: %+v, want %+v", got, want)
	}
	// From day 1 on: inc-b and inc-c; the FPs of days 1 and 2 fall in the period's days 0 and 1.
	later := Period{From: day, To: 1 << 62, Start: day, End: 21 * day}
	got = BootstrapSampleOf(d, 0, later)
	want = BootstrapSample{Detected: []bool{true, false}, BlockFP: fpAt(20, 0, 1, 1, 1)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("later period: %+v, want %+v", got, want)
	}
}

func TestBootstrapSampleFromRows(t *testing.T) {
	day := detectors.Day
	rows := []datasets.MatchRow{
		{Detector: "x", Outcome: "tp", AlertTS: 100},
		{Detector: "x", Outcome: "fp", AlertTS: 100 + day},
		{Detector: "x", Outcome: "fp", AlertTS: 100 + day + 5},
		{Detector: "x", Outcome: "fn"},
		{Detector: "y", Outcome: "fp", AlertTS: 100},
	}
	got := BootstrapSampleFromRows(rows, "x", 100, 100+25*day)
	want := BootstrapSample{Detected: []bool{true, false}, BlockFP: fpAt(25, 1, 2)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%+v, want %+v", got, want)
	}
}

func TestPeriodBlocks(t *testing.T) {
	hour, day := detectors.Hour, detectors.Day
	// 10 hours: 20 blocks of 30 minutes; a ts at 29 min is in block 0, at 31 min in block 1,
	// and ts outside the period are clamped to its first and last blocks.
	p := Period{Start: 0, End: 10 * hour}
	if p.Blocks() != MinBootstrapBlocks || p.block(29*detectors.Minute) != 0 || p.block(31*detectors.Minute) != 1 ||
		p.block(-5) != 0 || p.block(11*hour) != 19 {
		t.Fatalf("10-hour period: %d blocks, block(29m)=%d block(31m)=%d", p.Blocks(), p.block(29*detectors.Minute), p.block(31*detectors.Minute))
	}
	// 30 days and a bit: blocks are days, the started 31st included.
	p = Period{Start: 0, End: 30*day + 1}
	if p.Blocks() != 31 || p.block(day) != 1 {
		t.Fatalf("30-day period: %d blocks", p.Blocks())
	}
	// An empty period has one block.
	if (Period{Start: 5, End: 5}).Blocks() != 1 {
		t.Fatal("empty period must have one block")
	}
}

func TestPeriodDays(t *testing.T) {
	day := detectors.Day
	cases := []struct {
		span detectors.Micros
		want int
	}{{0, 1}, {1, 1}, {day, 1}, {day + 1, 2}, {3 * day, 3}}
	for _, c := range cases {
		if got := (Period{Start: 0, End: c.span}).Days(); got != c.want {
			t.Errorf("span %d: %d days, want %d", c.span, got, c.want)
		}
	}
}
