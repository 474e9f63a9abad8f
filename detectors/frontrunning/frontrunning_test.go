package frontrunning

import (
	"fmt"
	"testing"

	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/detectors/scripttest"
)

func TestScripts(t *testing.T) { scripttest.RunDir(t, "testdata") }

// TestStateIsBounded sends a big order every 20 s with many accounts ahead of it, and checks that
// the recent orders, the pending instances (capped) and the activities stay bounded.
func TestStateIsBounded(t *testing.T) {
	s, _ := detectors.Lookup(Name)
	p, err := s.Resolve(map[string]float64{"max_instances": 50, "activity_window": 10})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := newGroup([]detectors.Params{p}, detectors.Env{})
	d := g.(*group).Layers[0]
	ev := detectors.Event{Symbol: "X", Kind: detectors.KindTrade}
	id := int64(0)
	trade := func(ts detectors.Micros, acct string, side detectors.Side, qty float64) {
		id++
		ev.TS = ts
		ev.Trade = detectors.Trade{TradeID: id, Price: 100, Qty: qty, TakerSide: side, MakerAccount: "m", TakerAccount: acct, TakerOrderID: id, MakerOrderID: 1}
		d.OnEvent(&ev, func(int, detectors.Alert) {})
	}
	for i := 0; i < 5000; i++ {
		ts := int64(i) * 200 * detectors.Millisecond
		trade(ts, fmt.Sprintf("a%05d", i), detectors.Buy, 1)
		if i%100 == 99 {
			trade(ts+1, "big", detectors.Buy, 50)
		}
		st := d.symbols["X"]
		if len(st.recent) > 60 || len(st.pending) > 50 || d.nInstances > 50 {
			t.Fatalf("recent %d, pending %d (cap 50)", len(st.recent), len(st.pending))
		}
		if len(st.acts) > 400 {
			t.Fatalf("%d activities kept for a 10 s time constant at 5 accounts a second", len(st.acts))
		}
	}
	if d.dropped == 0 {
		t.Error("the instance cap was never reached: 50 accounts ahead of each big order, 60 s windows")
	}
}
