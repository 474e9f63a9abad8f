package duck

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// evilSymbol is data that would end a quoted SQL literal and drop a table if anything spliced
// values into SQL text.
const evilSymbol = "x'); DROP TABLE trades; --"

// fixtureT0 is 2024-01-01T00:00:00Z in microseconds.
const fixtureT0 = detectors.Micros(1_704_067_200) * detectors.Second

// writeQueryFixture writes a small dataset with hand-countable content into a folder whose name
// holds a single quote, and returns the folder. Its facts, used by the tests:
//
//	trades: 4 rows; ts +1 s, +3 s, +2 s, +10 s (row 3 out of order); symbols BTCUSDT (2 rows),
//	        evilSymbol, ETHUSDT; accounts A, B, C; maker_account null in 1 row, taker_account in 2;
//	        price 5 to 2000
//	orders: 2 rows of account A (new, cancel), sorted
//	marks: 2 rows, funding_rate null in 1
//	accounts: A, B, C
//	labels: 2 wash_trade, 1 spoofing; start +1 s, end +60 s at the latest
func writeQueryFixture(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "o'brien data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	trade := func(sec int64, sym string, id int64, price, qty float64, side detectors.Side, maker, taker string) detectors.Event {
		return detectors.Event{TS: fixtureT0 + sec*detectors.Second, Symbol: sym, Kind: detectors.KindTrade,
			Trade: detectors.Trade{TradeID: id, Price: price, Qty: qty, TakerSide: side, MakerAccount: maker, TakerAccount: taker}}
	}
	writeEvents(t, filepath.Join(dir, "trades.parquet"), datasets.TableTrades, []detectors.Event{
		trade(1, "BTCUSDT", 1, 100, 1, detectors.Buy, "A", "B"),
		trade(3, "BTCUSDT", 2, 101, 2, detectors.Sell, "B", ""),
		trade(2, evilSymbol, 3, 5, 0.5, detectors.Buy, "C", "A"),
		trade(10, "ETHUSDT", 4, 2000, 3, detectors.Buy, "", ""),
	})
	order := func(sec int64, ev detectors.OrderEvent, leaves float64) detectors.Event {
		return detectors.Event{TS: fixtureT0 + sec*detectors.Second, Symbol: "BTCUSDT", Kind: detectors.KindOrder,
			Order: detectors.Order{Account: "A", OrderID: 7, Event: ev, Side: detectors.Buy, Type: detectors.Limit,
				Price: 99, Qty: 10, LeavesQty: leaves}}
	}
	writeEvents(t, filepath.Join(dir, "orders.parquet"), datasets.TableOrders, []detectors.Event{
		order(1, detectors.OrderNew, 10), order(4, detectors.OrderCancel, 0),
	})
	writeEvents(t, filepath.Join(dir, "marks.parquet"), datasets.TableMarks, []detectors.Event{
		{TS: fixtureT0, Symbol: "BTCUSDT", Kind: detectors.KindMark, Mark: detectors.Mark{MarkPrice: 100, IndexPrice: 100.1, FundingRate: 0.0001, HasFunding: true}},
		{TS: fixtureT0 + 5*detectors.Second, Symbol: "BTCUSDT", Kind: detectors.KindMark, Mark: detectors.Mark{MarkPrice: 101, IndexPrice: 101}},
	})
	if err := datasets.WriteAccounts(filepath.Join(dir, "accounts.parquet"), []detectors.Account{
		{AccountID: "A", CreatedAt: fixtureT0 - detectors.Day, OwnerGroup: "g1"},
		{AccountID: "B", CreatedAt: fixtureT0 - detectors.Day, OwnerGroup: "g1"},
		{AccountID: "C", CreatedAt: fixtureT0, OwnerGroup: "g2"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := datasets.WriteLabels(filepath.Join(dir, "labels.parquet"), []datasets.Incident{
		{ID: "w1", Type: detectors.WashTrade, Symbol: "BTCUSDT", Accounts: []string{"A", "B"}, Start: fixtureT0 + detectors.Second, End: fixtureT0 + 3*detectors.Second, Source: "test"},
		{ID: "w2", Type: detectors.WashTrade, Symbol: evilSymbol, Accounts: []string{"C"}, Start: fixtureT0 + 2*detectors.Second, End: fixtureT0 + 2*detectors.Second, Source: "test"},
		{ID: "s1", Type: detectors.Spoofing, Symbol: "BTCUSDT", Accounts: []string{"A"}, Start: fixtureT0 + detectors.Second, End: fixtureT0 + 60*detectors.Second, Source: "test"},
	}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeEvents(t *testing.T, path, table string, events []detectors.Event) {
	t.Helper()
	w, err := datasets.NewEventWriter(path, table)
	if err != nil {
		t.Fatal(err)
	}
	for i := range events {
		if err := w.Write(&events[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
