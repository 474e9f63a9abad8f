package washtrade

import (
	"fmt"
	"testing"

	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/detectors/scripttest"
)

func TestScripts(t *testing.T) { scripttest.RunDir(t, "testdata") }

// TestStateIsBounded feeds many distinct self-trading accounts and checks that episodes close
// after the gap, that max_owners caps what is tracked in between, and that idle flows are
// forgotten by the sweep.
func TestStateIsBounded(t *testing.T) {
	det, err := newGroup([]detectors.Params{mustResolve(t, map[string]float64{"gap": 60, "window": 60, "max_owners": 50})}, detectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	g := det.(*group)
	w, flows := g.episodes[0], g.flows[0]
	ev := detectors.Event{Symbol: "X", Kind: detectors.KindTrade}
	alerts := 0
	emit := func(int, detectors.Alert) { alerts++ }
	for i := 0; i < 10_000; i++ {
		ev.TS = int64(i) * detectors.Second
		acct := fmt.Sprintf("a%05d", i)
		ev.Trade = detectors.Trade{TradeID: int64(i), Price: 100, Qty: 1, TakerSide: detectors.Buy, MakerAccount: acct, TakerAccount: acct}
		g.OnEvent(&ev, emit)
		if len(w.episodes) > 50 || len(flows.flows) > 50 {
			t.Fatalf("tracked %d episodes and %d flows, cap 50", len(w.episodes), len(flows.flows))
		}
		x, _ := g.symbols.Lookup("X")
		if open := len(w.open[x]); open != len(w.episodes) {
			t.Fatalf("symbol lists %d open episodes, the map %d", open, len(w.episodes))
		}
	}
	// One self-trade per account per second with gap=60 s: an episode closes 60 s after its only
	// trade, so at most 61 are open at once and the cap of 50 drops the rest; every closed one
	// is judged (score 0) and passed to emit.
	if w.ownersDropped == 0 {
		t.Errorf("expected the cap to drop some owners")
	}
	if alerts == 0 || alerts+len(w.episodes)+int(w.ownersDropped) != 10_000 {
		t.Errorf("alerts %d + open %d + dropped %d, want 10000", alerts, len(w.episodes), w.ownersDropped)
	}
	g.Flush(emit)
	if len(w.episodes) != 0 || alerts+int(w.ownersDropped) != 10_000 {
		t.Errorf("after Flush: %d open, %d alerts", len(w.episodes), alerts)
	}
}

func mustResolve(t *testing.T, v map[string]float64) detectors.Params {
	t.Helper()
	s, ok := detectors.Lookup(Name)
	if !ok {
		t.Fatal("not registered")
	}
	p, err := s.Resolve(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
