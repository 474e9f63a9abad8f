package collusion

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/detectors/scripttest"
)

func TestScripts(t *testing.T) { scripttest.RunDir(t, "testdata") }

// build returns the single layer of a group of one configuration.
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

// TestStateIsBounded trades many distinct pairs and checks the caps and horizons: open
// episodes, account notionals and the recent orders.
func TestStateIsBounded(t *testing.T) {
	d := build(t, map[string]float64{"max_pairs": 100, "max_accounts": 500, "window": 10, "gap": 5, "match_window": 1})
	ev := detectors.Event{Symbol: "X"}
	alerts := 0
	emit := func(int, detectors.Alert) { alerts++ }
	for i := 0; i < 20_000; i++ {
		ev.TS = int64(i) * 100 * detectors.Millisecond
		ev.Kind = detectors.KindOrder
		ev.Order = detectors.Order{Account: fmt.Sprintf("m%05d", i), OrderID: int64(2 * i), Event: detectors.OrderNew, Side: detectors.Sell,
			Type: detectors.Limit, Price: 100, Qty: 1, LeavesQty: 1}
		d.OnEvent(&ev, emit)
		ev.Kind = detectors.KindTrade
		// Two fills of the pair: a single trade is no pattern and raises nothing.
		for f := int64(0); f < 2; f++ {
			ev.Trade = detectors.Trade{TradeID: 2*int64(i) + f, Price: 100, Qty: 0.5, TakerSide: detectors.Buy, MakerAccount: ev.Order.Account,
				TakerAccount: fmt.Sprintf("t%05d", i), MakerOrderID: int64(2 * i), TakerOrderID: int64(2*i + 1)}
			d.OnEvent(&ev, emit)
		}
		if len(d.episodes) > 100 || d.nFlows > 500 {
			t.Fatalf("%d episodes (cap 100), %d notionals (cap 500)", len(d.episodes), d.nFlows)
		}
		// Two generations of one match window each at 10 orders a second: at most 20.
		if d.recent.Len() > 20 {
			t.Fatalf("%d recent orders kept for a 1 s match window at 10 orders a second", d.recent.Len())
		}
	}
	d.Flush(emit)
	// A new pair every 100 ms, each episode judged 5 s after its trade: about 50 open at once.
	if alerts+int(d.dropped) != 20_000 {
		t.Errorf("%d alerts + %d dropped, want one per pair", alerts, d.dropped)
	}
}

// TestEpisodesCloseInOpeningOrder opens four pair episodes (AB, CD, EF, GH, one second apart)
// and trades AB again at 4 s, so that the order of last trades (CD, EF, GH, AB) differs from the
// opening order, and checks what closes when (gap 10 s): CD alone at 11 s; then EF, GH and AB
// due together at 14 s, in opening order (AB, EF, GH); nothing at any other event.
func TestEpisodesCloseInOpeningOrder(t *testing.T) {
	d := build(t, map[string]float64{"gap": 10})
	var closed []string
	emit := func(_ int, a detectors.Alert) { closed = append(closed, a.Accounts[0]+a.Accounts[1]) }
	// Two fills at a time: a single trade is no pattern and raises nothing.
	trade := func(ts detectors.Micros, maker, taker string) {
		for f := int64(0); f < 2; f++ {
			ev := detectors.Event{TS: ts, Symbol: "X", Kind: detectors.KindTrade, Trade: detectors.Trade{
				TradeID: 2*ts + f, Price: 100, Qty: 1, TakerSide: detectors.Buy, MakerAccount: maker, TakerAccount: taker}}
			d.OnEvent(&ev, emit)
		}
	}
	mark := func(ts detectors.Micros) {
		ev := detectors.Event{TS: ts, Symbol: "X", Kind: detectors.KindMark, Mark: detectors.Mark{MarkPrice: 100}}
		d.OnEvent(&ev, emit)
	}
	trade(0, "A", "B")
	trade(1*detectors.Second, "D", "C")
	trade(2*detectors.Second, "E", "F")
	trade(3*detectors.Second, "G", "H")
	trade(4*detectors.Second, "B", "A")
	for _, step := range []struct {
		ts   detectors.Micros
		want string
	}{
		{11*detectors.Second - 1, ""}, // CD's gap is not over yet
		{11 * detectors.Second, "CD"},
		{14 * detectors.Second, "CD,AB,EF,GH"}, // three due at once: opening order
	} {
		mark(step.ts)
		if got := strings.Join(closed, ","); got != step.want {
			t.Fatalf("at %d µs closed %q, want %q", step.ts, got, step.want)
		}
	}
}

// TestGroupSharesStateAndEvidence builds a group of four configurations, three differing only
// in scoring parameters and one in gap, and checks that the first three share one layer (with
// two distinct size tolerances) and the fourth has its own; then that one matched, sized-alike
// episode gives every configuration an alert with the episode's evidence and accounts of its own.
func TestGroupSharesStateAndEvidence(t *testing.T) {
	s, _ := detectors.Lookup(Name)
	var ps []detectors.Params
	for _, v := range []map[string]float64{
		{"size_tolerance": 0.25, "count_scale": 2},
		{"size_tolerance": 0.5, "count_scale": 2},
		{"size_tolerance": 0.25, "count_scale": 5},
		{"size_tolerance": 0.25, "gap": 60},
	} {
		p, err := s.Resolve(v)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	gr, err := newGroup(ps, detectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	g := gr.(*group)
	if len(g.Layers) != 2 || len(g.Layers[0].scorings) != 3 || len(g.Layers[0].tolerances) != 2 || len(g.Layers[1].scorings) != 1 {
		t.Fatalf("%d layers (want 2: three configurations and one)", len(g.Layers))
	}
	alerts := map[int][]detectors.Alert{}
	emit := func(i int, a detectors.Alert) { alerts[i] = append(alerts[i], a) }
	for i := int64(0); i < 3; i++ {
		ts := i * detectors.Second
		ev := detectors.Event{TS: ts, Symbol: "X", Kind: detectors.KindOrder, Order: detectors.Order{
			Account: "A", OrderID: 10 * (i + 1), Event: detectors.OrderNew, Side: detectors.Sell, Type: detectors.Limit, Price: 100, Qty: 2, LeavesQty: 2}}
		g.OnEvent(&ev, emit)
		ev.Order = detectors.Order{Account: "B", OrderID: 10*(i+1) + 1, Event: detectors.OrderNew, Side: detectors.Buy, Type: detectors.Limit, Price: 100, Qty: 2, LeavesQty: 2}
		g.OnEvent(&ev, emit)
		ev = detectors.Event{TS: ts, Symbol: "X", Kind: detectors.KindTrade, Trade: detectors.Trade{
			TradeID: i + 1, Price: 100, Qty: 2, TakerSide: detectors.Buy, MakerAccount: "A", TakerAccount: "B",
			MakerOrderID: 10 * (i + 1), TakerOrderID: 10*(i+1) + 1}}
		g.OnEvent(&ev, emit)
	}
	g.Flush(emit)
	for i := range ps {
		if len(alerts[i]) != 1 {
			t.Fatalf("configuration %d: %d alerts, want 1 (one episode)", i, len(alerts[i]))
		}
		if got := alerts[i][0].Evidence.Features["matched"]; got != 3 {
			t.Errorf("configuration %d: matched %v, want 3 (three trades of equal sizes weigh 1 each)", i, got)
		}
	}
	// Evidence is shared, read-only (detectors.Group); the accounts are each alert's own, as
	// the gate sorts them in place.
	alerts[0][0].Accounts[0] = "Z"
	for i := 1; i < len(ps); i++ {
		a := alerts[i][0]
		if !slices.Equal(a.Evidence.TradeIDs, []int64{1, 2, 3}) || !slices.Equal(a.Evidence.OrderIDs, []int64{10, 11, 20, 21, 30, 31}) || a.Accounts[0] != "A" {
			t.Errorf("configuration %d: trades %v, orders %v, accounts %v", i, a.Evidence.TradeIDs, a.Evidence.OrderIDs, a.Accounts)
		}
	}
}

// TestSingleTradeRaisesNothing: a pair's lone trade scores 0 in every configuration (its count
// term is 1 − exp(0) = 0), so it is no alert even at min_score 0; a second trade makes one.
func TestSingleTradeRaisesNothing(t *testing.T) {
	for _, fills := range []int{1, 2} {
		d := build(t, map[string]float64{"min_score": 0})
		alerts := 0
		emit := func(int, detectors.Alert) { alerts++ }
		for f := 0; f < fills; f++ {
			ev := detectors.Event{TS: detectors.Micros(f) * detectors.Second, Symbol: "X", Kind: detectors.KindTrade, Trade: detectors.Trade{
				TradeID: int64(f + 1), Price: 100, Qty: 1, TakerSide: detectors.Buy, MakerAccount: "A", TakerAccount: "B"}}
			d.OnEvent(&ev, emit)
		}
		d.Flush(emit)
		if want := fills - 1; alerts != want {
			t.Errorf("%d trade(s) of one pair: %d alerts, want %d", fills, alerts, want)
		}
	}
}
