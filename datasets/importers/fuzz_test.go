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

func FuzzParseWSCapture(f *testing.F) {
	f.Add("BINANCE_FUTURES.ws.1.0", []byte("wss://fstream.binance.com/stream <-> 1626992740.5\n"+
		`1626992741.1: {"stream":"s","data":{"e":"depthUpdate","T":1626992741024,"s":"BTCUSDT","b":[["100.5","2"]],"a":[["101.0","3"]]}}`+"\n"+
		`1626992741.2: {"stream":"s","data":{"e":"aggTrade","a":42,"s":"BTCUSDT","p":"101.0","q":"1.5","T":1626992741421,"m":false}}`+"\n"+
		`1626992741.5: {"stream":"s","data":{"e":"markPriceUpdate","E":1626992742000,"s":"BTCUSDT","p":"100.9","i":"100.7","r":"0.0001"}}`+"\n"))
	f.Add("BITMEX.ws.1.0", []byte(`1626993368.0: {"table":"orderBookL2","action":"partial","data":[{"symbol":"XBTUSD","id":1,"side":"Sell","size":5,"price":33000}]}`+"\n"+
		`1626993369.0: {"table":"orderBookL2","action":"update","data":[{"symbol":"XBTUSD","id":1,"side":"Sell","size":3}]}`+"\n"+
		`1626993370.0: {"table":"trade","action":"insert","data":[{"timestamp":"2021-07-22T22:36:09.987Z","symbol":"XBTUSD","side":"Sell","size":100,"price":32000,"trdMatchID":"a"}]}`+"\n"))
	f.Add("BYBIT.ws.25.0", []byte(`1618677787.0: {"topic":"orderBookL2_25.BTCUSDT","type":"delta","data":{"delete":[],"update":[],"insert":[{"price":"1","symbol":"BTCUSDT","side":"Buy","size":3}]},"timestamp_e6":"1618677786430132"}`+"\n"+
		`1618677787.25: {"topic":"trade.BTCUSDT","data":[{"symbol":"BTCUSDT","price":"6","size":1,"trade_time_ms":"1618677786500","side":"Sell","trade_id":"7"}]}`+"\n"))
	f.Add("DERIBIT.ws.1.0", []byte(`1626993724.0: {"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.X.raw","data":{"type":"snapshot","timestamp":1626993723632,"instrument_name":"BTC-PERPETUAL","bids":[["new",3.0,1.0]],"asks":[]}}}`+"\n"+
		`1626993724.5: {"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.X","data":{"timestamp":1626993724400,"instrument_name":"BTC-30JUL21-40000-C","mark_price":0.0015,"index_price":31990.5}}}`+"\n"))
	f.Fuzz(func(t *testing.T, name string, b []byte) { fuzzParse(t, "ws-capture", name, b) })
}
