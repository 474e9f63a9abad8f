package importers

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The classes of malformed input, for every format: a truncated file (a plain file cut
// mid-row, a gzip or zip cut short), a bad header, wrong types, missing columns and bad
// timestamps. Each must give a one-line ParseError naming the file (and the line and column
// where there is one), through Import, and leave the output folder as it was.

// A valid input of each format, the base the variants below are cut from.
var validInputs = map[string]struct{ name, content string }{
	"ccxt-trades": {"NULS_2020-01-30 17.00.csv", ccxtHeader +
		"NULS/BTC,1580231502072,2020-01-28T17:11:42.072Z,buy,2.972e-05,4.0,0.00011888\n" +
		"NULS/BTC,1580231503072,2020-01-28T17:11:43.072Z,sell,2.973e-05,5.0,0.00014865\n"},
	"binance-futures": {"BTCUSDT-trades-2023-01-01.csv", "id,price,qty,quote_qty,time,is_buyer_maker\n" +
		"1,100.5,2,201,1672531200000,true\n2,100.6,1,100.6,1672531200001,false\n"},
	"tardis": {"bitmex_trades_XBTUSD.csv", "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n" +
		"bitmex,XBTUSD,1583020803145000,1583020803307160,a,sell,8531.5,2152\n" +
		"bitmex,XBTUSD,1583020803146000,1583020803307161,b,buy,8531.5,10\n"},
	"lobster": {"AMZN_2021-04-12_34200000_57600000_message_10.csv",
		"34200.000376608,1,11,100,33578400,1,null\n34201.5,4,11,20,33578400,1,null\n"},
	"pump-labels": {"pumps.json", `[{"symbol": "NULS-BTC", "exchange": "BINANCE_SPOT", "time": "2020-01-30 17:00:00"},
 {"symbol": "RDN-BTC", "exchange": "BINANCE_SPOT", "time": "2020-02-01 13:00:00"}]`},
}

// importMalformed imports content named name into a folder already holding a table from a good
// import, and checks the error and that the folder did not change.
func importMalformed(t *testing.T, format, name string, content []byte, fragments ...string) {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "ds")
	good := validInputs[format]
	goodPath := writeFile(t, dir, good.name, []byte(good.content))
	if _, err := Import(format, []string{goodPath}, out, Options{}); err != nil {
		t.Fatalf("the valid %s input: %v", format, err)
	}
	before := folderBytes(t, out)
	bad := writeFile(t, t.TempDir(), name, content)
	_, err := Import(format, []string{bad}, out, Options{})
	wantParseError(t, err, append([]string{bad}, fragments...)...)
	if after := folderBytes(t, out); after != before {
		t.Errorf("a failed import changed the output folder")
	}
}

// folderBytes is every file of dir, names and contents, as one string.
func folderBytes(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	for _, n := range listDir(t, dir) {
		c, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(n)
		b.Write(c)
	}
	return b.String()
}

func TestEveryFormatTruncatedGzip(t *testing.T) {
	for format, v := range validInputs {
		t.Run(format, func(t *testing.T) {
			gz := gzipBytes(t, []byte(v.content))
			// Half the stream: the gzip trailer (and part of the data) is missing.
			importMalformed(t, format, v.name+".gz", gz[:len(gz)/2], "truncated")
		})
	}
}

func TestEveryFormatTruncatedMidRow(t *testing.T) {
	cases := []struct {
		format, name, content string
		want                  []string
	}{
		// Cut after the timestamp of the second row: the row lacks side, price and amount.
		{"ccxt-trades", "t.csv", ccxtHeader + "NULS/BTC,1580231502072,x,buy,2.972e-05,4.0,1\nNULS/BTC,1580231503072,x",
			[]string{":3", "column side"}},
		{"binance-futures", "BTCUSDT-trades-x.csv", "1,100.5,2,201,1672531200000,true\n2,100.6,1", []string{":2", "want 6"}},
		{"tardis", "x_trades.csv", "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n" +
			"bitmex,XBTUSD,1583020803145000,1,a,sell,8531.5,2152\nbitmex,XBTUSD,15830208", []string{":3"}},
		{"lobster", "AMZN_2021-04-12_x.csv", "34200.5,1,11,100,33578400,1,null\n34201.5,4,1", []string{":2", "want 6 or 7"}},
		{"pump-labels", "pumps.json", `[{"symbol": "NULS-BTC", "exchange": "BINANCE_SPOT", "time": "2020-01-30 17:00:00"},
 {"symbol": "RDN-BTC", "exch`, []string{"JSON"}},
		{"pump-labels", "P&Ds.csv", "Number_of_P&Ds;channel;coin;exchange;pair;timestamp;announced_growth\n" +
			"1;ch;NULS;binance;BTC;2020-01-30 17:00;9,32%\n2;ch;RDN;binance", []string{":3", "column"}},
	}
	for _, tc := range cases {
		t.Run(tc.format+"/"+tc.name, func(t *testing.T) {
			importMalformed(t, tc.format, tc.name, []byte(tc.content), tc.want...)
		})
	}
}

func TestBinanceFuturesTruncatedZip(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("BTCUSDT-aggTrades-2023-01-01.csv")
	w.Write([]byte(strings.Repeat("7,100.5,2,1,3,1672531200000,true\n", 100)))
	zw.Close()
	zipped := buf.Bytes()
	// Cut before the central directory: the archive cannot be opened.
	importMalformed(t, "binance-futures", "BTCUSDT-aggTrades-2023-01-01.zip", zipped[:len(zipped)/2], "zip")
}

func TestEveryFormatBadHeader(t *testing.T) {
	cases := []struct {
		format, name, content string
		want                  []string
	}{
		// ccxt: a misspelt column is a missing one.
		{"ccxt-trades", "t.csv", "symbol,timestamp,datetime,side,prize,amount\nNULS/BTC,1580231502072,x,buy,1,1\n",
			[]string{":1", "column price", "missing from the header"}},
		// ccxt: no header at all (the first data row taken for one).
		{"ccxt-trades", "t.csv", "NULS/BTC,1580231502072,x,buy,1,1,1\n", []string{":1", "missing from the header"}},
		// Binance dumps are read by position: a header in another order must not swap price and qty.
		{"binance-futures", "BTCUSDT-trades-x.csv", "id,qty,price,quote_qty,time,is_buyer_maker\n1,2,100.5,201,1672531200000,true\n",
			[]string{":1", "column price", "header"}},
		{"binance-futures", "BTCUSDT-aggTrades-x.csv", "agg_trade_id,price,quantity,first_trade_id,last_trade_id,is_buyer_maker,transact_time\n" +
			"7,100.5,2,1,3,true,1672531200000\n", []string{":1", "column transact_time", "header"}},
		{"binance-futures", "BTCUSDT-fundingRate-x.csv", "calc_time,last_funding_rate,funding_interval_hours\n1672531200000,0.0001,8\n",
			[]string{":1", "column last_funding_rate", "header"}},
		{"tardis", "x_trades.csv", "exchange,symbol,time,local_timestamp,id,side,price,amount\nbitmex,XBTUSD,1583020803145000,1,a,sell,1,1\n",
			[]string{":1", "column timestamp", "missing from the header"}},
		// LOBSTER files have no header: one is a first row whose time is not a number.
		{"lobster", "AMZN_2021-04-12_x.csv", "time,type,order_id,size,price,direction,mpid\n34200.5,1,11,100,33578400,1,null\n",
			[]string{":1", "column time"}},
		{"pump-labels", "l.csv", "coin;exchange;pair;when\nNULS;binance;BTC;2020-01-30 17:00\n", []string{"column timestamp"}},
	}
	for _, tc := range cases {
		t.Run(tc.format+"/"+tc.content[:min(len(tc.content), 24)], func(t *testing.T) {
			importMalformed(t, tc.format, tc.name, []byte(tc.content), tc.want...)
		})
	}
}

func TestEveryFormatWrongTypes(t *testing.T) {
	cases := []struct {
		format, name, content string
		want                  []string
	}{
		{"ccxt-trades", "t.csv", ccxtHeader + "NULS/BTC,1580231502072,x,buy,2.9e-05,four,1\n", []string{":2", "column amount"}},
		{"ccxt-trades", "t.csv", "symbol,timestamp,side,price,amount,id\nNULS/BTC,1580231502072,buy,1,1,x7\n", []string{":2", "column id"}},
		{"binance-futures", "BTCUSDT-trades-x.csv", "1,abc,2,201,1672531200000,true\n", []string{":1", "column price"}},
		{"binance-futures", "BTCUSDT-aggTrades-x.csv", "7,100.5,NaN,1,3,1672531200000,true\n", []string{":1", "column qty"}},
		{"binance-futures", "BTCUSDT-markPriceKlines-1m-x.csv", "1672531200000,100,101,99,cheap,0,1672531259999,0,0,0,0,0\n",
			[]string{":1", "column close"}},
		{"binance-futures", "BTCUSDT-fundingRate-x.csv", "1672531200000,8,high\n", []string{":1", "column last_funding_rate"}},
		{"tardis", "x_trades.csv", "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\nbitmex,XBTUSD,1583020803145000,1,a,buy,abc,1\n",
			[]string{":2", "column price"}},
		{"tardis", "x_trades.csv", "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\nbitmex,XBTUSD,1583020803145000,1,a,buy,1,-3\n",
			[]string{":2", "column amount"}},
		{"tardis", "d_derivative_ticker.csv", "exchange,symbol,timestamp,local_timestamp,funding_rate,mark_price\nb,BTCUSDT,1598918400000000,1,x,1\n",
			[]string{":2", "column funding_rate"}},
		{"lobster", "AMZN_2021-04-12_x.csv", "34200.5,1,eleven,100,33578400,1,null\n", []string{":1", "column order_id"}},
		{"lobster", "AMZN_2021-04-12_x.csv", "34200.5,1,11,-100,33578400,1,null\n", []string{":1", "column size"}},
		{"lobster", "AMZN_2021-04-12_x.csv", "34200.5,1,11,100,3357.84,1,null\n", []string{":1", "column price"}},
		{"pump-labels", "pumps.json", `[{"symbol": 5, "time": "2020-01-30 17:00:00"}]`, []string{"symbol"}},
		{"pump-labels", "pumps.json", `[{"symbol": "NULS-BTC", "time": 1580403600}]`, []string{":1", "JSON"}},
	}
	for _, tc := range cases {
		t.Run(tc.format+"/"+strings.Join(tc.want, ""), func(t *testing.T) {
			importMalformed(t, tc.format, tc.name, []byte(tc.content), tc.want...)
		})
	}
}

func TestEveryFormatMissingColumns(t *testing.T) {
	cases := []struct {
		format, name, content string
		want                  []string
	}{
		{"ccxt-trades", "t.csv", "symbol,timestamp,side,price\nNULS/BTC,1580231502072,buy,1\n", []string{":1", "column amount"}},
		{"binance-futures", "BTCUSDT-trades-x.csv", "id,price,qty,quote_qty,time\n1,100.5,2,201,1672531200000\n",
			[]string{":1", "column is_buyer_maker", "missing from the header"}},
		{"binance-futures", "BTCUSDT-trades-x.csv", "1,100.5,2,201,1672531200000\n", []string{":1", "want 6"}},
		{"binance-futures", "BTCUSDT-markPriceKlines-1m-x.csv", "1672531200000,100,101,99,100.5,0\n", []string{":1", "want 12"}},
		{"tardis", "x_trades.csv", "exchange,symbol,timestamp,local_timestamp,id,side,price\nbitmex,XBTUSD,1583020803145000,1,a,buy,1\n",
			[]string{":1"}},
		{"tardis", "x.csv", "symbol,timestamp,side,price,amount\nXBTUSD,1583020803145000,buy,1,1\n", []string{":1", "column exchange"}},
		{"lobster", "AMZN_2021-04-12_x.csv", "34200.5,1,11,100,33578400\n", []string{":1", "want 6 or 7"}},
		{"pump-labels", "s.csv", "symbol,group,date,exchange\nNULS,BPF,2020-01-30,binance\n", []string{"column"}},
		{"pump-labels", "pumps.json", `[{"symbol": "NULS-BTC", "exchange": "BINANCE_SPOT"}]`, []string{"column time"}},
	}
	for _, tc := range cases {
		t.Run(tc.format+"/"+tc.content[:min(len(tc.content), 24)], func(t *testing.T) {
			importMalformed(t, tc.format, tc.name, []byte(tc.content), tc.want...)
		})
	}
}

func TestEveryFormatBadTimestamps(t *testing.T) {
	cases := []struct {
		format, name, content string
		want                  []string
	}{
		{"ccxt-trades", "t.csv", ccxtHeader + "NULS/BTC,,x,buy,1,1,1\n", []string{":2", "column timestamp", "empty"}},
		{"ccxt-trades", "t.csv", ccxtHeader + "NULS/BTC,2020-01-28T17:11:42Z,x,buy,1,1,1\n", []string{":2", "column timestamp"}},
		// An epoch of 0 or a few seconds is 1970: not market data of any venue fds reads.
		{"ccxt-trades", "t.csv", ccxtHeader + "NULS/BTC,0,x,buy,1,1,1\n", []string{":2", "column timestamp", "1990"}},
		{"ccxt-trades", "t.csv", ccxtHeader + "NULS/BTC,-1580231502072,x,buy,1,1,1\n", []string{":2", "column timestamp"}},
		{"binance-futures", "BTCUSDT-trades-x.csv", "1,100.5,2,201,1672531200000,true\n2,100.6,1,100.6,1672531200,false\n",
			[]string{":2", "column time", "earlier rows"}},
		{"binance-futures", "BTCUSDT-aggTrades-x.csv", "7,100.5,2,1,3,soon,true\n", []string{":1", "column time"}},
		{"binance-futures", "BTCUSDT-fundingRate-x.csv", "99999999999999999999,8,0.0001\n", []string{":1", "column calc_time"}},
		{"tardis", "x_trades.csv", "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n" +
			"bitmex,XBTUSD,1583020803145000,1,a,buy,1,1\nbitmex,XBTUSD,1583020803145,1,b,buy,1,1\n",
			[]string{":3", "column timestamp", "earlier rows"}},
		{"tardis", "x_trades.csv", "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\nbitmex,XBTUSD,NaN,1,a,buy,1,1\n",
			[]string{":2", "column timestamp"}},
		{"lobster", "AMZN_2021-04-12_x.csv", "-5,1,11,100,33578400,1,null\n", []string{":1", "column time"}},
		{"lobster", "AMZN_2021-04-12_x.csv", "34200.0003766081,1,11,100,33578400,1,null\n", []string{":1", "column time"}},
		{"lobster", "AMZN_2021-04-12_x.csv", "999999,1,11,100,33578400,1,null\n", []string{":1", "column time"}},
		{"lobster", "AMZN_2021-04-12_x.csv", "3.42e4,1,11,100,33578400,1,null\n", []string{":1", "column time"}},
		{"pump-labels", "pumps.json", `[{"symbol": "NULS-BTC", "time": "2020-13-30 17:00:00"}]`, []string{"column time"}},
		{"pump-labels", "pumps.json", `[{"symbol": "NULS-BTC", "time": "1970-01-01 00:00:00"}]`, []string{"column time", "1990"}},
		{"pump-labels", "s.csv", "symbol,group,date,hour,exchange\nNULS,BPF,30/01/2020,17:00,binance\n", []string{":2", "date/hour"}},
	}
	for _, tc := range cases {
		t.Run(tc.format+"/"+tc.content[max(0, len(tc.content)-40):], func(t *testing.T) {
			importMalformed(t, tc.format, tc.name, []byte(tc.content), tc.want...)
		})
	}
}

// A LOBSTER file's day comes from its name (or --date): an implausible day is refused before
// any row, like an implausible epoch elsewhere.
func TestLobsterImplausibleDay(t *testing.T) {
	importMalformed(t, "lobster", "AMZN_1900-01-02_34200000_57600000_message_10.csv",
		[]byte("34200.5,1,11,100,33578400,1,null\n"), "1990")
}
