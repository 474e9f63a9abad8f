package quotestuffing

import (
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/detectors/scripttest"
)

func TestScripts(t *testing.T) { scripttest.RunDir(t, "testdata") }

// build returns the single layer of a group of one configuration.
func build(t *testing.T, values map[string]float64) *layer {
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

// TestStateIsBounded sends orders of many accounts, one burst each, and checks that idle accounts
// are forgotten, that max_accounts caps them in between, that a window never holds more than
// max_window_messages and that the fleeting bookkeeping follows the orders of the last `fleeting`.
func TestStateIsBounded(t *testing.T) {
	d := build(t, map[string]float64{"baseline": 100, "max_accounts": 100, "max_window_messages": 50, "gap": 1})
	ev := detectors.Event{Symbol: "X", Kind: detectors.KindOrder}
	alerts := 0
	emit := func(int, detectors.Alert) { alerts++ }
	// The symbol's first order, long before: a burst at the very start of an input cannot be told
	// from the account's usual rate (the weight of its history is a window at most).
	ev.Order = detectors.Order{Account: "m", OrderID: 1, Event: detectors.OrderNew, Side: detectors.Sell, Type: detectors.Limit, Price: 101, Qty: 1, LeavesQty: 1}
	d.OnEvent(&ev, emit)
	start := 1000 * detectors.Second
	id := int64(1)
	for i := 0; i < 2000; i++ {
		acct := fmt.Sprintf("a%04d", i)
		for k := 0; k < 80; k++ { // 80 orders in 0.8 s, each cancelled 1 ms later
			id++
			ev.TS = start + int64(i)*detectors.Second + int64(k)*10*detectors.Millisecond
			ev.Order = detectors.Order{Account: acct, OrderID: id, Event: detectors.OrderNew, Side: detectors.Buy, Type: detectors.Limit, Price: 99, Qty: 1, LeavesQty: 1}
			d.OnEvent(&ev, emit)
			ev.TS += detectors.Millisecond
			ev.Order.Event, ev.Order.LeavesQty = detectors.OrderCancel, 0
			d.OnEvent(&ev, emit)
		}
		if n := len(d.symbols["X"].accounts); n > 100 || n != d.nAccounts {
			t.Fatalf("%d accounts tracked (count %d), cap 100", n, d.nAccounts)
		}
		for _, a := range d.symbols["X"].accounts {
			if a.n > 50 || len(a.window) > 128 {
				t.Fatalf("window of %d messages (ring %d), cap 50", a.n, len(a.window))
			}
		}
		// Each order is cancelled (and forgotten) 1 ms after placement; m's lasts until its
		// generation is dropped.
		if d.recent.Len() > 2 {
			t.Fatalf("%d fleeting candidates", d.recent.Len())
		}
	}
	d.Flush(emit)
	// Each account bursts once, a second after the previous one, with gap=1 s: one episode each,
	// judged two accounts later (or by Flush). Accounts are forgotten 5·baseline = 500 s after
	// their last order, so about 500 would be tracked at once: the cap of 100 drops the others,
	// every message of theirs ignored.
	if d.dropped == 0 {
		t.Fatalf("no account dropped: the cap was not exercised")
	}
	if alerts == 0 || alerts > 2000 {
		t.Errorf("%d alerts", alerts)
	}
}

// TestSettledIsExact checks the shortcut in settled against the formula it replaces, 1 − exp(−x),
// bit for bit, around and beyond the threshold x = 38 (and below it, where it is the formula).
func TestSettledIsExact(t *testing.T) {
	for _, x := range []float64{0, 1e-9, 0.5, 1, 10, 36, 37, 37.4, 37.5, 37.9, 38, 38.0000001, 40, 100, 1e6} {
		if got, want := settled(x), 1-math.Exp(-x); got != want {
			t.Errorf("settled(%v) = %v, want %v", x, got, want)
		}
	}
}

// TestGroupMatchesSeparateConfigurations runs configurations that share a layer and differ in
// the score's scales and the evidence cap (and two values of min_messages, two layers) as one
// group and each as a group of its own, on bursts of fleeting orders: each configuration must get
// exactly its separate instance's alerts, and the layers must be shared as the key says.
func TestGroupMatchesSeparateConfigurations(t *testing.T) {
	s, _ := detectors.Lookup(Name)
	var grid []detectors.Params
	for _, minMessages := range []float64{10, 60} {
		for _, countScale := range []float64{5, 50} {
			for _, maxEvidence := range []float64{0, 3, 200} {
				p, err := s.Resolve(map[string]float64{"min_messages": minMessages, "count_scale": countScale,
					"max_evidence_orders": maxEvidence, "ratio_scale": countScale / 10, "gap": 5})
				if err != nil {
					t.Fatal(err)
				}
				grid = append(grid, p)
			}
		}
	}
	// Events: a quiet account opens the symbol; then three accounts burst 20, 50 and 80 new
	// orders in 10 ms steps, each cancelled 1 ms later, one burst every 10 s (gap 5 s closes each
	// episode at the next burst's first order); a last order closes the final episode.
	var events []detectors.Event
	add := func(ts detectors.Micros, acct string, id int64, typ detectors.OrderEvent) {
		events = append(events, detectors.Event{TS: ts, Symbol: "X", Kind: detectors.KindOrder, Order: detectors.Order{
			Account: acct, OrderID: id, Event: typ, Side: detectors.Buy, Type: detectors.Limit, Price: 100, Qty: 1, LeavesQty: 1}})
	}
	add(0, "m", 1, detectors.OrderNew)
	id := int64(1)
	for b, n := range []int{20, 50, 80} {
		acct := fmt.Sprintf("s%d", b)
		for k := 0; k < n; k++ {
			id++
			ts := 1000*detectors.Second + int64(b)*10*detectors.Second + int64(k)*10*detectors.Millisecond
			add(ts, acct, id, detectors.OrderNew)
			add(ts+detectors.Millisecond, acct, id, detectors.OrderCancel)
		}
	}
	add(2000*detectors.Second, "m", id+1, detectors.OrderNew)

	run := func(ps []detectors.Params) ([][]detectors.Alert, *group) {
		g, err := newGroup(ps, detectors.Env{})
		if err != nil {
			t.Fatal(err)
		}
		out := make([][]detectors.Alert, len(ps))
		emit := func(i int, a detectors.Alert) { out[i] = append(out[i], a) }
		for k := range events {
			ev := events[k]
			g.OnEvent(&ev, emit)
		}
		g.Flush(emit)
		return out, g.(*group)
	}
	grouped, g := run(grid)
	if len(g.Layers) != 2 {
		t.Fatalf("%d layers, want 2 (one per min_messages)", len(g.Layers))
	}
	scores := map[float64]bool{}
	for i, p := range grid {
		separate, _ := run([]detectors.Params{p})
		if !reflect.DeepEqual(grouped[i], separate[0]) {
			t.Errorf("configuration %d %v: group %+v, separate %+v", i, p, grouped[i], separate[0])
		}
		// min_messages 10 sees all three bursts, 60 the two larger ones (hand count: a burst of
		// n orders is 2n messages, new and cancel, within a second: 40, 100 and 160).
		want := 3
		if p.Int("min_messages") == 60 {
			want = 2
		}
		if len(grouped[i]) != want {
			t.Errorf("configuration %d: %d alerts, want %d", i, len(grouped[i]), want)
		}
		for _, a := range grouped[i] {
			scores[a.Score] = true
			if ids := a.Evidence.OrderIDs; len(ids) > p.Int("max_evidence_orders") || (p.Int("max_evidence_orders") == 0) != (ids == nil) {
				t.Errorf("configuration %d: %d evidence ids with a cap of %d", i, len(ids), p.Int("max_evidence_orders"))
			}
		}
	}
	if len(scores) < 4 {
		t.Errorf("%d distinct scores: the configurations' scales did not apply", len(scores))
	}
}
