package layering

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
		d.OnEvent(&ev, func(detectors.Alert) { t.Fatal("unexpected alert") })
		if i%3 == 0 {
			// cancel an order placed 50 ms ago: clusters of one account's cancels
			ev.Order.Event, ev.Order.OrderID, ev.Order.LeavesQty = detectors.OrderCancel, int64(i-4), 0
			ev.Order.Account = fmt.Sprintf("a%03d", (i-5+300)%300)
			d.OnEvent(&ev, func(detectors.Alert) { t.Fatal("unexpected alert") })
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
		if len(a.placements) > 3300/300+200 {
			t.Fatalf("account %s keeps %d placements", a.k.account, len(a.placements))
		}
	}
}
