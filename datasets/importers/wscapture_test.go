package importers

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// eventLine renders one imported row compactly, for comparing with hand-written expectations.
func eventLine(ev detectors.Event) string {
	switch ev.Kind {
	case detectors.KindOrder:
		o := ev.Order
		return fmt.Sprintf("%d %s order %s %s #%d %s %g qty=%g leaves=%g", ev.TS, ev.Symbol, o.Account, o.Event, o.OrderID,
			o.Side, o.Price, o.Qty, o.LeavesQty)
	case detectors.KindTrade:
		t := ev.Trade
		return fmt.Sprintf("%d %s trade #%d %s %g x %g", ev.TS, ev.Symbol, t.TradeID, t.TakerSide, t.Price, t.Qty)
	case detectors.KindMark:
		m := ev.Mark
		s := fmt.Sprintf("%d %s mark %g index %g", ev.TS, ev.Symbol, m.MarkPrice, m.IndexPrice)
		if m.HasFunding {
			s += fmt.Sprintf(" funding %g", m.FundingRate)
		}
		if m.HasOpenInterest {
			s += fmt.Sprintf(" oi %g", m.OpenInterest)
		}
		return s
	}
	return fmt.Sprintf("unexpected %v", ev.Kind)
}

// importedLines imports one capture into a fresh folder and renders every table's rows (marks,
// orders, trades, each in time order).
func importedLines(t *testing.T, name, capture string) ([]string, Report) {
	t.Helper()
	path := writeFile(t, t.TempDir(), name, []byte(capture))
	out := filepath.Join(t.TempDir(), "ds")
	rep, err := Import("ws-capture", []string{path}, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, table := range []string{datasets.TableMarks, datasets.TableOrders, datasets.TableTrades} {
		if _, err := os.Stat(filepath.Join(out, table+".parquet")); err != nil {
			continue
		}
		for _, ev := range readEvents(t, out, table) {
			lines = append(lines, eventLine(ev))
		}
	}
	return lines, rep
}

// One tiny capture per venue, every expected row computed by hand from the messages (times:
// Unix ms × 1000, or Unix seconds × 1e6 for receive times; ISO times converted by hand from the
// connect line's instant, e.g. 1626993367 s is 2021-07-22T22:36:07Z).
func TestWSCaptureVenues(t *testing.T) {
	cases := []struct {
		name, capture string
		want          []string
		rows, skipped int64
		kind          string
	}{
		{
			name: "BINANCE_FUTURES.ws.1.0",
			capture: `wss://fstream.binance.com/stream?streams=btcusdt@aggTrade/btcusdt@depth@100ms <-> 1626992740.5
wss://fstream.binance.com/stream?streams=btcusdt@aggTrade <- 1626992740.6: {"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":1}
1626992740.7: {"result":null,"id":1}
1626992741.1: {"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1626992741037,"T":1626992741024,"s":"BTCUSDT","U":1,"u":2,"pu":0,"b":[["100.5","2"],["100.0","0"]],"a":[["101.0","3"]]}}
1626992741.2: {"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1626992741575,"a":42,"s":"BTCUSDT","p":"101.0","q":"1.5","f":1,"l":2,"T":1626992741421,"m":false}}
1626992741.3: {"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1626992741600,"T":1626992741590,"s":"BTCUSDT","U":3,"u":4,"pu":2,"b":[["100.5","0"]],"a":[["101.0","1.5"]]}}
1626992741.4: {"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":5,"s":"BTCUSDT","b":"100.5","B":"2","a":"101.0","A":"3","T":1626992741012,"E":1626992741017}}
1626992741.5: {"stream":"btcusdt@markPrice","data":{"e":"markPriceUpdate","E":1626992742000,"s":"BTCUSDT","p":"100.9","P":"100.8","i":"100.7","r":"0.0001","T":1626998400000}}
1626992741.6: {"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1626992741800,"a":43,"s":"BTCUSDT","p":"100.5","q":"2","f":3,"l":3,"T":1626992741700,"m":true}}

`,
			// The mark is "p" (100.9), not "P" (estimated settle price, 100.8); the level
			// 100.0 at qty 0 was never seen, so it makes no order; m=true: the taker sold.
			want: []string{
				"1626992742000000 BTC/USDT mark 100.9 index 100.7 funding 0.0001",
				"1626992741024000 BTC/USDT order book:binance-futures new #1 buy 100.5 qty=2 leaves=2",
				"1626992741024000 BTC/USDT order book:binance-futures new #2 sell 101 qty=3 leaves=3",
				"1626992741590000 BTC/USDT order book:binance-futures cancel #1 buy 100.5 qty=2 leaves=0",
				"1626992741590000 BTC/USDT order book:binance-futures amend #2 sell 101 qty=1.5 leaves=1.5",
				"1626992741421000 BTC/USDT trade #42 buy 101 x 1.5",
				"1626992741700000 BTC/USDT trade #43 sell 100.5 x 2",
			},
			rows: 5, skipped: 2, kind: "ws-capture binance-futures", // skipped: the ack, the bookTicker
		},
		{
			name: "BITMEX.ws.1.0",
			capture: `wss://www.bitmex.com/realtime <-> 1626993367.0
wss://www.bitmex.com/realtime <- 1626993367.5: {"op":"subscribe","args":["orderBookL2:XBTUSD","trade:XBTUSD"]}
1626993367.6: {"info":"Welcome to the BitMEX Realtime API.","timestamp":"2021-07-22T22:36:07.865Z"}
1626993368.0: {"table":"orderBookL2","action":"partial","keys":["symbol","id","side"],"filter":{"symbol":"XBTUSD"},"data":[{"symbol":"XBTUSD","id":8796700000,"side":"Sell","size":500,"price":33000},{"symbol":"XBTUSD","id":8796800000,"side":"Buy","size":200,"price":32000}]}
1626993368.1: {"table":"trade","action":"partial","data":[{"timestamp":"2021-07-22T22:35:59.790Z","symbol":"XBTUSD","side":"Buy","size":1000,"price":32175,"trdMatchID":"00000000-0000-0000-0000-000000000001"}]}
1626993369.25: {"table":"orderBookL2","action":"update","data":[{"symbol":"XBTUSD","id":8796700000,"side":"Sell","size":300}]}
1626993369.5: {"table":"orderBookL2","action":"insert","data":[{"symbol":"XBTUSD","id":8796750000,"side":"Sell","size":100,"price":32500}]}
1626993370.0: {"table":"trade","action":"insert","data":[{"timestamp":"2021-07-22T22:36:09.987Z","symbol":"XBTUSD","side":"Sell","size":100,"price":32000,"trdMatchID":"39744121-c20e-44ba-8cc8-a6b8cdf72885"}]}
1626993370.25: {"table":"orderBookL2","action":"delete","data":[{"symbol":"XBTUSD","id":8796800000,"side":"Buy"}]}
1626993370.5: {"table":"orderBookL2","action":"delete","data":[{"symbol":"XBTUSD","id":1,"side":"Buy"}]}
1626993370.75: {"table":"quote","action":"insert","data":[{"timestamp":"2021-07-22T22:36:10.014Z","symbol":"XBTUSD","bidSize":750,"bidPrice":32000,"askPrice":32500,"askSize":100}]}
`,
			// Book rows at receive time (orderBookL2 has none); update and delete find the
			// price by id. The trade id is FNV-1a 64 of the trdMatchID text with the sign bit
			// cleared, computed with a separate Python implementation of FNV-1a.
			want: []string{
				"1626993368000000 XBT/USD order book:bitmex new #1 sell 33000 qty=500 leaves=500",
				"1626993368000000 XBT/USD order book:bitmex new #2 buy 32000 qty=200 leaves=200",
				"1626993369250000 XBT/USD order book:bitmex amend #1 sell 33000 qty=300 leaves=300",
				"1626993369500000 XBT/USD order book:bitmex new #3 sell 32500 qty=100 leaves=100",
				"1626993370250000 XBT/USD order book:bitmex cancel #2 buy 32000 qty=200 leaves=0",
				"1626993369987000 XBT/USD trade #2021077018057158077 sell 32000 x 100",
			},
			// skipped: welcome info, the partial's trade, the unknown level id 1, the quote
			rows: 7, skipped: 4, kind: "ws-capture bitmex",
		},
		{
			name: "BYBIT.ws.25.0",
			capture: `wss://stream.bybit.com/realtime_public <-> 1618677785.5
wss://stream.bybit.com/realtime_public <- 1618677786.0: {"op":"subscribe","args":["trade.BTCUSDT"]}
1618677786.25: {"success":true,"ret_msg":"","conn_id":"x","request":{"op":"subscribe","args":["trade.BTCUSDT"]}}
1618677786.5: {"topic":"trade.BTCUSDT","data":[{"symbol":"BTCUSDT","tick_direction":"MinusTick","price":"60000.5","size":0.25,"timestamp":"2021-04-17T16:43:05.000Z","trade_time_ms":"1618677785116","side":"Buy","trade_id":"01cacfe9-8d1c-5ee4-995d-d79a43f955a6"}]}
1618677786.75: {"topic":"orderBookL2_25.BTCUSDT","type":"snapshot","data":{"order_book":[{"price":"60000.00","symbol":"BTCUSDT","id":"600000000","side":"Buy","size":1.5},{"price":"60001.00","symbol":"BTCUSDT","id":"600010000","side":"Sell","size":2}]},"cross_seq":"1","timestamp_e6":"1618677786389362"}
1618677787.0: {"topic":"orderBookL2_25.BTCUSDT","type":"delta","data":{"delete":[{"price":"60000.00","symbol":"BTCUSDT","id":"600000000","side":"Buy"}],"update":[{"price":"60001.00","symbol":"BTCUSDT","id":"600010000","side":"Sell","size":1}],"insert":[{"price":"59999.50","symbol":"BTCUSDT","id":"599995000","side":"Buy","size":3}]},"cross_seq":"2","timestamp_e6":"1618677786430132"}
1618677787.25: {"topic":"trade.BTCUSDT","data":[{"symbol":"BTCUSDT","price":"60001.00","size":1,"timestamp":"2021-04-17T16:43:06.000Z","trade_time_ms":"1618677786500","side":"Sell","trade_id":"7"},{"symbol":"BTCUSDT","price":"60001","size":0.5,"timestamp":"2021-04-17T16:43:07.000Z","side":"Buy","trade_id":"8"}]}
`,
			// The first trade (…785.116 s) is before the connect (…785.5 s): skipped. The last
			// has no trade_time_ms: its ISO timestamp, 16:43:07 = 1618677787 s, is used.
			want: []string{
				"1618677786389362 BTC/USDT order book:bybit new #1 buy 60000 qty=1.5 leaves=1.5",
				"1618677786389362 BTC/USDT order book:bybit new #2 sell 60001 qty=2 leaves=2",
				"1618677786430132 BTC/USDT order book:bybit cancel #1 buy 60000 qty=1.5 leaves=0",
				"1618677786430132 BTC/USDT order book:bybit amend #2 sell 60001 qty=1 leaves=1",
				"1618677786430132 BTC/USDT order book:bybit new #3 buy 59999.5 qty=3 leaves=3",
				"1618677786500000 BTC/USDT trade #7 sell 60001 x 1",
				"1618677787000000 BTC/USDT trade #8 buy 60001 x 0.5",
			},
			rows: 4, skipped: 2, kind: "ws-capture bybit", // skipped: the ack, the early trade
		},
		{
			name: "DERIBIT.ws.1.0",
			capture: `wss://www.deribit.com/ws/api/v2 <-> 1626993723.5
wss://www.deribit.com/ws/api/v2 <- 1626993723.7: {"jsonrpc":"2.0","id":0,"method":"public/subscribe","params":{"channels":["book.BTC-PERPETUAL.raw"]}}
1626993723.75: {"jsonrpc":"2.0","id":0,"result":["book.BTC-PERPETUAL.raw"]}
1626993724.0: {"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.BTC-PERPETUAL.raw","data":{"type":"snapshot","timestamp":1626993723632,"instrument_name":"BTC-PERPETUAL","change_id":1,"bids":[["new",32000.0,100.0]],"asks":[["new",32000.5,2000.0],["new",32001.0,50.0]]}}}
1626993724.25: {"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.BTC-PERPETUAL.raw","data":{"type":"change","timestamp":1626993724318,"prev_change_id":1,"instrument_name":"BTC-PERPETUAL","change_id":2,"bids":[["change",32000.0,40.0]],"asks":[["delete",32000.5,0.0]]}}}
1626993724.5: {"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.BTC-PERPETUAL.raw","data":{"timestamp":1626993724400,"instrument_name":"BTC-PERPETUAL","mark_price":32000.25,"index_price":31990.5,"open_interest":12345.0,"funding_8h":-0.0001,"current_funding":0.0}}}
1626993724.75: {"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.BTC-30JUL21-40000-C.raw","data":{"timestamp":1626993724500,"instrument_name":"BTC-30JUL21-40000-C","mark_price":0.0015,"index_price":32208.37,"open_interest":10.0,"greeks":{"delta":0.03}}}}
1626993725.0: {"jsonrpc":"2.0","method":"subscription","params":{"channel":"trades.BTC-PERPETUAL.raw","data":[{"trade_seq":1,"trade_id":"12345","timestamp":1626993724900,"price":32000.5,"amount":10.0,"direction":"buy","instrument_name":"BTC-PERPETUAL"}]}}
1626993725.25: {"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}
`,
			// The option's index is its mark (the index price is the underlying in USD).
			want: []string{
				"1626993724400000 BTC-PERPETUAL mark 32000.25 index 31990.5 funding -0.0001 oi 12345",
				"1626993724500000 BTC-30JUL21-40000-C mark 0.0015 index 0.0015 oi 10",
				"1626993723632000 BTC-PERPETUAL order book:deribit new #1 buy 32000 qty=100 leaves=100",
				"1626993723632000 BTC-PERPETUAL order book:deribit new #2 sell 32000.5 qty=2000 leaves=2000",
				"1626993723632000 BTC-PERPETUAL order book:deribit new #3 sell 32001 qty=50 leaves=50",
				"1626993724318000 BTC-PERPETUAL order book:deribit amend #1 buy 32000 qty=40 leaves=40",
				"1626993724318000 BTC-PERPETUAL order book:deribit cancel #2 sell 32000.5 qty=2000 leaves=0",
				"1626993724900000 BTC-PERPETUAL trade #12345 buy 32000.5 x 10",
			},
			rows: 5, skipped: 2, kind: "ws-capture deribit", // skipped: the result, the heartbeat
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, rep := importedLines(t, tc.name, tc.capture)
			if !slices.Equal(got, tc.want) {
				t.Errorf("imported:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if in := rep.Inputs[0]; in.Rows != tc.rows || in.Skipped != tc.skipped || in.Kind != tc.kind {
				t.Errorf("report %+v, want rows %d skipped %d kind %q", in, tc.rows, tc.skipped, tc.kind)
			}
		})
	}
}

// Without a connect line the venue comes from cryptofeed's file name, else from the message
// shape, and no trade is dropped as early.
func TestWSCaptureVenueWithoutConnectLine(t *testing.T) {
	const msg = `1626992741.2: {"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","a":42,"s":"BTCUSDT","p":"101.0","q":"1.5","T":1626992741421,"m":false}}
1626992741.3: {"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","T":1626992741590,"s":"BTCUSDT","b":[["100.5","1"]],"a":[]}}
`
	for _, tc := range []struct{ name, account string }{
		{"BINANCE_DELIVERY.ws.1.0", "book:binance-delivery"},
		{"capture.txt", "book:binance"},
	} {
		c, err := parseText(t, "ws-capture", tc.name, msg, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.out.trades) != 1 || len(c.out.orders) != 1 || c.out.orders[0].V.Account != tc.account {
			t.Errorf("%s: %d trades, orders %+v; want 1 trade and one order of %s", tc.name, len(c.out.trades), c.out.orders, tc.account)
		}
	}
}

// A venue stamping a book message earlier than the book's previous one: the later message's
// events keep the earlier time, so the sort by time cannot put the cancel before the new.
func TestWSCaptureBookTimeNeverGoesBack(t *testing.T) {
	const capture = `1626992741.1: {"stream":"s","data":{"e":"depthUpdate","T":1626992741500,"s":"BTCUSDT","b":[["100","1"]],"a":[]}}
1626992741.2: {"stream":"s","data":{"e":"depthUpdate","T":1626992741400,"s":"BTCUSDT","b":[["100","0"]],"a":[]}}
`
	got, _ := importedLines(t, "b.ws.1.0", capture)
	want := []string{
		"1626992741500000 BTC/USDT order book:b new #1 buy 100 qty=1 leaves=1",
		"1626992741500000 BTC/USDT order book:b cancel #1 buy 100 qty=1 leaves=0",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// Malformed lines fail with one line naming the file, the line and (for a field) the JSON path;
// nothing is written.
func TestWSCaptureMalformed(t *testing.T) {
	const connect = "wss://fstream.binance.com/stream <-> 1626992740.5\n"
	const good = `1626992741.2: {"stream":"x","data":{"e":"aggTrade","a":42,"s":"BTCUSDT","p":"101.0","q":"1.5","T":1626992741421,"m":false}}` + "\n"
	cases := []struct {
		name, line string
		fragments  []string
	}{
		{"no ts prefix", `{"stream":"x","data":{}}`, []string{"c.ws.1.0:3", "not a capture line"}},
		{"truncated line", good[:60], []string{"c.ws.1.0:3", "bad JSON"}},
		{"corrupt JSON", `1626992741.3: {"stream":"x","data":{"e":"aggTrade",,}}`, []string{"c.ws.1.0:3", "bad JSON"}},
		{"bad price", strings.Replace(good, `"p":"101.0"`, `"p":"abc"`, 1), []string{"c.ws.1.0:3", "column data.p", `"abc" is not a number`}},
		{"negative qty", strings.Replace(good, `"q":"1.5"`, `"q":"-1"`, 1), []string{"c.ws.1.0:3", "column data.q"}},
		{"bad receive time", strings.Replace(good, "1626992741.2", "yesterday", 1), []string{"c.ws.1.0:3", "column receive time"}},
		{"bad trade time", strings.Replace(good, "1626992741421", "16", 1), []string{"c.ws.1.0:3", "column data.T", "outside 1990-2100"}},
		{"object price", strings.Replace(good, `"p":"101.0"`, `"p":{}`, 1), []string{"c.ws.1.0:3", "column data.p"}},
		{"bitmex bad side", `1626993370.0: {"table":"trade","action":"insert","data":[{"timestamp":"2021-07-22T22:36:09.987Z","symbol":"XBTUSD","side":"Hold","size":1,"price":1,"trdMatchID":"a"}]}`,
			[]string{"c.ws.1.0:3", "column data[0].side", "unknown side"}},
		{"bitmex bad time", `1626993370.0: {"table":"trade","action":"insert","data":[{"timestamp":"22:36","symbol":"XBTUSD","side":"Buy","size":1,"price":1,"trdMatchID":"a"}]}`,
			[]string{"c.ws.1.0:3", "column data[0].timestamp"}},
		{"bybit bad size", `1618677787.0: {"topic":"orderBookL2_25.BTCUSDT","type":"delta","data":{"delete":[],"update":[{"price":"1","symbol":"BTCUSDT","side":"Sell","size":"x"}],"insert":[]}}`,
			[]string{"c.ws.1.0:3", "column data.update[0].size"}},
		{"deribit bad action", `1626993724.25: {"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.X.raw","data":{"type":"change","timestamp":1626993724318,"instrument_name":"X","bids":[["move",1,1]],"asks":[]}}}`,
			[]string{"c.ws.1.0:3", "column params.data.bids[0].action"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "c.ws.1.0", []byte(connect+good+tc.line+"\n"+good))
			out := filepath.Join(t.TempDir(), "ds")
			_, err := Import("ws-capture", []string{path}, out, Options{})
			wantParseError(t, err, tc.fragments...)
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a failed import created %s (%v)", out, err)
			}
		})
	}
}

// realCapture describes one of the four captures of exchange-ws-captures/SOURCE.md.
type realCapture struct {
	file string
	// trades, marks are the rows SOURCE.md's message counts give (see each entry).
	trades, marks int
	symbols       []string // the canonical symbols the trades (else marks) carry
	skipped       map[string]int64
}

// The four real captures import whole; counts follow from SOURCE.md's message counts (and, for
// rows inside messages, from counting them in the capture with a separate Python script).
func TestWSCaptureRealFiles(t *testing.T) {
	dir := sharedData(t, "exchange-ws-captures")
	cases := []realCapture{
		// aggTrade 91 messages, one trade each; bookTicker 613 + kline_1m 67 skipped.
		{file: "BINANCE_FUTURES.ws.1.0", trades: 91, symbols: []string{"AKRO/USDT", "CTK/USDT", "KEEP/USDT", "SUSHI/USDT"},
			skipped: map[string]int64{wsSkipNoContent: 680}},
		// trade 17 messages hold 27 trades: 10 in the partials (one per contract, the last
		// trade before subscribing) are skipped, 17 in the 7 inserts are kept. Skipped whole:
		// quote 93, 30 subscription acks and the welcome message.
		{file: "BITMEX.ws.1.0", trades: 17, symbols: []string{"MATIC/USDT", "UNI/USDT", "XBT/USD"},
			skipped: map[string]int64{wsSkipNoContent: 124, wsSkipSnapshotTrade: 10}},
		// ticker 89 messages → 89 marks (options: index = mark); the subscription result skipped.
		{file: "DERIBIT.ws.1.0", marks: 89, skipped: map[string]int64{wsSkipNoContent: 1}},
		// trade 66 messages hold 101 trades; 9 are stamped before the connect time (Bybit sends
		// each symbol's last trade on subscription): 92 kept. 16 subscription acks skipped.
		// DOTUSDT's only trade is such a replay, so 7 of the 8 subscribed symbols trade.
		{file: "BYBIT.ws.25.0", trades: 92, symbols: []string{"ADA/USDT", "BCH/USDT", "ETH/USDT", "LINK/USDT", "LTC/USDT", "UNI/USDT", "XTZ/USDT"},
			skipped: map[string]int64{wsSkipNoContent: 16, wsSkipBeforeConnect: 9}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			connect, lastRecv := captureWindow(t, b)
			c, _ := newParseCtx(Options{})
			if err := parseInto(c, "ws-capture", path, b); err != nil {
				t.Fatal(err)
			}
			if len(c.out.trades) != tc.trades || len(c.out.marks) != tc.marks {
				t.Errorf("%d trades %d marks, want %d and %d", len(c.out.trades), len(c.out.marks), tc.trades, tc.marks)
			}
			if !maps.Equal(c.ws.skipped, tc.skipped) {
				t.Errorf("skipped %v, want %v", c.ws.skipped, tc.skipped)
			}
			syms := map[string]bool{}
			for _, r := range c.out.trades {
				syms[r.Symbol] = true
				// Trades: at or after the connect and no later than the last message received
				// (exchange time precedes receipt; 1 s allows for clock skew).
				if r.TS < connect || r.TS > lastRecv+detectors.Second {
					t.Errorf("trade at %s outside the capture %s..%s", us(r.TS), us(connect), us(lastRecv))
				}
			}
			if tc.symbols != nil && !slices.Equal(sortedKeys(syms), tc.symbols) {
				t.Errorf("trade symbols %v, want %v", sortedKeys(syms), tc.symbols)
			}
			// Book and ticker state may be stamped shortly before the connect (the venue's state at
			// subscription; Deribit's first snapshot is 2.5 s older): 10 s of slack.
			for _, ts := range append(rowTimes(c.out.orders), rowTimes(c.out.marks)...) {
				if ts < connect-10*detectors.Second || ts > lastRecv+detectors.Second {
					t.Errorf("book or mark row at %s outside the capture %s..%s", us(ts), us(connect), us(lastRecv))
					break
				}
			}
			if len(c.out.orders) == 0 {
				t.Error("no level orders")
			}
			// Deribit's 10 instruments are options (SOURCE.md): kept under their instrument
			// names, each mark its own index.
			if tc.marks > 0 {
				marked := map[string]bool{}
				for _, r := range c.out.marks {
					marked[r.Symbol] = true
					if !isDeribitOption(r.Symbol) || r.V.IndexPrice != r.V.MarkPrice || !r.V.HasOpenInterest {
						t.Errorf("option mark %+v", r)
						break
					}
				}
				if len(marked) != 10 {
					t.Errorf("marks of %d instruments, want 10: %v", len(marked), sortedKeys(marked))
				}
			}
			checkLevelLifecycles(t, c.out.orders)
		})
	}
}

// checkLevelLifecycles replays the level orders in the order the import writes them (time, then
// input order) and checks every level's life: new first, then amends, then at most one cancel,
// quantities carried through.
func checkLevelLifecycles(t *testing.T, orders []row[detectors.Order]) {
	t.Helper()
	rows := slices.Clone(orders)
	sortRows(rows)
	open := map[int64]detectors.Order{}
	closed := map[int64]bool{}
	for _, r := range rows {
		o := r.V
		prev, isOpen := open[o.OrderID]
		switch {
		case closed[o.OrderID]:
			t.Fatalf("level %d has an event after its cancel: %+v", o.OrderID, r)
		case o.Event == detectors.OrderNew && isOpen, o.Event != detectors.OrderNew && !isOpen:
			t.Fatalf("level %d: %s out of order (open %v): %+v", o.OrderID, o.Event, isOpen, r)
		case isOpen && (prev.Price != o.Price || prev.Side != o.Side):
			t.Fatalf("level %d changed price or side: %+v then %+v", o.OrderID, prev, o)
		case o.Event == detectors.OrderCancel && (o.Qty != prev.LeavesQty || o.LeavesQty != 0):
			t.Fatalf("level %d cancel of %g, open %g: %+v", o.OrderID, o.Qty, prev.LeavesQty, r)
		case o.Event != detectors.OrderCancel && !(o.Qty > 0 && o.LeavesQty == o.Qty):
			t.Fatalf("level %d bad quantities: %+v", o.OrderID, r)
		}
		if o.Event == detectors.OrderCancel {
			delete(open, o.OrderID)
			closed[o.OrderID] = true
		} else {
			open[o.OrderID] = o
		}
	}
}

// The four captures in one import: datasets.ValidateDataset finds no problem, and importing
// them again gives byte-identical Parquet files.
func TestWSCaptureRealValidAndDeterministic(t *testing.T) {
	dir := sharedData(t, "exchange-ws-captures")
	var paths []string
	for _, f := range []string{"BINANCE_FUTURES.ws.1.0", "BITMEX.ws.1.0", "DERIBIT.ws.1.0", "BYBIT.ws.25.0"} {
		paths = append(paths, filepath.Join(dir, f))
	}
	var outs []string
	for range 2 {
		out := filepath.Join(t.TempDir(), "ds")
		rep, err := Import("ws-capture", paths, out, Options{})
		if err != nil {
			t.Fatal(err)
		}
		// Tables: marks, orders, trades (91 + 17 + 92 = 200 trades).
		if len(rep.Tables) != 3 || rep.Tables[2].Table != datasets.TableTrades || rep.Tables[2].Rows != 200 {
			t.Fatalf("tables %+v", rep.Tables)
		}
		outs = append(outs, out)
	}
	v, err := datasets.ValidateDataset(context.Background(), outs[0], datasets.ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Problems) != 0 {
		t.Errorf("validation problems: %+v", v.Problems)
	}
	names := listDir(t, outs[0])
	if !slices.Equal(names, listDir(t, outs[1])) || !slices.Equal(names, []string{"marks.parquet", "orders.parquet", "trades.parquet"}) {
		t.Fatalf("outputs %v and %v", names, listDir(t, outs[1]))
	}
	for _, n := range names {
		a, errA := os.ReadFile(filepath.Join(outs[0], n))
		b, errB := os.ReadFile(filepath.Join(outs[1], n))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs between two imports of the same captures (%v, %v)", n, errA, errB)
		}
	}
}

// captureWindow returns the connect time (line 1) and the last receive time of a capture.
func captureWindow(t *testing.T, b []byte) (connect, last detectors.Micros) {
	t.Helper()
	ts := newTSColumn(UnitSeconds)
	for i, line := range strings.Split(string(b), "\n") {
		if i == 0 {
			_, s, ok := strings.Cut(line, " <-> ")
			v, err := ts.parse(s)
			if !ok || err != nil {
				t.Fatalf("line 1 %q is not a connect line", line)
			}
			connect = v
			continue
		}
		head, _, ok := strings.Cut(line, ": ")
		if !ok || strings.Contains(head, " <- ") {
			continue
		}
		v, err := ts.parse(head)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		last = max(last, v)
	}
	return connect, last
}

func rowTimes[T any](rows []row[T]) []detectors.Micros {
	out := make([]detectors.Micros, len(rows))
	for i, r := range rows {
		out[i] = r.TS
	}
	return out
}

func us(ts detectors.Micros) string { return time.UnixMicro(ts).UTC().Format("15:04:05.000000") }

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// BenchmarkImportWSCapture imports the four real captures (3.9 MB, 7,133 messages) into one
// dataset folder; it reports input MB/s and messages/s.
func BenchmarkImportWSCapture(b *testing.B) {
	dir := sharedData(b, "exchange-ws-captures")
	var paths []string
	var size int64
	for _, f := range []string{"BINANCE_FUTURES.ws.1.0", "BITMEX.ws.1.0", "DERIBIT.ws.1.0", "BYBIT.ws.25.0"} {
		p := filepath.Join(dir, f)
		st, err := os.Stat(p)
		if err != nil {
			b.Fatal(err)
		}
		paths, size = append(paths, p), size+st.Size()
	}
	out := filepath.Join(b.TempDir(), "ds")
	b.SetBytes(size)
	for b.Loop() {
		if _, err := Import("ws-capture", paths, out, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	// SOURCE.md: 1,535 + 2,120 + 136 + 3,342 messages.
	b.ReportMetric(float64(7133*b.N)/b.Elapsed().Seconds(), "messages/s")
}

// A gzip-compressed capture (told by its magic bytes, whatever its name) imports like the plain
// one: the same tables, byte for byte.
func TestWSCaptureGzip(t *testing.T) {
	dir := sharedData(t, "exchange-ws-captures")
	b, err := os.ReadFile(filepath.Join(dir, "DERIBIT.ws.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	plain := writeFile(t, src, "DERIBIT.ws.1.0", b)
	zipped := writeFile(t, src, "DERIBIT.ws.1.0.gz", gzipBytes(t, b))
	var outs []string
	for _, in := range []string{plain, zipped} {
		out := filepath.Join(t.TempDir(), "ds")
		if _, err := Import("ws-capture", []string{in}, out, Options{}); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
	}
	for _, n := range []string{"marks.parquet", "orders.parquet"} {
		a, errA := os.ReadFile(filepath.Join(outs[0], n))
		z, errZ := os.ReadFile(filepath.Join(outs[1], n))
		if errA != nil || errZ != nil || !bytes.Equal(a, z) {
			t.Errorf("%s: gzip import differs from the plain one (%v, %v)", n, errA, errZ)
		}
	}
}
