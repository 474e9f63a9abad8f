package momentum

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/detectors/scripttest"
)

func TestScripts(t *testing.T) { scripttest.RunDir(t, "testdata") }

// TestEveryEventSeesOnlyLiveBursts checks what the shortcuts of expire and due must keep: after
// every event (orders included, which only advance the clock), no open burst of the event's
// symbol is past its gap or window, and no waiting burst is one already scored. A seeded random
// script of trades of 12 accounts (runs of one side, so that bursts form, close and reverse),
// marks, liquidations and order events over two symbols, with pauses longer than a burst.
func TestEveryEventSeesOnlyLiveBursts(t *testing.T) {
	spec, ok := detectors.Lookup(Name)
	if !ok {
		t.Fatal("not registered")
	}
	p, err := spec.Resolve(map[string]float64{"reversal_window": 20, "min_burst_ratio": 1, "min_burst_orders": 2})
	if err != nil {
		t.Fatal(err)
	}
	det, err := newDetector(p, detectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	d := det.(*detector)
	rng := rand.New(rand.NewPCG(5, 6))
	ts := detectors.Micros(0)
	price := map[string]float64{"X": 100, "Y": 50}
	alerts := 0
	emit := func(detectors.Alert) { alerts++ }
	for i := 0; i < 40_000; i++ {
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
		d.OnEvent(&ev, emit)
		s := d.symbols[sym]
		if s == nil {
			continue
		}
		for _, b := range s.open {
			if ts-b.last > d.gap || ts-b.start > d.window {
				t.Fatalf("event %d (ts %d, %s): open burst of %s from %d to %d is past its gap or window", i, ts, ev.Kind, b.account, b.start, b.last)
			}
		}
		for _, w := range s.waiting {
			if w.done {
				t.Fatalf("event %d (ts %d, %s): a scored burst of %s is still waiting", i, ts, ev.Kind, w.account)
			}
		}
	}
	d.Flush(emit)
	// The script must exercise both: bursts closed and scored (with and without an alert).
	if alerts == 0 || d.candidates != 0 {
		t.Fatalf("%d alerts, %d candidates left after Flush", alerts, d.candidates)
	}
	t.Logf("%d alerts", alerts)
}
