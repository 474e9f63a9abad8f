package importers

import (
	"math"
	"strings"
	"testing"

	"github.com/fds-dev/fds/detectors"
)

// fuzzParse runs a parser on arbitrary content: it must never panic, its errors must be one
// line, and what it accepts must be canonical (named sides, finite non-negative prices).
func fuzzParse(t *testing.T, format, name string, content []byte) {
	c, err := newParseCtx(Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = parseInto(c, format, name, content)
	if err != nil {
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("error is not one line: %q", err)
		}
		return
	}
	for _, r := range c.out.trades {
		if r.V.TakerSide != detectors.Buy && r.V.TakerSide != detectors.Sell || !(r.V.Price >= 0) || math.IsInf(r.V.Price, 0) || r.Symbol == "" {
			t.Fatalf("accepted a bad trade %+v", r)
		}
	}
	for _, r := range c.out.orders {
		if r.V.Side != detectors.Buy && r.V.Side != detectors.Sell || r.V.Event == 0 || r.V.Account == "" {
			t.Fatalf("accepted a bad order %+v", r)
		}
	}
	for _, r := range c.out.marks {
		if !(r.V.MarkPrice > 0) || !(r.V.IndexPrice > 0) || math.IsInf(r.V.MarkPrice, 0) {
			t.Fatalf("accepted a bad mark %+v", r)
		}
	}
	for _, l := range mergeLabels(c.out.labels, c.opts) {
		if l.End < l.Start || l.Symbol == "" {
			t.Fatalf("bad incident %+v", l)
		}
	}
}

func FuzzParseCCXTTrades(f *testing.F) {
	f.Add([]byte(ccxtHeader + "NULS/BTC,1580231502072,2020-01-28T17:11:42.072Z,buy,2.972e-05,4.0,0.00011888\n"))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzParse(t, "ccxt-trades", "t.csv", b) })
}

func FuzzParseBinanceFutures(f *testing.F) {
	f.Add("BTCUSDT-aggTrades-2023-01-01.csv", []byte("7,100.5,2,1,3,1672531200000,true\n"))
	f.Add("BTCUSDT-markPriceKlines-1m-2023-01-01.csv", []byte("1672531200000,100,101,99,100.5,0,1672531259999,0,0,0,0,0\n"))
	f.Fuzz(func(t *testing.T, name string, b []byte) { fuzzParse(t, "binance-futures", name, b) })
}

func FuzzParseTardis(f *testing.F) {
	f.Add("bitmex_trades_XBTUSD.csv", []byte("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\nbitmex,XBTUSD,1583020803145000,1583020803307160,ccc3,sell,8531.5,2152\n"))
	f.Add("q.csv", []byte("exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\nhuobi-dm-swap,BTC-USD,1588291201099000,1,5494,8629.3,8629.2,806\n"))
	f.Fuzz(func(t *testing.T, name string, b []byte) { fuzzParse(t, "tardis", name, b) })
}

func FuzzParseLobster(f *testing.F) {
	f.Add([]byte("34200.000376608,5,0,10,33578400,1,null\n34201.117864772,1,7467025,10,33560000,-1,UBSS\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzParse(t, "lobster", "AMZN_2021-04-12_34200000_57600000_message_10.csv", b)
	})
}

func FuzzParsePumpLabels(f *testing.F) {
	f.Add([]byte("\xEF\xBB\xBFNumber_of_P&Ds;channel;coin;exchange;pair;timestamp;announced_growth\n1;c;NULS;binance;BTC;2020-01-30 17:00;9,32%\n"))
	f.Add([]byte(`[{"symbol":"NULS-BTC","exchange":"BINANCE_SPOT","time":"2020-01-30 17:00:00"}]`))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzParse(t, "pump-labels", "l.csv", b) })
}
