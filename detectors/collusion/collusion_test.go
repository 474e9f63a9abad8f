package collusion

import (
	"fmt"
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
	d, err := newDetector(p, detectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return d.(*detector)
}

// TestStateIsBounded trades many distinct pairs and checks the caps and horizons: open
// episodes, account notionals and the recent orders.
func TestStateIsBounded(t *testing.T) {
	d := build(t, map[string]float64{"max_pairs": 100, "max_accounts": 500, "window": 10, "gap": 5, "match_window": 1})
	ev := detectors.Event{Symbol: "X"}
	alerts := 0
	emit := func(detectors.Alert) { alerts++ }
	for i := 0; i < 20_000; i++ {
		ev.TS = int64(i) * 100 * detectors.Millisecond
		ev.Kind = detectors.KindOrder
		ev.Order = detectors.Order{Account: fmt.Sprintf("m%05d", i), OrderID: int64(2 * i), Event: detectors.OrderNew, Side: detectors.Sell,
			Type: detectors.Limit, Price: 100, Qty: 1, LeavesQty: 1}
		d.OnEvent(&ev, emit)
		ev.Kind = detectors.KindTrade
		ev.Trade = detectors.Trade{TradeID: int64(i), Price: 100, Qty: 1, TakerSide: detectors.Buy, MakerAccount: ev.Order.Account,
			TakerAccount: fmt.Sprintf("t%05d", i), MakerOrderID: int64(2 * i), TakerOrderID: int64(2*i + 1)}
		d.OnEvent(&ev, emit)
		if len(d.episodes) > 100 || d.nFlows > 500 {
			t.Fatalf("%d episodes (cap 100), %d notionals (cap 500)", len(d.episodes), d.nFlows)
		}
		if len(d.recent) > 20 {
			t.Fatalf("%d recent orders kept for a 1 s match window at 10 orders a second", len(d.recent))
		}
	}
	d.Flush(emit)
	// A new pair every 100 ms, each episode judged 5 s after its trade: about 50 open at once.
	if alerts+int(d.dropped) != 20_000 {
		t.Errorf("%d alerts + %d dropped, want one per pair", alerts, d.dropped)
	}
}
