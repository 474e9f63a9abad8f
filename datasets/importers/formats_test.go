package importers

import (
	"archive/zip"
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fds-dev/fds/detectors"
)

const ccxtHeader = "symbol,timestamp,datetime,side,price,amount,btc_volume\n"

func TestCCXTRealFile(t *testing.T) {
	dir := sharedData(t, "pnd-binance-trades")
	path := filepath.Join(dir, "NULS_2020-01-30 17.00.csv.gz")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newParseCtx(Options{})
	if err := parseInto(c, "ccxt-trades", path, b); err != nil {
		t.Fatal(err)
	}
	// 8,731 rows per the folder's SOURCE.md manifest.
	if n := len(c.out.trades); n != 8731 {
		t.Fatalf("rows = %d, want 8731", n)
	}
	first := c.out.trades[0]
	// First data row: NULS/BTC,1580231502072,2020-01-28T17:11:42.072Z,buy,2.972e-05,4.0,...
	if first.Symbol != "NULS/BTC" || first.TS != 1580231502072000 || first.V.TakerSide != detectors.Buy ||
		first.V.Price != 2.972e-05 || first.V.Qty != 4 {
		t.Errorf("first row = %+v", first)
	}
	if c.file.TimeUnit != "ms" || !c.out.tradeIDMissing {
		t.Errorf("unit %s, ids missing %v", c.file.TimeUnit, c.out.tradeIDMissing)
	}
}

func TestCCXTMalformed(t *testing.T) {
	good := "NULS/BTC,1580231502072,2020-01-28T17:11:42.072Z,buy,2.972e-05,4.0,0.00011888\n"
	cases := []struct {
		name, content string
		want          []string
	}{
		{"bad side", ccxtHeader + good + "NULS/BTC,1580231502073,x,hold,1,1,1\n", []string{"t.csv:3", "column side", `"hold"`}},
		{"bad price", ccxtHeader + "NULS/BTC,1580231502073,x,buy,abc,1,1\n", []string{"t.csv:2", "column price"}},
		{"negative amount", ccxtHeader + "NULS/BTC,1580231502073,x,buy,1,-4,1\n", []string{"t.csv:2", "column amount"}},
		{"mixed units", ccxtHeader + good + "NULS/BTC,1580231503,x,buy,1,1,1\n", []string{"t.csv:3", "column timestamp", "ms"}},
		{"missing column", "symbol,timestamp,side,price\n", []string{"t.csv:1", "column amount", "missing from the header"}},
		{"short row", ccxtHeader + "NULS/BTC,1580231502073,x,buy\n", []string{"t.csv:2", "column price"}},
		{"bad symbol", ccxtHeader + "NU LS,1580231502073,x,buy,1,1,1\n", []string{"t.csv:2", "column symbol"}},
		{"empty", "", []string{"t.csv:1", "empty"}},
		{"no symbol column nor option", "timestamp,side,price,amount\n1,buy,1,1\n", []string{"column symbol"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseText(t, "ccxt-trades", "t.csv", c.content, Options{})
			wantParseError(t, err, c.want...)
		})
	}
}

func TestCCXTGzipByMagicAndSymbolOption(t *testing.T) {
	// Named .csv but gzip inside: detected by the magic bytes, not the name.
	content := gzipBytes(t, []byte("timestamp,side,price,amount,id\n1580231502072,SELL,1.5,2,77\n"))
	c, _ := newParseCtx(Options{Symbol: "nulsbtc"})
	if err := parseInto(c, "ccxt-trades", "x.csv", content); err != nil {
		t.Fatal(err)
	}
	r := c.out.trades[0]
	if r.Symbol != "NULS/BTC" || r.V.TakerSide != detectors.Sell || r.V.TradeID != 77 || c.out.tradeIDMissing {
		t.Errorf("row = %+v (ids missing %v)", r, c.out.tradeIDMissing)
	}
}

func TestPumpLabelsRealFilesMerged(t *testing.T) {
	trades := sharedData(t, "pnd-binance-trades")
	sap := sharedData(t, "pnd-sapienza-labels")
	l498 := sharedData(t, "pnd-binance-labels-498")
	c, _ := newParseCtx(Options{})
	kinds := map[string]string{}
	for _, p := range []string{
		filepath.Join(trades, "P&Ds.csv"),
		filepath.Join(sap, "pump_telegram.csv"),
		filepath.Join(l498, "pumps.json"),
	} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := parseInto(c, "pump-labels", p, b); err != nil {
			t.Fatal(err)
		}
		kinds[filepath.Base(p)] = c.file.Kind
		switch filepath.Base(p) {
		case "P&Ds.csv":
			// 76 rows, all Binance (SOURCE.md).
			if c.file.Rows != 76 || c.file.Skipped != 0 {
				t.Errorf("P&Ds.csv rows %d skipped %d, want 76/0", c.file.Rows, c.file.Skipped)
			}
		case "pump_telegram.csv":
			// 1,110 rows of which 520 on binance (SOURCE.md).
			if c.file.Rows != 520 || c.file.Skipped != 590 {
				t.Errorf("pump_telegram.csv rows %d skipped %d, want 520/590", c.file.Rows, c.file.Skipped)
			}
		case "pumps.json":
			if c.file.Rows != 498 {
				t.Errorf("pumps.json rows %d, want 498", c.file.Rows)
			}
		}
	}
	want := map[string]string{"P&Ds.csv": "P&Ds.csv", "pump_telegram.csv": "pump_telegram.csv", "pumps.json": "pumps.json"}
	for k, v := range want {
		if kinds[k] != v {
			t.Errorf("%s detected as %q", k, kinds[k])
		}
	}
	inc := mergeLabels(c.out.labels, c.opts)
	// NULS 2020-01-30 17:00 is in all three lists: one incident, sourced by all three.
	nulsAt := time.Date(2020, 1, 30, 17, 0, 0, 0, time.UTC).UnixMicro()
	var nuls int
	ids := map[string]bool{}
	for _, in := range inc {
		if ids[in.ID] {
			t.Errorf("duplicate incident id %s", in.ID)
		}
		ids[in.ID] = true
		if in.Type != detectors.PumpAndDump || in.End-in.Start < detectors.Hour {
			t.Errorf("incident %+v", in)
		}
		if in.Symbol == "NULS/BTC" && in.Start <= nulsAt && nulsAt <= in.End {
			nuls++
			if in.Source != "P&Ds.csv+pump_telegram.csv+pumps.json" || in.Start != nulsAt-2*detectors.Minute ||
				in.End != nulsAt+detectors.Hour {
				t.Errorf("NULS incident %+v", in)
			}
		}
	}
	if nuls != 1 {
		t.Errorf("NULS 2020-01-30 incidents = %d, want 1", nuls)
	}
	// The union is smaller than the sum (76 + 520 + 498 = 1094): duplicates merged.
	if len(inc) >= 1094 || len(inc) < 498 {
		t.Errorf("merged incidents = %d", len(inc))
	}
}

func TestPumpLabelsVariants(t *testing.T) {
	bom := "\xEF\xBB\xBF"
	pnd := bom + "Number_of_P&Ds;channel;coin;exchange;pair;timestamp;announced_growth\r\n" +
		"1;💎 ch;NULS;binance;BTC;2020-01-30 17:00;9,32%\r\n" +
		"2;ch;DREP;binance;USDT;2021-01-01 10:00;12,5%\r\n"
	c, err := parseText(t, "pump-labels", "p.csv", pnd, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.file.Kind != "P&Ds.csv" || len(c.out.labels) != 2 || c.out.labels[0].Symbol != "NULS/BTC" ||
		c.out.labels[1].Symbol != "DREP/USDT" {
		t.Errorf("kind %s labels %+v", c.file.Kind, c.out.labels)
	}
	// Sapienza rows of two groups a few minutes apart are one incident; yobit is dropped.
	sap := "symbol,group,date,hour,exchange\nNULS,BPF,2020-01-30,17:00,binance\nNULS,XYZ,2020-01-30,16:56,binance\nNULS,ATW,2020-01-30,17:00,yobit\n"
	c, err = parseText(t, "pump-labels", "s.csv", sap, Options{})
	if err != nil {
		t.Fatal(err)
	}
	inc := mergeLabels(c.out.labels, c.opts)
	if len(inc) != 1 || c.file.Skipped != 1 {
		t.Fatalf("incidents %+v skipped %d", inc, c.file.Skipped)
	}
	first := time.Date(2020, 1, 30, 16, 56, 0, 0, time.UTC).UnixMicro()
	if inc[0].Start != first-2*detectors.Minute || inc[0].End != first+4*detectors.Minute+detectors.Hour {
		t.Errorf("merged window %d..%d", inc[0].Start, inc[0].End)
	}
	// Every exchange with "*".
	c, _ = parseText(t, "pump-labels", "s.csv", sap, Options{LabelExchange: "*"})
	if len(c.out.labels) != 3 {
		t.Errorf("with * kept %d rows", len(c.out.labels))
	}
	// JSON with both key spellings; ISO T separator.
	js := `[{"symbol":"NULS-BTC","exchange":"BINANCE_SPOT","time":"2020-01-30 17:00:00"},
	        {"currency_pair":"BRX-BTC","time":"2019-04-04T20:00:02","exchange":"BINANCE_SPOT"}]`
	c, err = parseText(t, "pump-labels", "p.json", js, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.out.labels) != 2 || c.out.labels[1].Symbol != "BRX/BTC" {
		t.Errorf("json labels %+v", c.out.labels)
	}
}

func TestPumpLabelsMalformed(t *testing.T) {
	cases := []struct {
		name, content string
		want          []string
	}{
		{"bad json", "[{\"symbol\":\"A-BTC\",\n \"time\": 5x}]", []string{"l.txt:2", "JSON"}},
		{"json bad time", `[{"symbol":"A-BTC","time":"yesterday"}]`, []string{"column time", "record 1"}},
		{"json no symbol", `[{"time":"2020-01-01 00:00"}]`, []string{"column symbol"}},
		{"csv no time", "coin;exchange\nNULS;binance\n", []string{"column timestamp"}},
		{"csv bad time", "coin;exchange;pair;timestamp\nNULS;binance;BTC;30/01/2020\n", []string{"l.txt:2", "column timestamp"}},
		{"csv no coin", "a,b\n1,2\n", []string{"column coin"}},
		{"sapienza bad hour", "symbol,group,date,hour,exchange\nNULS,BPF,2020-01-30,5pm,binance\n", []string{"l.txt:2", "date/hour"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseText(t, "pump-labels", "l.txt", c.content, Options{})
			wantParseError(t, err, c.want...)
		})
	}
}

func TestBinanceFuturesLayouts(t *testing.T) {
	// trades with header, aggTrades without: the same two executions; Binance's flag
	// is_buyer_maker=true means the taker sold.
	trades := "id,price,qty,quote_qty,time,is_buyer_maker\n1,100.5,2,201,1672531200000,true\n2,100.6,1,100.6,1672531200001,false\n"
	c, err := parseText(t, "binance-futures", "BTCUSDT-trades-2023-01-01.csv", trades, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.out.trades) != 2 || c.out.trades[0].Symbol != "BTC/USDT" || c.out.trades[0].V.TakerSide != detectors.Sell ||
		c.out.trades[1].V.TakerSide != detectors.Buy || c.out.trades[0].TS != 1672531200000000 || c.out.trades[1].V.TradeID != 2 {
		t.Errorf("trades %+v", c.out.trades)
	}
	agg := "7,100.5,2,1,3,1672531200000,true\n"
	c, err = parseText(t, "binance-futures", "ETHUSDT-aggTrades-2023-01-01.csv", agg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.out.trades) != 1 || c.out.trades[0].Symbol != "ETH/USDT" || c.out.trades[0].V.TradeID != 7 {
		t.Errorf("aggTrades %+v", c.out.trades)
	}
	// Without a telling name, the column count decides (7 → aggTrades).
	c, err = parseText(t, "binance-futures", "dump.csv", agg, Options{Symbol: "ETHUSDT"})
	if err != nil || c.file.Kind != "aggTrades" {
		t.Errorf("unnamed aggTrades: kind %q err %v", c.file.Kind, err)
	}
}

func TestBinanceFuturesMarksJoin(t *testing.T) {
	c, _ := newParseCtx(Options{})
	// Two 1m mark klines closing at :59.999; an index kline for the first only; a premium kline
	// for the second; a funding rate at 00:00.
	mark := "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n" +
		"1672531200000,100,101,99,100.5,0,1672531259999,0,0,0,0,0\n" +
		"1672531260000,100.5,101,99,101,0,1672531319999,0,0,0,0,0\n"
	index := "1672531200000,100,101,99,100.4,0,1672531259999,0,0,0,0,0\n"
	prem := "1672531260000,0,0,0,0.01,0,1672531319999,0,0,0,0,0\n"
	funding := "calc_time,funding_interval_hours,last_funding_rate\n1672531200000,8,0.0001\n"
	for name, content := range map[string]string{
		"BTCUSDT-markPriceKlines-1m-2023-01-01.csv":    mark,
		"BTCUSDT-indexPriceKlines-1m-2023-01-01.csv":   index,
		"BTCUSDT-premiumIndexKlines-1m-2023-01-01.csv": prem,
		"BTCUSDT-fundingRate-2023-01.csv":              funding,
	} {
		f := formats["binance-futures"]
		in, _, _ := wrapInput(name, strings.NewReader(content), nil)
		c.file = &InputReport{}
		if err := f.parse(c, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := finishBinanceFutures(c); err != nil {
		t.Fatal(err)
	}
	if len(c.out.marks) != 2 {
		t.Fatalf("marks %+v", c.out.marks)
	}
	m0, m1 := c.out.marks[0], c.out.marks[1]
	if m0.TS != 1672531259999000 || m0.V.MarkPrice != 100.5 || m0.V.IndexPrice != 100.4 || !m0.V.HasFunding || m0.V.FundingRate != 0.0001 {
		t.Errorf("mark 0 %+v", m0)
	}
	// Index from the premium: 101 / 1.01 = 100 (hand computation).
	if math.Abs(m1.V.IndexPrice-100) > 1e-9 || m1.V.MarkPrice != 101 {
		t.Errorf("mark 1 %+v", m1)
	}
}

func TestBinanceFuturesZipAndErrors(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("BTCUSDT-aggTrades-2023-01-01.csv")
	w.Write([]byte("7,100.5,2,1,3,1672531200000,true\n"))
	zw.Close()
	dir := t.TempDir()
	p := writeFile(t, dir, "download.zip", buf.Bytes())
	in, closeFn, err := openInput(p)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	c, _ := newParseCtx(Options{})
	c.file = &InputReport{}
	if err := parseBinanceFutures(c, in); err != nil {
		t.Fatal(err)
	}
	if len(c.out.trades) != 1 || c.out.trades[0].Symbol != "BTC/USDT" {
		t.Errorf("zip trades %+v", c.out.trades)
	}

	cases := []struct {
		name, file, content string
		want                []string
	}{
		{"bad flag", "BTCUSDT-trades-x.csv", "1,1,1,1,1672531200000,maybe\n", []string{"x.csv:1", "column is_buyer_maker"}},
		{"short row", "BTCUSDT-aggTrades-x.csv", "7,100.5,2,1,3\n", []string{"x.csv:1", "want 7"}},
		{"unknown kind", "whatever.csv", "1,2,3,4,5\n", []string{"cannot tell the Binance dump kind"}},
		{"kline without name", "k.csv", "open_time,open,high,low,close,volume,close_time,a,b,c,d,e\n", []string{"cannot tell"}},
		{"trade klines", "BTCUSDT-klines-1m-x.csv", "1,1,1,1,1,1,1,1,1,1,1,1\n", []string{"trade klines"}},
		{"funding alone", "BTCUSDT-fundingRate-x.csv", "1672531200000,8,0.0001\n", []string{"markPriceKlines"}},
		{"bad id", "BTCUSDT-trades-x.csv", "x,1,1,1,1672531200000,true\n", []string{"column id"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseText(t, "binance-futures", tc.file, tc.content, Options{})
			wantParseError(t, err, tc.want...)
		})
	}
}

func TestTardisRealSamples(t *testing.T) {
	dir := sharedData(t, "tardis-csv-samples")
	read := func(name string) (*parseCtx, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		c, _ := newParseCtx(Options{})
		return c, parseInto(c, "tardis", filepath.Join(dir, name), b)
	}
	c, err := read("bitmex_trades_XBTUSD.csv")
	if err != nil {
		t.Fatal(err)
	}
	// 10 rows; first: bitmex,XBTUSD,1583020803145000,...,sell,8531.5,2152 (SOURCE.md).
	if len(c.out.trades) != 10 || c.out.trades[0].Symbol != "XBT/USD" || c.out.trades[0].TS != 1583020803145000 ||
		c.out.trades[0].V.TakerSide != detectors.Sell || c.out.trades[0].V.Qty != 2152 || !c.out.tradeIDMissing {
		t.Errorf("bitmex trades: %d rows, first %+v", len(c.out.trades), c.out.trades[0])
	}

	c, err = read("binance-futures_book_snapshot_5_BTCUSDT.csv")
	if err != nil {
		t.Fatal(err)
	}
	// The first snapshot opens 10 levels (5 a side) as new level orders.
	news := 0
	for _, o := range c.out.orders {
		if o.TS == 1598918403696000 {
			if o.V.Event != detectors.OrderNew || o.V.Account != "book:binance-futures" {
				t.Errorf("first snapshot order %+v", o)
			}
			news++
		}
	}
	if news != 10 || c.file.Rows != 10 {
		t.Errorf("first snapshot: %d new orders (want 10), %d rows", news, c.file.Rows)
	}
	// Second snapshot: only asks[0].amount changed 1.714 → 1.476: exactly one amend.
	var second []row[detectors.Order]
	for _, o := range c.out.orders {
		if o.TS == 1598918403888000 {
			second = append(second, o)
		}
	}
	if len(second) != 1 || second[0].V.Event != detectors.OrderAmend || second[0].V.Price != 11657.08 || second[0].V.Qty != 1.476 {
		t.Errorf("second snapshot events %+v", second)
	}

	c, err = read("deribit_incremental_book_L2_BTC-PERPETUAL.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.out.orders) == 0 || c.out.orders[0].Symbol != "BTC-PERPETUAL" || c.out.orders[0].V.Side != detectors.Sell {
		t.Errorf("deribit orders %+v", c.out.orders[:min(3, len(c.out.orders))])
	}
	c, err = read("huobi-dm-swap_quotes_BTC-USD.csv")
	if err != nil {
		t.Fatal(err)
	}
	// First quote opens two levels (ask 8629.3 x 5494, bid 8629.2 x 806).
	if len(c.out.orders) < 2 || c.out.orders[0].V.Price != 8629.3 || c.out.orders[1].V.Price != 8629.2 {
		t.Errorf("huobi quotes %+v", c.out.orders[:min(3, len(c.out.orders))])
	}
	c, err = read("binance-futures_book_snapshot_25_BTCUSDT.csv")
	if err != nil || c.file.Kind != "book_snapshot" {
		t.Errorf("snapshot_25: %v", err)
	}
}

func TestTardisTickerAndLiquidations(t *testing.T) {
	ticker := "exchange,symbol,timestamp,local_timestamp,funding_timestamp,funding_rate,predicted_funding_rate,open_interest,last_price,index_price,mark_price\n" +
		"binance-futures,BTCUSDT,1598918400000000,1598918400100000,,,,,,,\n" +
		"binance-futures,BTCUSDT,1598918401000000,1598918401100000,1598947200000000,0.0001,,5000,11650,11649,11651\n" +
		"binance-futures,BTCUSDT,1598918402000000,1598918402100000,,,,,,,11652\n"
	c, err := parseText(t, "tardis", "binance-futures_derivative_ticker_2020-09-01_BTCUSDT.csv", ticker, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Row 1 has no mark yet: skipped. Row 3 carries the funding and index of row 2 forward.
	if len(c.out.marks) != 2 || c.file.Skipped != 1 {
		t.Fatalf("marks %+v skipped %d", c.out.marks, c.file.Skipped)
	}
	m := c.out.marks[1].V
	if m.MarkPrice != 11652 || m.IndexPrice != 11649 || !m.HasFunding || m.FundingRate != 0.0001 || m.OpenInterest != 5000 {
		t.Errorf("carried mark %+v", m)
	}
	liq := "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\nbinance-futures,BTCUSDT,1598918400000000,1598918400100000,,buy,11650,0.5\n"
	c, err = parseText(t, "tardis", "binance-futures_liquidations_2020-09-01_BTCUSDT.csv", liq, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.out.liqs) != 1 || c.out.liqs[0].V.Side != detectors.Buy || c.out.liqs[0].V.Qty != 0.5 {
		t.Errorf("liquidations %+v", c.out.liqs)
	}
	// Unknown trade sides are skipped and counted, not guessed.
	tr := "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\nftx,BTC-PERP,1598918400000000,1,5,unknown,1,1\nftx,BTC-PERP,1598918400000001,1,6,buy,1,1\n"
	c, err = parseText(t, "tardis", "ftx_trades.csv", tr, Options{})
	if err != nil || len(c.out.trades) != 1 || c.file.Skipped != 1 || c.out.trades[0].V.TradeID != 6 {
		t.Errorf("unknown side: %v %+v skipped %d", err, c.out.trades, c.file.Skipped)
	}
}

func TestTardisMalformed(t *testing.T) {
	h := "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
	cases := []struct {
		name, file, content string
		want                []string
	}{
		{"ambiguous", "x.csv", h, []string{"x.csv:1", "_trades_"}},
		{"bad side", "x_trades.csv", h + "bitmex,XBTUSD,1583020803145000,1,a,up,1,1\n", []string{"x_trades.csv:2", "column side"}},
		{"bad ts", "x_trades.csv", h + "bitmex,XBTUSD,yesterday,1,a,buy,1,1\n", []string{"x_trades.csv:2", "column timestamp"}},
		{"short", "x_trades.csv", h + "bitmex,XBTUSD,1583020803145000\n", []string{"x_trades.csv:2", "column side"}},
		{"no symbol header", "x_trades.csv", "exchange,timestamp\n", []string{"column symbol"}},
		{"unsupported", "x.csv", "exchange,symbol,timestamp,foo\n", []string{"unsupported Tardis data type"}},
		{"book bad amount", "s.csv", "exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount\nb,BTCUSDT,1598918403696000,1,100,-1\n", []string{"s.csv:2", "asks[0].amount"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseText(t, "tardis", tc.file, tc.content, Options{})
			wantParseError(t, err, tc.want...)
		})
	}
}

func TestLobsterRealFile(t *testing.T) {
	dir := sharedData(t, "lobster-amzn-2021-l3")
	path := filepath.Join(dir, "AMZN_2021-04-12_34200000_57600000_message_10.csv")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newParseCtx(Options{})
	if err := parseInto(c, "lobster", path, b); err != nil {
		t.Fatal(err)
	}
	// SOURCE.md counts: 17,187 new, 3 partial cancels, 14,462 deletes, 5,389 visible and 3,632
	// hidden executions, 1 cross. Every row is an event: new/amend/cancel/fill orders for types
	// 1-4 (and type 5 rows with an order id), trades for 4, 5 and 6.
	hiddenWithID := 0
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ",")
		if len(f) > 2 && f[1] == "5" && f[2] != "0" {
			hiddenWithID++
		}
	}
	wantOrders := 17187 + 3 + 14462 + 5389 + hiddenWithID
	if len(c.out.orders) != wantOrders || len(c.out.trades) != 5389+3632+1 || c.file.Rows != 40674 {
		t.Errorf("orders %d (want %d), trades %d (want 9022), rows %d", len(c.out.orders), wantOrders, len(c.out.trades), c.file.Rows)
	}
	// First row 34200.000376608,5,0,10,33578400,1,null: a hidden execution against a buy order
	// at 09:30:00.000376 New York = 13:30:00.000376 UTC (EDT), so the taker sold.
	first := c.out.trades[0]
	wantTS := time.Date(2021, 4, 12, 13, 30, 0, 376000, time.UTC).UnixMicro()
	if first.TS != wantTS || first.Symbol != "AMZN" || first.V.Price != 3357.84 || first.V.TakerSide != detectors.Sell {
		t.Errorf("first trade %+v (want ts %d)", first, wantTS)
	}
	accounts := map[string]bool{}
	for _, o := range c.out.orders {
		accounts[o.V.Account] = true
	}
	if !accounts["UBSS"] {
		t.Error("MPID UBSS not used as an account")
	}
}

func TestLobsterSemantics(t *testing.T) {
	msgs := "34200.5,1,11,100,1000000,1,null\n" + // new buy 100 @ 100.00
		"34201,2,11,30,1000000,1,null\n" + // partial cancel 30 → qty 70
		"34202,4,11,20,1000000,1,null\n" + // execution 20 → leaves 50
		"34203,3,11,50,1000000,1,null\n" + // delete the rest
		"34204,1,12,5,1010000,-1,UBSS\n" + // attributed sell
		"34205,4,12,5,1010000,-1,null\n" + // executed in full: account stays UBSS
		"34206,7,0,0,-1,-1,null\n" // halt: skipped
	c, err := parseText(t, "lobster", "AMZN_2021-04-12_34200000_57600000_message_10.csv", msgs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	type ev struct {
		e           detectors.OrderEvent
		qty, leaves float64
		acct        string
	}
	want := []ev{
		{detectors.OrderNew, 100, 100, "ord-11"}, {detectors.OrderAmend, 70, 70, "ord-11"},
		{detectors.OrderFill, 20, 50, "ord-11"}, {detectors.OrderCancel, 50, 0, "ord-11"},
		{detectors.OrderNew, 5, 5, "UBSS"}, {detectors.OrderFill, 5, 0, "UBSS"},
	}
	if len(c.out.orders) != len(want) {
		t.Fatalf("orders %+v", c.out.orders)
	}
	for i, w := range want {
		o := c.out.orders[i].V
		if o.Event != w.e || o.Qty != w.qty || o.LeavesQty != w.leaves || o.Account != w.acct {
			t.Errorf("order %d = %+v, want %+v", i, o, w)
		}
	}
	if len(c.out.trades) != 2 || c.out.trades[0].V.TakerSide != detectors.Sell || c.out.trades[1].V.TakerSide != detectors.Buy ||
		c.out.trades[1].V.MakerAccount != "UBSS" || c.file.Skipped != 1 {
		t.Errorf("trades %+v skipped %d", c.out.trades, c.file.Skipped)
	}
	cases := []struct {
		name, file, content string
		want                []string
	}{
		{"no day", "msgs.csv", "34200,1,1,1,1,1\n", []string{"--symbol and --date"}},
		{"bad type", "A_2021-04-12_x.csv", "34200,9,1,1,1,1\n", []string{"A_2021-04-12_x.csv:1", "column type"}},
		{"bad dir", "A_2021-04-12_x.csv", "34200,1,1,1,1,0\n", []string{"column direction"}},
		{"bad time", "A_2021-04-12_x.csv", "9am,1,1,1,1,1\n", []string{"column time"}},
		{"short", "A_2021-04-12_x.csv", "34200,1,1\n", []string{"A_2021-04-12_x.csv:1", "want 6 or 7"}},
		{"dup new", "A_2021-04-12_x.csv", "34200,1,1,1,1,1\n34201,1,1,1,1,1\n", []string{":2", "submitted twice"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseText(t, "lobster", tc.file, tc.content, Options{})
			wantParseError(t, err, tc.want...)
		})
	}
}
