package momentum

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/detectors/scripttest"
)

func TestScripts(t *testing.T) { scripttest.RunDir(t, "testdata") }

// randomScript is a seeded random script of trades of 12 accounts (runs of one side, so that
// bursts form, close and reverse), marks, liquidations and order events over two symbols, with
// pauses longer than a burst.
func randomScript(n int, seed uint64) []detectors.Event {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	ts := detectors.Micros(0)
	price := map[string]float64{"X": 100, "Y": 50}
	events := make([]detectors.Event, 0, n)
	for i := 0; i < n; i++ {
		ts += detectors.Micros(rng.IntN(300)) * detectors.Millisecond
		if rng.IntN(300) == 0 {
			ts += 45 * detectors.Second // longer than burst_window and burst_gap
		}
		sym := []string{"X", "Y"}[rng.IntN(2)]
		ev := detectors.Event{TS: ts, Symbol: sym, Seq: int64(i)}
		switch r := rng.IntN(20); {
		case r < 8:
			ev.Kind = detectors.KindTrade
			taker := rng.IntN(12)
			side := detectors.Buy
			if (taker+int(ts/(20*detectors.Second)))%2 == 0 { // each account's side flips every 20 s
				side = detectors.Sell
			}
			price[sym] *= 1 + float64(side)*0.0002
			ev.Trade = detectors.Trade{TradeID: int64(i), Price: price[sym], Qty: float64(1 + rng.IntN(5)), TakerSide: side,
				TakerAccount: fmt.Sprintf("a%02d", taker), MakerAccount: fmt.Sprintf("a%02d", rng.IntN(12)),
				TakerOrderID: int64(i / 3), MakerOrderID: int64(1_000_000 + i)}
		case r < 9:
			ev.Kind = detectors.KindMark
			ev.Mark = detectors.Mark{MarkPrice: price[sym], IndexPrice: price[sym]}
		case r < 10:
			ev.Kind = detectors.KindLiquidation
			ev.Liquidation = detectors.Liquidation{Account: "z", Side: detectors.Sell, Qty: 1, Price: price[sym]}
		default:
			ev.Kind = detectors.KindOrder
			ev.Order = detectors.Order{Account: "o", OrderID: int64(i), Event: detectors.OrderNew, Side: detectors.Buy,
				Type: detectors.Limit, Price: price[sym], Qty: 1, LeavesQty: 1}
		}
		events = append(events, ev)
	}
	return events
}

// TestEveryEventSeesOnlyLiveBursts checks what the shortcuts of expire and due must keep: after
// every event (orders included, which only advance the clock), no open burst of the event's
// symbol is past its gap or window, and no waiting burst is one already scored. The script is
// randomScript's.
func TestEveryEventSeesOnlyLiveBursts(t *testing.T) {
	spec, ok := detectors.Lookup(Name)
	if !ok {
		t.Fatal("not registered")
	}
	p, err := spec.Resolve(map[string]float64{"reversal_window": 20, "min_burst_ratio": 1, "min_burst_orders": 2})
	if err != nil {
		t.Fatal(err)
	}
	g, err := newGroup([]detectors.Params{p}, detectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	d := g.(*group).Layers[0]
	alerts := 0
	emit := func(int, detectors.Alert) { alerts++ }
	for i, ev := range randomScript(40_000, 5) {
		d.OnEvent(&ev, emit)
		s := d.symbols[ev.Symbol]
		if s == nil {
			continue
		}
		for _, b := range s.open {
			if ev.TS-b.last > d.gap || ev.TS-b.start > d.window {
				t.Fatalf("event %d (ts %d, %s): open burst of %s from %d to %d is past its gap or window", i, ev.TS, ev.Kind, b.account, b.start, b.last)
			}
		}
		for _, w := range s.pending[0].waiting {
			if w.done {
				t.Fatalf("event %d (ts %d, %s): a scored burst of %s is still waiting", i, ev.TS, ev.Kind, w.account)
			}
		}
	}
	d.Flush(emit)
	// The script must exercise both: bursts closed and scored (with and without an alert).
	if alerts == 0 || d.filters[0].candidates != 0 {
		t.Fatalf("%d alerts, %d candidates left after Flush", alerts, d.filters[0].candidates)
	}
	t.Logf("%d alerts", alerts)
}

// TestGroupMatchesSeparateInstances runs a grid of configurations that share and differ in every
// kind of parameter (state, filter, score; a max_candidates small enough to bind, cascades on and
// off) as one group over randomScript and as separate single instances: every configuration must
// raise the same alerts in the same order.
func TestGroupMatchesSeparateInstances(t *testing.T) {
	var values []map[string]float64
	for _, gap := range []float64{2, 5} {
		for _, ratio := range []float64{1, 3} {
			for _, orders := range []float64{2, 3} {
				for _, scale := range []float64{2, 5} {
					values = append(values, map[string]float64{
						"burst_gap": gap, "reversal_window": 20, "min_burst_ratio": ratio, "min_burst_orders": orders,
						"size_scale": scale, "move_scale_bp": 7 - scale, "cascade_liquidations": scale - 2,
						"max_candidates": 3 + 100*(ratio-1),
					})
				}
			}
		}
	}
	events := randomScript(20_000, 9)
	g, _, err := detectors.BuildGroup(Name, values, detectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	grouped := make([][]detectors.Alert, len(values))
	gemit := func(i int, a detectors.Alert) { grouped[i] = append(grouped[i], a) }
	for i := range events {
		g.OnEvent(&events[i], gemit)
	}
	g.Flush(gemit)
	total := 0
	for i, v := range values {
		det, _, err := detectors.Build(Name, v, detectors.Env{})
		if err != nil {
			t.Fatal(err)
		}
		var separate []detectors.Alert
		emit := func(a detectors.Alert) { separate = append(separate, a) }
		for j := range events {
			det.OnEvent(&events[j], emit)
		}
		det.Flush(emit)
		if !reflect.DeepEqual(grouped[i], separate) {
			t.Fatalf("configuration %d %v: grouped %d alerts, separate %d (or they differ)", i, v, len(grouped[i]), len(separate))
		}
		total += len(separate)
	}
	if total == 0 {
		t.Fatal("no alerts: the grid tests nothing")
	}
	t.Logf("%d alerts over %d configurations", total, len(values))
}
