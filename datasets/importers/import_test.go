package importers

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

func readEvents(t *testing.T, dir, table string) []detectors.Event {
	t.Helper()
	ds, err := datasets.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ds.OpenEvents(table)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []detectors.Event
	for {
		var ev detectors.Event
		ok, err := r.Next(&ev)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		out = append(out, ev)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func TestImportWritesSortedTablesAndReplacesOnlyItsOwn(t *testing.T) {
	src := t.TempDir()
	// Two files given out of time order, one gzip: rows come out sorted by time with ids 1..n.
	a := writeFile(t, src, "a.csv.gz", gzipBytes(t, []byte(ccxtHeader+
		"AAA/BTC,1580231503000,x,buy,1,1,1\nAAA/BTC,1580231504000,x,sell,1,2,2\n")))
	b := writeFile(t, src, "b.csv", []byte(ccxtHeader+"BBB-BTC,1580231502000,x,b,2,3,6\n"))
	out := filepath.Join(t.TempDir(), "ds")
	rep, err := Import("ccxt-trades", []string{a, b}, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Tables) != 1 || rep.Tables[0].Table != "trades" || rep.Tables[0].Rows != 3 || len(rep.Inputs) != 2 {
		t.Fatalf("report %+v", rep)
	}
	evs := readEvents(t, out, "trades")
	if len(evs) != 3 || evs[0].Symbol != "BBB/BTC" || evs[0].Trade.TradeID != 1 || evs[2].Trade.TradeID != 3 ||
		evs[2].Trade.TakerSide != detectors.Sell || evs[1].TS != 1580231503000000 {
		t.Fatalf("events %+v", evs)
	}
	first, err := os.ReadFile(filepath.Join(out, "trades.parquet"))
	if err != nil {
		t.Fatal(err)
	}

	// Labels added to the same folder: trades untouched.
	lab := writeFile(t, src, "pumps.json", []byte(`[{"symbol":"AAA-BTC","exchange":"BINANCE_SPOT","time":"2020-01-28 17:12:00"}]`))
	if _, err := Import("pump-labels", []string{lab}, out, Options{}); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, out); strings.Join(got, ",") != "labels.parquet,trades.parquet" {
		t.Errorf("folder holds %v", got)
	}
	after, _ := os.ReadFile(filepath.Join(out, "trades.parquet"))
	if !bytes.Equal(first, after) {
		t.Error("importing labels changed trades.parquet")
	}
	ds, err := datasets.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	inc, err := ds.Labels()
	if err != nil || len(inc) != 1 || inc[0].Symbol != "AAA/BTC" || inc[0].Type != detectors.PumpAndDump {
		t.Fatalf("labels %+v, %v", inc, err)
	}

	// Deterministic: the same import into another folder gives byte-identical files.
	out2 := filepath.Join(t.TempDir(), "ds")
	if _, err := Import("ccxt-trades", []string{a, b}, out2, Options{}); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(filepath.Join(out2, "trades.parquet"))
	if !bytes.Equal(first, again) {
		t.Error("the same import gave different bytes")
	}

	// A failing import leaves the folder as it was: no partial table, no temporary file.
	bad := writeFile(t, src, "bad.csv", []byte(ccxtHeader+"AAA/BTC,1580231503000,x,buy,1,1,1\nAAA/BTC,oops,x,buy,1,1,1\n"))
	_, err = Import("ccxt-trades", []string{bad}, out, Options{})
	wantParseError(t, err, "bad.csv:3", "column timestamp")
	if got := listDir(t, out); strings.Join(got, ",") != "labels.parquet,trades.parquet" {
		t.Errorf("after a failed import the folder holds %v", got)
	}
	kept, _ := os.ReadFile(filepath.Join(out, "trades.parquet"))
	if !bytes.Equal(first, kept) {
		t.Error("a failed import changed trades.parquet")
	}

	// Replacing the table: a new import of trades replaces it.
	if _, err := Import("ccxt-trades", []string{b}, out, Options{}); err != nil {
		t.Fatal(err)
	}
	if n := len(readEvents(t, out, "trades")); n != 1 {
		t.Errorf("replaced trades table has %d rows, want 1", n)
	}
}

func TestImportErrors(t *testing.T) {
	dir := t.TempDir()
	empty := writeFile(t, dir, "e.csv", []byte(ccxtHeader))
	if _, err := Import("nope", []string{empty}, dir, Options{}); err == nil || !strings.Contains(err.Error(), "ccxt-trades") {
		t.Errorf("unknown format: %v", err)
	}
	if _, err := Import("ccxt-trades", nil, dir, Options{}); err == nil {
		t.Error("no inputs accepted")
	}
	if _, err := Import("ccxt-trades", []string{empty}, filepath.Join(dir, "out"), Options{}); err == nil ||
		!strings.Contains(err.Error(), "no rows") {
		t.Errorf("empty input: %v", err)
	}
	if _, err := Import("ccxt-trades", []string{filepath.Join(dir, "missing.csv")}, dir, Options{}); err == nil {
		t.Error("missing input accepted")
	}
	if _, err := Import("ccxt-trades", []string{empty}, dir, Options{TimeUnit: "days"}); err == nil {
		t.Error("bad time unit accepted")
	}
	// A table stored as a folder is not replaced.
	out := t.TempDir()
	os.MkdirAll(filepath.Join(out, "trades"), 0o755)
	good := writeFile(t, dir, "g.csv", []byte(ccxtHeader+"AAA/BTC,1580231503000,x,buy,1,1,1\n"))
	if _, err := Import("ccxt-trades", []string{good}, out, Options{}); err == nil || !strings.Contains(err.Error(), "folder") {
		t.Errorf("table folder: %v", err)
	}
}

func TestImportLobsterAndTardisRoundTrip(t *testing.T) {
	dir := t.TempDir()
	msgs := writeFile(t, dir, "AMZN_2021-04-12_34200000_57600000_message_10.csv", []byte(
		"34200.5,1,11,100,1000000,1,null\n34202,4,11,20,1000000,1,null\n"))
	out := filepath.Join(dir, "ds")
	rep, err := Import("lobster", []string{msgs}, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Tables) != 2 {
		t.Fatalf("tables %+v", rep.Tables)
	}
	orders := readEvents(t, out, "orders")
	trades := readEvents(t, out, "trades")
	if len(orders) != 2 || orders[1].Order.Event != detectors.OrderFill || orders[1].Order.LeavesQty != 80 ||
		len(trades) != 1 || trades[0].Trade.MakerAccount != "ord-11" || trades[0].Trade.MakerOrderID != 11 {
		t.Errorf("orders %+v trades %+v", orders, trades)
	}
	liq := writeFile(t, dir, "x_liquidations_BTCUSDT.csv", []byte("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\nbinance-futures,BTCUSDT,1598918400000000,1,,sell,11650,0.5\n"))
	if _, err := Import("tardis", []string{liq}, out, Options{}); err != nil {
		t.Fatal(err)
	}
	l := readEvents(t, out, "liquidations")
	if len(l) != 1 || l[0].Liquidation.Side != detectors.Sell || l[0].Symbol != "BTC/USDT" {
		t.Errorf("liquidations %+v", l)
	}
	if got := listDir(t, out); strings.Join(got, ",") != "liquidations.parquet,orders.parquet,trades.parquet" {
		t.Errorf("folder %v", got)
	}
}

func BenchmarkImportCCXTTrades(b *testing.B) {
	// 200,000 rows of ccxt trades (about 13 MB of CSV), gzip-compressed like the real windows.
	var sb strings.Builder
	sb.WriteString(ccxtHeader)
	for i := 0; i < 200_000; i++ {
		side := "buy"
		if i%3 == 0 {
			side = "sell"
		}
		fmt.Fprintf(&sb, "NULS/BTC,%d,2020-01-28T17:11:42.072Z,%s,%.8f,%d.0,0.1\n", 1580231502072+int64(i)*37, side, 2.9e-05+float64(i%50)*1e-8, 1+i%900)
	}
	dir := b.TempDir()
	in := writeFile(b, dir, "t.csv.gz", gzipBytes(b, []byte(sb.String())))
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		if _, err := Import("ccxt-trades", []string{in}, filepath.Join(dir, "out"), Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(200_000*b.N)/b.Elapsed().Seconds(), "rows/s")
}
