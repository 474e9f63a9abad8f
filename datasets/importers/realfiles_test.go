package importers

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fds-dev/fds/detectors"
)

// manifestRow is one trade window of pnd-binance-trades/SOURCE.md's per-file manifest.
type manifestRow struct {
	rows        int
	first, last string // minute of the first and last trade, UTC, as 2006-01-02T15:04
}

// readTradesManifest parses the manifest table of the folder's SOURCE.md.
func readTradesManifest(t *testing.T, dir string) map[string]manifestRow {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "SOURCE.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]manifestRow{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cells := strings.Split(sc.Text(), "|")
		if len(cells) < 7 || !strings.HasSuffix(strings.TrimSpace(cells[1]), ".csv.gz") {
			continue
		}
		n, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(cells[3]), ",", ""))
		if err != nil {
			t.Fatalf("SOURCE.md row %q: %v", sc.Text(), err)
		}
		out[strings.TrimSpace(cells[1])] = manifestRow{rows: n, first: strings.TrimSpace(cells[4]), last: strings.TrimSpace(cells[5])}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Every trade window of pnd-binance-trades, not only one: each imports whole, with the row count
// and the first and last trade minute of SOURCE.md's manifest (which were counted there with
// other tools), and its symbol from the rows.
func TestCCXTRealFilesEveryWindow(t *testing.T) {
	dir := sharedData(t, "pnd-binance-trades")
	manifest := readTradesManifest(t, dir)
	files, err := filepath.Glob(filepath.Join(dir, "*.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	// SOURCE.md: the 27 in-sample windows are the readable ones.
	if len(files) != 27 {
		t.Fatalf("%d trade windows, want 27", len(files))
	}
	total := 0
	for _, path := range files {
		base := filepath.Base(path)
		want, ok := manifest[base]
		if !ok {
			t.Errorf("%s: not in SOURCE.md's manifest", base)
			continue
		}
		in, closeFn, err := openInput(path)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := newParseCtx(Options{})
		c.file = &InputReport{Path: path}
		err = parseCCXTTrades(c, in)
		closeFn()
		if err != nil {
			t.Errorf("%s: %v", base, err)
			continue
		}
		lo, hi := c.out.trades[0].TS, c.out.trades[0].TS
		coin := strings.SplitN(base, "_", 2)[0]
		for _, r := range c.out.trades {
			lo, hi = min(lo, r.TS), max(hi, r.TS)
			if r.Symbol != coin+"/BTC" {
				t.Errorf("%s: symbol %s, want %s/BTC", base, r.Symbol, coin)
				break
			}
		}
		minute := func(ts detectors.Micros) string { return time.UnixMicro(ts).UTC().Format("2006-01-02T15:04") }
		if len(c.out.trades) != want.rows || minute(lo) != want.first || minute(hi) != want.last {
			t.Errorf("%s: %d rows %s..%s, manifest %d rows %s..%s", base, len(c.out.trades), minute(lo), minute(hi),
				want.rows, want.first, want.last)
		}
		total += len(c.out.trades)
	}
	// docs/benchmarks.md: 519,566 trades in the 27 windows.
	if total != 519566 {
		t.Errorf("%d trades in all, want 519566", total)
	}
}

// A real window cut short, as an interrupted download leaves it: the import fails on the line
// where the data stops, after reading the rows before it, and says the input is truncated.
func TestCCXTRealWindowTruncated(t *testing.T) {
	dir := sharedData(t, "pnd-binance-trades")
	b, err := os.ReadFile(filepath.Join(dir, "NULS_2020-01-30 17.00.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "ds")
	cut := writeFile(t, t.TempDir(), "NULS_2020-01-30 17.00.csv.gz", b[:len(b)*6/10])
	_, err = Import("ccxt-trades", []string{cut}, out, Options{})
	wantParseError(t, err, cut, "compressed input truncated")
	var pe *ParseError
	// 60 % of the compressed bytes hold thousands of the 8,731 rows: the error is far down.
	if !asParseError(err, &pe) || pe.Line < 1000 {
		t.Errorf("truncation reported at line %d, want after the rows read", pe.Line)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed import created %s (%v)", out, err)
	}
}

// The label files not covered by the benchmark: P&Ds_available.csv (the 43-event subset) and
// dropped_pumps.json (currency_pair keys, ISO T separator), both real.
func TestPumpLabelsRealAvailableAndDropped(t *testing.T) {
	trades := sharedData(t, "pnd-binance-trades")
	l498 := sharedData(t, "pnd-binance-labels-498")
	cases := []struct {
		path, kind string
		rows       int // SOURCE.md: 43 events; 25 records
		first      string
		firstAt    time.Time
	}{
		{filepath.Join(trades, "P&Ds_available.csv"), "P&Ds.csv", 43, "PIVX/BTC", time.Date(2021, 3, 28, 17, 0, 0, 0, time.UTC)},
		{filepath.Join(l498, "dropped_pumps.json"), "pumps.json", 25, "AAPC/BTC", time.Date(2020, 11, 18, 18, 0, 11, 0, time.UTC)},
	}
	for _, tc := range cases {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			b, err := os.ReadFile(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			c, _ := newParseCtx(Options{})
			if err := parseInto(c, "pump-labels", tc.path, b); err != nil {
				t.Fatal(err)
			}
			if c.file.Kind != tc.kind || c.file.Rows != int64(tc.rows) || len(c.out.labels) != tc.rows {
				t.Errorf("kind %q rows %d labels %d, want %q and %d", c.file.Kind, c.file.Rows, len(c.out.labels), tc.kind, tc.rows)
			}
			if l := c.out.labels[0]; l.Symbol != tc.first || l.At != tc.firstAt.UnixMicro() {
				t.Errorf("first label %+v, want %s at %s", l, tc.first, tc.firstAt)
			}
		})
	}
}

// No Binance futures dump is among the shared data, but the cryptofeed capture holds 91 real
// aggTrade messages of Binance USD-M futures: written out in the dump's aggTrades layout
// (agg_trade_id, price, quantity, first_trade_id, last_trade_id, transact_time,
// is_buyer_maker), one file per symbol as data.binance.vision names them, they must import
// with every value kept.
func TestBinanceFuturesRealAggTradesFromCapture(t *testing.T) {
	dir := sharedData(t, "exchange-ws-captures")
	f, err := os.Open(filepath.Join(dir, "BINANCE_FUTURES.ws.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Only the fields read: Go's JSON matching ignores case, and "E" (event time) would
	// otherwise fill a field tagged "e".
	type aggTrade struct {
		ID     int64  `json:"a"`
		Symbol string `json:"s"`
		Price  string `json:"p"`
		Qty    string `json:"q"`
		First  int64  `json:"f"`
		Last   int64  `json:"l"`
		Time   int64  `json:"T"`
		Maker  bool   `json:"m"`
	}
	var msgs []aggTrade
	bySymbol := map[string]*strings.Builder{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		_, payload, ok := strings.Cut(sc.Text(), ": ")
		if !ok || !strings.Contains(payload, `"e":"aggTrade"`) {
			continue
		}
		var m struct {
			Data aggTrade `json:"data"`
		}
		if err := json.Unmarshal([]byte(payload), &m); err != nil {
			t.Fatal(err)
		}
		a := m.Data
		msgs = append(msgs, a)
		w := bySymbol[a.Symbol]
		if w == nil {
			w = &strings.Builder{}
			w.WriteString("agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n")
			bySymbol[a.Symbol] = w
		}
		fmt.Fprintf(w, "%d,%s,%s,%d,%d,%d,%v\n", a.ID, a.Price, a.Qty, a.First, a.Last, a.Time, a.Maker)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	// SOURCE.md: aggTrade 91 messages, four symbols (SUSHI, AKRO, KEEP, CTK against USDT).
	if len(msgs) != 91 || len(bySymbol) != 4 {
		t.Fatalf("%d aggTrade messages over %d symbols, want 91 over 4", len(msgs), len(bySymbol))
	}
	src := t.TempDir()
	var paths []string
	for sym, w := range bySymbol {
		paths = append(paths, writeFile(t, src, sym+"-aggTrades-2021-07-22.csv", []byte(w.String())))
	}
	sort.Strings(paths)
	out := filepath.Join(t.TempDir(), "ds")
	rep, err := Import("binance-futures", paths, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Tables) != 1 || rep.Tables[0].Rows != 91 {
		t.Fatalf("tables %+v", rep.Tables)
	}
	got := map[int64]detectors.Event{}
	for _, ev := range readEvents(t, out, "trades") {
		got[ev.Trade.TradeID] = ev
	}
	for _, m := range msgs {
		ev, ok := got[m.ID]
		price, _ := strconv.ParseFloat(m.Price, 64)
		qty, _ := strconv.ParseFloat(m.Qty, 64)
		// is_buyer_maker (m) true: the buyer rested, the taker sold.
		side := detectors.Buy
		if m.Maker {
			side = detectors.Sell
		}
		wantSym := strings.TrimSuffix(m.Symbol, "USDT") + "/USDT"
		if !ok || ev.TS != m.Time*1000 || ev.Symbol != wantSym || ev.Trade.Price != price || ev.Trade.Qty != qty || ev.Trade.TakerSide != side {
			t.Errorf("aggTrade %d: imported %+v, captured %+v", m.ID, ev, m)
		}
	}
}

func asParseError(err error, pe **ParseError) bool {
	p, ok := err.(*ParseError)
	if ok {
		*pe = p
	}
	return ok
}

// The 25-level Binance futures snapshots of the Tardis samples (SOURCE.md: 10 rows, 104
// columns = 4 + 25 levels x 2 sides x price and amount): the first snapshot opens 25 bid and
// 25 ask levels as new orders of the venue's synthetic book actor, bids below asks.
func TestTardisRealSnapshot25(t *testing.T) {
	dir := sharedData(t, "tardis-csv-samples")
	path := filepath.Join(dir, "binance-futures_book_snapshot_25_BTCUSDT.csv")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newParseCtx(Options{})
	if err := parseInto(c, "tardis", path, b); err != nil {
		t.Fatal(err)
	}
	const firstTS = 1598918403696000 // the first row's timestamp
	sides := map[detectors.Side]int{}
	bestBid, bestAsk := 0.0, 1e18
	for _, o := range c.out.orders {
		if o.TS != firstTS {
			continue
		}
		if o.V.Event != detectors.OrderNew || o.V.Account != "book:binance-futures" || o.Symbol != "BTC/USDT" {
			t.Errorf("first snapshot order %+v", o)
		}
		sides[o.V.Side]++
		if o.V.Side == detectors.Buy {
			bestBid = max(bestBid, o.V.Price)
		} else {
			bestAsk = min(bestAsk, o.V.Price)
		}
	}
	if c.file.Rows != 10 || sides[detectors.Buy] != 25 || sides[detectors.Sell] != 25 || bestBid >= bestAsk {
		t.Errorf("rows %d, first snapshot %d bids %d asks, best bid %v ask %v", c.file.Rows, sides[detectors.Buy], sides[detectors.Sell], bestBid, bestAsk)
	}
}
