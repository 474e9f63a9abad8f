package duck

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// TestDuplicateIDs: table-wide repeats across files are counted and each later occurrence is an
// example naming its file and row and the first one's, whatever the file names hold.
func TestDuplicateIDs(t *testing.T) {
	db := openDB(t)
	dir := filepath.Join(t.TempDir(), `it's "x" & ü`)
	a := unsortedTrades(30, 1, 1)   // ids 1..30
	b := unsortedTrades(20, 2, 101) // ids 101..120
	// By hand: file b's rows 3 and 7 repeat ids 5 and 9 of file a, with a's symbols; row 8
	// repeats id 9 with the other symbol, which is no repeat (ids are per symbol).
	b[2].Trade.TradeID, b[2].Symbol = 5, a[4].Symbol
	b[6].Trade.TradeID, b[6].Symbol = 9, a[8].Symbol
	b[7].Trade.TradeID, b[7].Symbol = 9, map[string]string{"BTCUSDT": "ETHUSDT", "ETHUSDT": "BTCUSDT"}[a[8].Symbol]
	fa, fb := filepath.Join(dir, "trades", "a'1.parquet"), filepath.Join(dir, "trades", "b&2.parquet")
	writeTrades(t, fa, a)
	writeTrades(t, fb, b)
	p, ok, err := db.DuplicateIDs(context.Background(), datasets.TableTrades, []string{fa, fb}, 5)
	if err != nil || !ok {
		t.Fatalf("DuplicateIDs: %v %v", ok, err)
	}
	if p.Count != 2 || p.Class != "trade_id: duplicate_id" || p.Severity != datasets.SeverityFatal || len(p.Examples) != 2 {
		t.Fatalf("problem %+v", p)
	}
	want := []string{
		fb + ": row 3: column trade_id: trade 5 of " + a[4].Symbol + " already at " + fa + ": row 5",
		fb + ": row 7: column trade_id: trade 9 of " + a[8].Symbol + " already at " + fa + ": row 9",
	}
	for i, ex := range p.Examples {
		if ex.Error() != want[i] {
			t.Errorf("example %d: %q\nwant %q", i, ex.Error(), want[i])
		}
	}
	if p, _, _ := db.DuplicateIDs(context.Background(), datasets.TableTrades, []string{fa}, 5); p.Count != 0 {
		t.Fatalf("one file of distinct ids: %+v", p)
	}
	if _, ok, _ := db.DuplicateIDs(context.Background(), datasets.TableMarks, []string{fa}, 5); ok {
		t.Fatal("marks have no id rule")
	}
	if _, _, err := db.DuplicateIDs(context.Background(), datasets.TableTrades, []string{filepath.Join(dir, "glob*.parquet")}, 5); err == nil || !strings.Contains(err.Error(), "glob") {
		t.Fatalf("a glob character in a file name: %v", err)
	}
}

// TestDuplicateOrderPlacements: an order's new event repeated (per symbol) is a duplicate; its
// other events are not.
func TestDuplicateOrderPlacements(t *testing.T) {
	db := openDB(t)
	path := filepath.Join(t.TempDir(), "orders.parquet")
	ev := func(ts int64, id int64, e detectors.OrderEvent) detectors.Event {
		return detectors.Event{TS: 1_700_000_000_000_000 + ts, Symbol: "BTCUSDT", Kind: detectors.KindOrder,
			Order: detectors.Order{Account: "a", OrderID: id, Event: e, Side: detectors.Buy, Type: detectors.Limit, Price: 1, Qty: 1, LeavesQty: 1}}
	}
	w, err := datasets.NewEventWriter(path, datasets.TableOrders)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []detectors.Event{ev(1, 1, detectors.OrderNew), ev(2, 1, detectors.OrderAmend), ev(3, 1, detectors.OrderCancel),
		ev(4, 2, detectors.OrderNew), ev(5, 2, detectors.OrderFill), ev(6, 2, detectors.OrderFill), ev(7, 1, detectors.OrderNew)} {
		if err := w.Write(&e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p, ok, err := db.DuplicateIDs(context.Background(), datasets.TableOrders, []string{path}, -1)
	if err != nil || !ok || p.Count != 1 || len(p.Examples) != 1 ||
		p.Examples[0].Error() != path+": row 7: column order_id: new event of order 1 of BTCUSDT already at "+path+": row 1" {
		t.Fatalf("problem %+v, %v", p, err)
	}
}
