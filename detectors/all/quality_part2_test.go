package all_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fds-dev/fds/datasets/synth"
	"github.com/fds-dev/fds/detectors"
)

// The second part of the catalogue: momentum ignition, liquidation hunts and funding
// manipulation, measured like the others with evaluate and match (quality_test.go).
var part2 = []string{"momentum_ignition", "liquidation_hunt", "funding_manipulation"}

// TestQualityPart2OnDefaultPreset is the quality bar of docs/detectors.md for these detectors: at
// default parameters on the default preset, precision and recall of at least 0.9 on seeds 1 and 2.
func TestQualityPart2OnDefaultPreset(t *testing.T) {
	if testing.Short() {
		t.Skip("generates two 2M-event markets; TestQualityPart2Small is the fast variant")
	}
	for _, seed := range []uint64{1, 2} {
		got := evaluate(t, synth.Config{Seed: seed}, part2)
		for _, n := range part2 {
			q := got[n]
			t.Logf("default seed %d %-21s TP %3d FP %3d (dup %d) FN %3d  P %.3f R %.3f F1 %.3f", seed, n, q.tp, q.fp, q.dup, q.fn, q.precision, q.recall, q.f1)
			if q.tp+q.fn < 10 {
				t.Errorf("seed %d %s: only %d incidents in the default market", seed, n, q.tp+q.fn)
			}
			if q.precision < 0.9 || q.recall < 0.9 {
				t.Errorf("seed %d %s: precision %.3f recall %.3f, want both >= 0.9", seed, n, q.precision, q.recall)
			}
		}
	}
}

// TestQualityPart2HardPreset: subtler episodes and more look-alikes; the bar is F1 >= 0.8.
func TestQualityPart2HardPreset(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a 2M-event market")
	}
	got := evaluate(t, synth.Config{Seed: 1, Preset: "hard"}, part2)
	for _, n := range part2 {
		q := got[n]
		t.Logf("hard seed 1 %-21s TP %3d FP %3d (dup %d) FN %3d  P %.3f R %.3f F1 %.3f", n, q.tp, q.fp, q.dup, q.fn, q.precision, q.recall, q.f1)
		if q.f1 < 0.8 {
			t.Errorf("hard %s: F1 %.3f, want >= 0.8", n, q.f1)
		}
	}
}

// TestQualityPart2Small is the fast check on the small preset (6 minutes of market, one
// settlement): the detectors find its few episodes. Precision is only logged: the small preset's
// 40 retail accounts trade so often that their own round trips around a settlement or a burst are
// frequent, which the 2-hour presets do not share.
func TestQualityPart2Small(t *testing.T) {
	got := evaluate(t, synth.Config{Seed: 3, Preset: "small"}, part2)
	incidents, found := 0, 0
	for _, n := range part2 {
		q := got[n]
		t.Logf("small seed 3 %-21s TP %d FP %d FN %d", n, q.tp, q.fp, q.fn)
		incidents += q.tp + q.fn
		found += q.tp
	}
	// Seed 3 holds one ignition, one hunt and two funding episodes (counted by hand from the
	// generator's summary); all four are found.
	if incidents < 3 || found < incidents {
		t.Errorf("found %d of %d incidents on the small preset", found, incidents)
	}
}

// TestPart2SurviveOddEvents feeds seeded random events with odd values (zero, negative, NaN and
// infinite prices and quantities, unknown sides, empty accounts, funding marks at random) to
// these detectors at min_score 0: nothing may panic, and every score is a finite number in [0, 1].
func TestPart2SurviveOddEvents(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	odd := []float64{0, -1, 1, 100, 1e-12, 1e12, math.NaN(), math.Inf(1), math.Inf(-1)}
	accounts := []string{"", "A", "B", "C"}
	env := detectors.Env{Accounts: map[string]detectors.Account{"A": {AccountID: "A", OwnerGroup: "g"}, "B": {AccountID: "B", OwnerGroup: "g"}}}
	for _, name := range part2 {
		d, _, err := detectors.Build(name, map[string]float64{"min_score": 0}, env)
		if err != nil {
			t.Fatal(err)
		}
		check := func(a detectors.Alert) {
			if !(a.Score >= 0 && a.Score <= 1) {
				t.Fatalf("%s: score %v", name, a.Score)
			}
		}
		var ev detectors.Event
		for i := 0; i < 50_000; i++ {
			pick := func() float64 { return odd[rng.IntN(len(odd))] }
			side := detectors.Side(rng.IntN(3) - 1)
			ev = detectors.Event{TS: int64(i) * 100 * detectors.Millisecond, Symbol: "X", Kind: detectors.Kind(1 + rng.IntN(4)), Seq: int64(i)}
			ev.Trade = detectors.Trade{TradeID: int64(i), Price: pick(), Qty: pick(), TakerSide: side,
				MakerAccount: accounts[rng.IntN(4)], TakerAccount: accounts[rng.IntN(4)], TakerOrderID: int64(rng.IntN(5))}
			ev.Mark = detectors.Mark{MarkPrice: pick(), IndexPrice: pick(), FundingRate: pick(), HasFunding: rng.IntN(50) == 0}
			ev.Liquidation = detectors.Liquidation{Account: accounts[rng.IntN(4)], Side: side, Qty: pick(), Price: pick()}
			d.OnEvent(&ev, check)
		}
		d.Flush(check)
	}
}

// BenchmarkPart2Detectors replays one in-memory default-preset market of about 500k events through
// each of these detectors; events/s is the figure to watch.
func BenchmarkPart2Detectors(b *testing.B) {
	g, err := synth.New(synth.Config{Seed: 1, Events: 500_000})
	if err != nil {
		b.Fatal(err)
	}
	var evs []detectors.Event
	if _, err := g.Run(func(ev *detectors.Event) error { evs = append(evs, *ev); return nil }); err != nil {
		b.Fatal(err)
	}
	env := detectors.Env{Accounts: g.AccountMap()}
	for _, name := range part2 {
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
