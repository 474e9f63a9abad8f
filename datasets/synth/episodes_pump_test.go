package synth

import (
	"crypto/sha256"
	"fmt"
	"math"
	"testing"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/detectors/pumpdump"
)

// pumpMarket is a one-symbol default-preset market long enough for a pump after the detector's
// warm-up: the thin alt for about 76 minutes (80 000 events / (117 events/s · activity 0.15)).
// Every episode of the catalogue lands on that one symbol, so its baseline is far noisier than
// in a real default market: it serves the determinism test.
func pumpMarket(seed uint64) Config {
	return Config{Seed: seed, Preset: "default", Symbols: []string{"WIFUSDT"}, Events: 80_000}
}

// pumpFullMarket is the default market (four symbols) cut to about 70 minutes (1.2 M events /
// (117 events/s · total activity 2.45)): pumps fit between 45 and 60 minutes.
func pumpFullMarket(seed uint64) Config {
	return Config{Seed: seed, Preset: "default", Events: 1_200_000}
}

// runPumpMarket runs a market and keeps its events (only the trades with tradesOnly: the pump
// test needs no more, and the full market's orders would cost memory and time).
func runPumpMarket(t *testing.T, cfg Config, tradesOnly bool) (*Generator, []detectors.Event) {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var evs []detectors.Event
	keep := func(ev *detectors.Event) error {
		if !tradesOnly || ev.Kind == detectors.KindTrade {
			evs = append(evs, *ev)
		}
		return nil
	}
	if _, err := g.Run(keep); err != nil {
		t.Fatal(err)
	}
	return g, evs
}

func pumpLabels(g *Generator) []datasets.Incident {
	var out []datasets.Incident
	for _, l := range g.Labels() {
		if l.Type == detectors.PumpAndDump {
			out = append(out, l)
		}
	}
	return out
}

// TestPumpLabelsMatchEvents checks that each pump label covers a burst of buy rush orders far
// above the symbol's normal flow with a price rise of several percent, that its accounts
// accumulated before it and sold in it, and that the pump_and_dump detector at its defaults sees
// it (the generator's purpose).
func TestPumpLabelsMatchEvents(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		g, evs := runPumpMarket(t, pumpFullMarket(seed), true)
		pumps := pumpLabels(g)
		if len(pumps) == 0 {
			t.Fatalf("seed %d: no pump_and_dump label", seed)
		}
		t.Logf("seed %d: %d pumps", seed, len(pumps))
		const chunk = 25 * detectors.Second // the detector's default chunk
		for _, l := range pumps {
			sym := l.Symbol
			if l.Start < g.Start()+pumpEarliest {
				t.Errorf("seed %d %s: starts %v after the market's start, before the detector's warm-up", seed, l.ID, l.Start-g.Start())
			}
			// Buy rush orders (distinct milliseconds with a buy trade) per epoch-aligned chunk.
			rush := map[detectors.Micros]map[detectors.Micros]bool{}
			lastBefore, high := 0.0, 0.0
			bought, sold := map[string]float64{}, map[string]float64{}
			for i := range evs {
				ev := &evs[i]
				if ev.Kind != detectors.KindTrade || ev.Symbol != sym {
					continue
				}
				tr := &ev.Trade
				if ev.TS < l.Start {
					lastBefore = tr.Price
				}
				in := ev.TS >= l.Start && ev.TS <= l.End
				if in {
					high = math.Max(high, tr.Price)
				}
				buyer, seller := tr.TakerAccount, tr.MakerAccount
				if tr.TakerSide == detectors.Sell {
					buyer, seller = seller, buyer
				}
				if ev.TS < l.Start {
					bought[buyer] += tr.Qty
					bought[seller] -= tr.Qty
				} else if in {
					sold[seller] += tr.Qty
					sold[buyer] -= tr.Qty
				}
				if tr.TakerSide == detectors.Buy && ev.TS >= l.Start-30*detectors.Minute && ev.TS <= l.End {
					c := ev.TS / chunk
					if rush[c] == nil {
						rush[c] = map[detectors.Micros]bool{}
					}
					rush[c][ev.TS/detectors.Millisecond] = true
				}
			}
			var base []float64
			best := 0
			for c := (l.Start - 30*detectors.Minute) / chunk; c <= l.End/chunk; c++ {
				if (c+1)*chunk <= l.Start {
					base = append(base, float64(len(rush[c])))
				} else {
					best = max(best, len(rush[c]))
				}
			}
			mean, sd := meanSD(base)
			// Knobs: z of the rush orders 35-60 over at most 15 s, so the best chunk holds at
			// least half the burst (z ≥ 17); other episodes add noise to the baseline: want z ≥ 12.
			if z := (float64(best) - mean) / (sd + 1); z < 12 {
				t.Errorf("seed %d %s: best chunk has %d buy rush orders, baseline %.1f±%.1f (z %.1f < 12)", seed, l.ID, best, mean, sd, z)
			}
			// Knobs: rise 5-12 %; the market makers' half spread and the random walk take a little.
			if ret := high/lastBefore - 1; ret < 0.04 {
				t.Errorf("seed %d %s: high %.4f over last price %.4f is %.3f, want ≥ 0.04", seed, l.ID, high, lastBefore, ret)
			}
			if len(l.Accounts) == 0 {
				t.Errorf("seed %d %s: no organiser accounts", seed, l.ID)
			}
			for _, a := range l.Accounts {
				if bought[a] <= 0 || sold[a] <= 0 {
					t.Errorf("seed %d %s: organiser %s net bought %.1f before and sold %.1f in the pump, want both > 0", seed, l.ID, a, bought[a], sold[a])
				}
			}
		}

		// The detector at its defaults alerts on each pump, naming an organiser.
		spec, _ := detectors.Lookup(pumpdump.Name)
		params, err := spec.Resolve(nil)
		if err != nil {
			t.Fatal(err)
		}
		d := pumpdump.New(params)
		var alerts []detectors.Alert
		emit := func(a detectors.Alert) { alerts = append(alerts, a) }
		for i := range evs {
			d.OnEvent(&evs[i], emit)
		}
		d.Flush(emit)
		for _, l := range pumps {
			found := false
			for _, a := range alerts {
				if a.Symbol == l.Symbol && a.Score >= spec.DefaultMinScore && a.TS >= l.Start-detectors.Minute && a.TS <= l.End+5*detectors.Minute &&
					len(a.Accounts) > 0 && overlapAccounts(a.Accounts, l.Accounts) {
					found = true
				}
			}
			if !found {
				t.Errorf("seed %d %s: no pump_and_dump alert naming an organiser (alerts: %+v)", seed, l.ID, alerts)
			}
		}
	}
}

func meanSD(xs []float64) (float64, float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	var s, ss float64
	for _, x := range xs {
		s += x
		ss += x * x
	}
	n := float64(len(xs))
	m := s / n
	return m, math.Sqrt(math.Max(ss/n-m*m, 0))
}

func overlapAccounts(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// TestPumpMarketDeterministic: same config, same events and labels; another seed, other ones.
func TestPumpMarketDeterministic(t *testing.T) {
	digest := func(seed uint64) string {
		g, evs := runPumpMarket(t, pumpMarket(seed), false)
		h := sha256.New()
		for i := range evs {
			fmt.Fprintf(h, "%+v\n", evs[i])
		}
		fmt.Fprintf(h, "%+v\n", g.Labels())
		return fmt.Sprintf("%x", h.Sum(nil))
	}
	a, b, c := digest(1), digest(1), digest(2)
	if a != b {
		t.Errorf("seed 1 twice: %s != %s", a, b)
	}
	if a == c {
		t.Errorf("seeds 1 and 2 gave the same market")
	}
}

// TestPumpKnobsSmallHasNone: the small preset's market is minutes long, shorter than the
// detector's warm-up, so it plans no pumps.
func TestPumpKnobsSmallHasNone(t *testing.T) {
	if k := pumpKnobsOf("small"); k.pumps != 0 || k.rallies != 0 || k.whaleBuys != 0 {
		t.Errorf("small preset plans pumps: %+v", k)
	}
	if k, d := pumpKnobsOf("hard"), pumpKnobsOf("default"); k.riseMax >= d.riseMax || k.zRushMin >= d.zRushMin ||
		k.zRushMax >= d.zRushMax || k.zNotionalMin >= d.zNotionalMin || k.zNotionalMax >= d.zNotionalMax {
		t.Errorf("hard pumps not subtler than default: %+v", k)
	}
}
