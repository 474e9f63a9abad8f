package all_test

import (
	"testing"

	"github.com/fds-dev/fds/datasets/synth"
	"github.com/fds-dev/fds/detectors"
)

// part1 are the detectors of the catalogue's first part, with wash_trade extended to linked
// accounts; their quality bar is the issue's: precision and recall of at least 0.9 at default
// parameters on the default preset (seeds 1 and 2), F1 of at least 0.8 on the hard preset.
var part1 = []string{"wash_trade", "collusion", "layering", "quote_stuffing", "front_running"}

// registeredPart1 returns the part-1 detectors that are registered (each arrives in its own
// commit; the bar applies to every one that exists).
func registeredPart1(t *testing.T) []string {
	var out []string
	for _, n := range part1 {
		if _, ok := detectors.Lookup(n); ok {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		t.Fatal("no part-1 detector is registered")
	}
	return out
}

func TestQualityPart1DefaultPreset(t *testing.T) {
	if testing.Short() {
		t.Skip("generates two 2M-event markets; TestQualityPart1Small is the fast variant")
	}
	names := registeredPart1(t)
	for _, seed := range []uint64{1, 2} {
		got := evaluate(t, synth.Config{Seed: seed}, names)
		for _, n := range names {
			q := got[n]
			t.Logf("default seed %d %-15s TP %3d FP %3d (dup %d) FN %3d  P %.3f R %.3f F1 %.3f", seed, n, q.tp, q.fp, q.dup, q.fn, q.precision, q.recall, q.f1)
			if q.tp+q.fn == 0 {
				t.Errorf("seed %d: the default preset has no %s episodes", seed, n)
			}
			if q.precision < 0.9 || q.recall < 0.9 {
				t.Errorf("seed %d %s: precision %.3f recall %.3f, want both >= 0.9", seed, n, q.precision, q.recall)
			}
		}
	}
}

func TestQualityPart1HardPreset(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a 2M-event market")
	}
	names := registeredPart1(t)
	got := evaluate(t, synth.Config{Seed: 1, Preset: "hard"}, names)
	for _, n := range names {
		q := got[n]
		t.Logf("hard seed 1 %-15s TP %3d FP %3d (dup %d) FN %3d  P %.3f R %.3f F1 %.3f", n, q.tp, q.fp, q.dup, q.fn, q.precision, q.recall, q.f1)
		if q.f1 < 0.8 {
			t.Errorf("hard %s: F1 %.3f (precision %.3f recall %.3f), want >= 0.8", n, q.f1, q.precision, q.recall)
		}
	}
}

// TestQualityPart1Small is the fast variant: the small preset (a few episodes of each kind).
func TestQualityPart1Small(t *testing.T) {
	names := registeredPart1(t)
	got := evaluate(t, synth.Config{Seed: 3, Preset: "small"}, names)
	for _, n := range names {
		q := got[n]
		t.Logf("small seed 3 %-15s TP %d FP %d FN %d", n, q.tp, q.fp, q.fn)
		if q.tp+q.fn == 0 {
			t.Errorf("%s: the small preset has no episodes", n)
		}
		if n == "front_running" {
			// Its selectivity needs activity_window (600 s) of a symbol's history before it trusts
			// that an account seen only in the pattern trades only in it: the small market lasts
			// six minutes, so only the absence of false alerts is checked here.
			if q.fp > 0 {
				t.Errorf("%s: %d false alerts on the small preset", n, q.fp)
			}
			continue
		}
		if q.precision < 0.7 || q.recall < 0.7 {
			t.Errorf("%s: precision %.3f recall %.3f on the small preset, want >= 0.7", n, q.precision, q.recall)
		}
	}
}

// BenchmarkPart1Detectors replays one in-memory default-preset market of about 500k events
// through each part-1 detector; events/s is the figure to watch.
func BenchmarkPart1Detectors(b *testing.B) {
	g, err := synth.New(synth.Config{Seed: 1, Events: 500_000})
	if err != nil {
		b.Fatal(err)
	}
	var evs []detectors.Event
	if _, err := g.Run(func(ev *detectors.Event) error { evs = append(evs, *ev); return nil }); err != nil {
		b.Fatal(err)
	}
	env := detectors.Env{Accounts: g.AccountMap()}
	for _, name := range part1 {
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				d, _, err := detectors.Build(name, nil, env)
				if err != nil {
					b.Fatal(err)
				}
				var ev detectors.Event
				for j := range evs {
					ev = evs[j]
					d.OnEvent(&ev, func(detectors.Alert) {})
				}
				d.Flush(func(detectors.Alert) {})
			}
			b.ReportMetric(float64(len(evs)*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
