package spoofing

import (
	"testing"

	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/detectors/scripttest"
)

func TestScripts(t *testing.T) { scripttest.RunDir(t, "testdata") }

func build(t *testing.T, values map[string]float64) *group {
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
	return g.(*group)
}

// TestRestingOrdersAreBounded places orders that are never cancelled and checks that the book
// forgets them after order_horizon and never holds more than max_open_orders.
func TestRestingOrdersAreBounded(t *testing.T) {
	d := build(t, map[string]float64{"order_horizon": 10, "max_open_orders": 500})
	ev := detectors.Event{Symbol: "X", Kind: detectors.KindOrder}
	for i := 0; i < 20_000; i++ {
		// 100 orders per second of event time: 1000 within the 10 s horizon, above the cap.
		ev.TS = int64(i) * 10 * detectors.Millisecond
		ev.Order = detectors.Order{Account: "M", OrderID: int64(i + 1), Event: detectors.OrderNew, Side: detectors.Buy,
			Type: detectors.Limit, Price: 100 - float64(i%10)*0.1, Qty: 1, LeavesQty: 1}
		d.OnEvent(&ev, func(int, detectors.Alert) { t.Fatal("unexpected alert") })
		l := d.books[0]
		x, _ := d.symbols.Lookup("X")
		if l.open > 500 || len(l.books[x].orders) != l.open {
			t.Fatalf("open %d (book %d), cap 500", l.open, len(l.books[x].orders))
		}
	}
	if l := d.books[0]; l.ages.Len() > 2000 {
		t.Errorf("age queue holds %d live entries", l.ages.Len())
	}
	// Age alone: with a high cap, only the last 10 s (1000 orders) stay.
	d = build(t, map[string]float64{"order_horizon": 10})
	for i := 0; i < 5_000; i++ {
		ev.TS = int64(i) * 10 * detectors.Millisecond
		ev.Order.OrderID = int64(i + 1)
		d.OnEvent(&ev, func(int, detectors.Alert) {})
	}
	// Hand count: the last order is at 49.99 s; orders placed before 39.99 s are gone, so ids
	// placed at 39.99 s .. 49.99 s remain: 1001 orders.
	if d.books[0].open != 1001 {
		t.Errorf("open %d after horizon eviction, want 1001", d.books[0].open)
	}
}

// TestCandidatesAreBounded makes many big orders that are never cancelled.
func TestCandidatesAreBounded(t *testing.T) {
	d := build(t, map[string]float64{"warmup_orders": 0, "max_candidates": 20, "min_depth_ratio": 0})
	ev := detectors.Event{Symbol: "X", Kind: detectors.KindOrder}
	ev.Order = detectors.Order{Account: "M", OrderID: 1, Event: detectors.OrderNew, Side: detectors.Sell, Type: detectors.Limit, Price: 101, Qty: 1, LeavesQty: 1}
	d.OnEvent(&ev, nil)
	for i := 0; i < 1000; i++ {
		ev.TS = int64(i) * 100 * detectors.Millisecond
		ev.Order = detectors.Order{Account: "A", OrderID: int64(i + 10), Event: detectors.OrderNew, Side: detectors.Buy,
			Type: detectors.Limit, Price: 100.9, Qty: 50, LeavesQty: 50}
		d.OnEvent(&ev, nil)
		if d.configs[0].nCand > 20 || len(d.byOrder) > 20 {
			t.Fatalf("%d candidates, cap 20", d.configs[0].nCand)
		}
	}
	if d.configs[0].nCand == 0 {
		t.Error("no candidates at all: the test does not exercise the cap")
	}
}
