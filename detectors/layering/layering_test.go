package layering

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/detectors/scripttest"
)

func TestScripts(t *testing.T) { scripttest.RunDir(t, "testdata") }

func build(t *testing.T, values map[string]float64) *detector {
	t.Helper()
	s, ok := detectors.Lookup(Name)
	if !ok {
		t.Fatal("not registered")
	}
	p, err := s.Resolve(values)
	if err != nil {
		t.Fatal(err)
	}
	g, err := newGroup([]detectors.Params{p}, detectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return g.(*group).Layers[0]
}

// TestStateIsBounded places orders of many accounts that are never cancelled, and clusters of
// cancels, and checks the caps and horizons: live orders, accounts and pending clusters.
func TestStateIsBounded(t *testing.T) {
	d := build(t, map[string]float64{"order_horizon": 10, "max_open_orders": 500, "warmup_orders": 0})
	ev := detectors.Event{Symbol: "X", Kind: detectors.KindOrder}
	for i := 0; i < 20_000; i++ {
		ev.TS = int64(i) * 10 * detectors.Millisecond
		acct := fmt.Sprintf("a%03d", i%300)
		ev.Order = detectors.Order{Account: acct, OrderID: int64(i + 1), Event: detectors.OrderNew, Side: detectors.Buy,
			Type: detectors.Limit, Price: 100 - float64(i%10)*0.1, Qty: 1, LeavesQty: 1}
		d.OnEvent(&ev, func(int, detectors.Alert) { t.Fatal("unexpected alert") })
		if i%3 == 0 {
			// cancel an order placed 50 ms ago: clusters of one account's cancels
			ev.Order.Event, ev.Order.OrderID, ev.Order.LeavesQty = detectors.OrderCancel, int64(i-4), 0
			ev.Order.Account = fmt.Sprintf("a%03d", (i-5+300)%300)
			d.OnEvent(&ev, func(int, detectors.Alert) { t.Fatal("unexpected alert") })
		}
		if d.open > 500 {
			t.Fatalf("open %d, cap 500", d.open)
		}
		if s := d.symbols["X"]; len(s.pending) > 400 {
			t.Fatalf("%d pending clusters", len(s.pending))
		}
	}
	// Orders are forgotten 10 s after placement: 1000 of them at most, capped at 500.
	if n := len(d.symbols["X"].orders); n > 500 || n != d.open {
		t.Errorf("%d live orders (count %d)", n, d.open)
	}
	// Accounts hold recent placements only: at most the last 32 s (max_lifetime+cancel_window+grace).
	for _, a := range d.symbols["X"].accounts {
		if n := len(a.placements.buf); n > 3300/300+200 {
			t.Fatalf("account %s keeps %d placements", a.k.account, n)
		}
	}
}

// TestForgettingVisitsEveryIdleAccount checks the claim behind the sweep's queue of accounts by
// last activity: right after each sweep, no account that a visit of every account would forget
// (idle before the cut, nothing resting, no open cluster) is still kept, unless it changed
// during that very event after the sweep (then it is queued for the next sweep's recheck). The
// script is seeded and random: 40 accounts over two symbols, new orders (quantities such as 0.1
// and 0.2, whose sums leave rounding residues), cancels in clusters, fills, amends, trades,
// pauses longer than the 32 s of recent activity, and a 20 s order horizon that forgets resting
// orders of idle accounts.
func TestForgettingVisitsEveryIdleAccount(t *testing.T) {
	d := build(t, map[string]float64{"order_horizon": 20, "warmup_orders": 0})
	rng := rand.New(rand.NewPCG(8, 8))
	type live struct {
		acct, symbol string
		id           int64
		leaves       float64
	}
	var open []live
	ts := detectors.Micros(0)
	nextID := int64(1)
	seen := map[*account]bool{}
	for i := 0; i < 30_000; i++ {
		ts += detectors.Micros(rng.IntN(400)) * detectors.Millisecond
		if rng.IntN(500) == 0 {
			ts += 40 * detectors.Second // a pause: accounts go idle
		}
		sym := []string{"X", "Y"}[rng.IntN(2)]
		ev := detectors.Event{TS: ts, Symbol: sym, Kind: detectors.KindOrder}
		acct := fmt.Sprintf("a%02d", rng.IntN(40))
		switch r := rng.IntN(10); {
		case r < 5 || len(open) == 0:
			qty := float64(1+rng.IntN(3)) / 10
			ev.Order = detectors.Order{Account: acct, OrderID: nextID, Event: detectors.OrderNew, Side: detectors.Side(1 - 2*rng.IntN(2)),
				Type: detectors.Limit, Price: 100 + float64(rng.IntN(10)), Qty: qty, LeavesQty: qty}
			open = append(open, live{acct, sym, nextID, qty})
			nextID++
		case r < 8:
			j := rng.IntN(len(open))
			o := open[j]
			ev.Symbol, ev.Order = o.symbol, detectors.Order{Account: o.acct, OrderID: o.id, Event: detectors.OrderCancel}
			open = append(open[:j], open[j+1:]...)
		case r < 9:
			j := rng.IntN(len(open))
			o := &open[j]
			fill := o.leaves / 2
			o.leaves -= fill
			ev.Symbol, ev.Order = o.symbol, detectors.Order{Account: o.acct, OrderID: o.id, Event: detectors.OrderFill, Qty: fill, LeavesQty: o.leaves}
		default:
			ev.Kind = detectors.KindTrade
			ev.Trade = detectors.Trade{TradeID: int64(i), Price: 100, Qty: 0.1, TakerSide: detectors.Buy, TakerAccount: acct,
				MakerAccount: fmt.Sprintf("a%02d", rng.IntN(40))}
		}
		s0 := d.symbols[ev.Symbol]
		before := detectors.Micros(-1)
		if s0 != nil {
			before = s0.nextSweep
		}
		d.OnEvent(&ev, func(int, detectors.Alert) {})
		s := d.symbols[ev.Symbol]
		if s.nextSweep == before {
			continue // no sweep at this event
		}
		for name, a := range s.accounts {
			seen[a] = true
			if a.last < s.cut && a.clusters[0] == nil && a.clusters[1] == nil && a.resting[0] <= 1e-12 && a.resting[1] <= 1e-12 && !a.recheck {
				t.Fatalf("event %d (ts %d): account %s of %s is idle since %d (cut %d) with nothing resting, and kept", i, ts, name, ev.Symbol, a.last, s.cut)
			}
		}
	}
	// The script must exercise the forgetting: accounts were forgotten (and came back).
	forgotten := 0
	for a := range seen {
		if a.forgotten {
			forgotten++
		}
	}
	t.Logf("%d accounts forgotten", forgotten)
	if forgotten < 10 {
		t.Fatal("no account was ever forgotten: the script does not test the forgetting")
	}
}

// TestRecentKeepsWhatACutLeaves drives an account's recent executions with a seeded mix of
// appends and advancing cuts (quiet spells, bursts) and checks after each append that the live
// entries are exactly those of a plain model at or after the cut, in order, and that whenever
// the array is compacted or replaced it is within a small multiple of the live count.
func TestRecentKeepsWhatACutLeaves(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	var r recent[execution]
	var model []execution
	ts, cut := detectors.Micros(0), detectors.Micros(0)
	for i := 0; i < 20_000; i++ {
		ts += detectors.Micros(rng.IntN(100))
		if rng.IntN(50) == 0 {
			cut = max(cut, ts-detectors.Micros(rng.IntN(3000))) // the cut never moves back
		}
		x := execution{ts: ts, tradeID: int64(i)}
		full := len(r.buf) == cap(r.buf)
		r.add(x, cut)
		kept := model[:0:0]
		for _, m := range model {
			if m.ts >= cut {
				kept = append(kept, m)
			}
		}
		model = append(kept, x)
		live := r.live()
		if len(live) != len(model) {
			t.Fatalf("step %d: %d live, want %d", i, len(live), len(model))
		}
		for j := range live {
			if live[j] != model[j] {
				t.Fatalf("step %d: entry %d is %+v, want %+v", i, j, live[j], model[j])
			}
		}
		if full && cap(r.buf) > 8*max(len(live), 4) {
			t.Fatalf("step %d: array of %d for %d live entries", i, cap(r.buf), len(live))
		}
	}
}

// TestGroupSharesStateByStateParameters checks how a group splits its configurations: those
// equal in every state parameter share one layer (one order book), whatever their filters,
// scales and episode gaps, and each keeps its own index for its alerts.
func TestGroupSharesStateByStateParameters(t *testing.T) {
	s, _ := detectors.Lookup(Name)
	values := []map[string]float64{
		{},                                  // layer 0
		{"min_levels": 4, "size_scale": 20}, // layer 0: filter and scale only
		{"order_horizon": 60},               // layer 1: another order horizon
		{"episode_gap": 10, "min_layer_ratio": 8}, // layer 0: episodes and filter only
		{"order_horizon": 60, "levels_scale": 5},  // layer 1
		{"typical_halflife": 50},                  // layer 2: another typical size
	}
	ps := make([]detectors.Params, len(values))
	for i, v := range values {
		p, err := s.Resolve(v)
		if err != nil {
			t.Fatal(err)
		}
		ps[i] = p
	}
	g, err := newGroup(ps, detectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{0, 1, 3}, {2, 4}, {5}}
	layers := g.(*group).Layers
	if len(layers) != len(want) {
		t.Fatalf("%d layers, want %d", len(layers), len(want))
	}
	for l, d := range layers {
		var got []int
		for _, cfg := range d.configs {
			got = append(got, cfg.index)
		}
		if fmt.Sprint(got) != fmt.Sprint(want[l]) {
			t.Errorf("layer %d holds configurations %v, want %v", l, got, want[l])
		}
	}
	if layers[0].minLevels != 3 {
		t.Errorf("layer 0 least min_levels %d, want 3 (the default's)", layers[0].minLevels)
	}
}
