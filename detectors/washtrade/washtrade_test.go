package washtrade

import (
	"testing"

	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/detectors/scripttest"
)

func TestScripts(t *testing.T) { scripttest.RunDir(t, "testdata") }

// TestStateIsBounded feeds many distinct self-trading accounts and checks that sweeps forget
// idle bursts and that max_owners caps what is tracked in between.
func TestStateIsBounded(t *testing.T) {
	det, err := newDetector(mustResolve(t, map[string]float64{"window": 60, "cooldown": 60, "max_owners": 50}), detectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	w := det.(*detector)
	ev := detectors.Event{Symbol: "X", Kind: detectors.KindTrade}
	alerts := 0
	emit := func(detectors.Alert) { alerts++ }
	for i := 0; i < 10_000; i++ {
		ev.TS = int64(i) * detectors.Second
		acct := string(rune('a'+i%26)) + string(rune('a'+(i/26)%26)) + string(rune('a'+(i/676)%26))
		ev.Trade = detectors.Trade{TradeID: int64(i), Price: 100, Qty: 1, TakerSide: detectors.Buy, MakerAccount: acct, TakerAccount: acct}
		w.OnEvent(&ev, emit)
		if len(w.bursts) > 50 {
			t.Fatalf("tracked %d bursts, cap 50", len(w.bursts))
		}
	}
	// One self-trade per account scores below min_score: no alerts. Each account trades once, so
	// after a sweep at most window=60 s worth of accounts (60) remain, capped at 50.
	if alerts != 0 {
		t.Errorf("%d alerts for single self-trades", alerts)
	}
	if w.ownersDropped == 0 {
		t.Errorf("expected the cap to drop some owners between sweeps")
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
