package backtest

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// writeTrades writes trades with EventWriter (which lets bad values through: the reader is what
// checks them).
func writeTrades(t testing.TB, path string, events []detectors.Event) {
	t.Helper()
	w, err := datasets.NewEventWriter(path, datasets.TableTrades)
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

// robustnessMarket returns 200 good trades of BTC (qty 1..10, one per minute from 2024-01-01)
// and labels: three incidents on BTC and one on ETH, a symbol the trades lack.
func robustnessMarket() ([]detectors.Event, []datasets.Incident) {
	start := detectors.Micros(1_704_067_200_000_000)
	var evs []detectors.Event
	for i := 0; i < 200; i++ {
		evs = append(evs, detectors.Event{TS: start + detectors.Micros(i)*detectors.Minute, Symbol: "BTC", Kind: detectors.KindTrade,
			Trade: detectors.Trade{TradeID: int64(i + 1), Price: 100, Qty: float64(1 + i%10), TakerSide: detectors.Buy, TakerAccount: "a", MakerAccount: "b"}})
	}
	incidents := []datasets.Incident{
		{ID: "i1", Type: detectors.WashTrade, Symbol: "BTC", Accounts: []string{"a"}, Start: evs[9].TS, End: evs[9].TS},
		{ID: "i2", Type: detectors.WashTrade, Symbol: "ETH", Start: evs[19].TS, End: evs[19].TS},
		{ID: "i3", Type: detectors.WashTrade, Symbol: "BTC", Start: evs[99].TS, End: evs[99].TS},
	}
	return evs, incidents
}

func bigTradeConfig(t testing.TB) Config {
	cfg := DefaultConfig()
	if err := cfg.Select([]string{"test_big_trade"}); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Set("test_big_trade.min_qty=9"); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestManifestAccountsForEveryRow: bad rows are rejected and counted by reason with examples
// (read = replayed + rejected), and the run equals one over the data without them.
func TestManifestAccountsForEveryRow(t *testing.T) {
	good, incidents := robustnessMarket()
	bad := append([]detectors.Event(nil), good...)
	// By hand: 202 rows (200 + a duplicate + a far-future one), four bad, at file rows 6, 11, 51
	// and 202 (1-based).
	bad[5].Trade.Price = math.NaN()
	bad[10].Trade.Qty = 0
	dup := bad[49]
	dup.Trade.Qty = 9 // the copy would alert if it got through
	bad = append(bad[:50], append([]detectors.Event{dup}, bad[50:]...)...)
	far := bad[len(bad)-1]
	far.TS = 5_000_000_000_000_000 // year 2128
	far.Trade.TradeID = 999
	bad = append(bad, far)

	dir := t.TempDir()
	dirty, clean := filepath.Join(dir, "dirty"), filepath.Join(dir, "clean")
	var kept []detectors.Event
	for i, ev := range bad {
		if i != 5 && i != 10 && i != 50 && i != len(bad)-1 {
			kept = append(kept, ev)
		}
	}
	for _, d := range []struct {
		dir    string
		events []detectors.Event
	}{{dirty, bad}, {clean, kept}} {
		writeTrades(t, filepath.Join(d.dir, "trades.parquet"), d.events)
		if err := datasets.WriteLabels(filepath.Join(d.dir, "labels.parquet"), incidents); err != nil {
			t.Fatal(err)
		}
	}
	cfg := bigTradeConfig(t)
	res, err := Run(context.Background(), Options{DataDir: dirty, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	trades := res.Manifest.Tables[datasets.TableTrades]
	wantReasons := map[string]int64{"price: not_finite": 1, "qty: zero": 1, "trade_id: duplicate_id": 1, "ts: far_future": 1}
	if trades.Read != 202 || trades.Replayed != 198 || trades.Rejected != 4 || !reflect.DeepEqual(trades.Reasons, wantReasons) {
		t.Fatalf("trades rows %+v", trades)
	}
	path := filepath.Join(dirty, "trades.parquet")
	var rows []int64
	for _, ex := range trades.Examples {
		if ex.File != path {
			t.Fatalf("example names %s, want %s", ex.File, path)
		}
		rows = append(rows, ex.Row)
	}
	if !reflect.DeepEqual(rows, []int64{6, 11, 51, 202}) {
		t.Fatalf("example rows %v", rows)
	}
	labels := res.Manifest.Tables[datasets.TableLabels]
	if labels.Read != 3 || labels.Replayed != 2 || labels.Rejected != 1 || labels.Reasons["symbol: unknown_symbol"] != 1 ||
		labels.Examples[0].Row != 2 || !strings.Contains(labels.Examples[0].Message, `incident i2 names symbol "ETH"`) {
		t.Fatalf("labels rows %+v", labels)
	}
	if len(res.Incidents) != 2 {
		t.Fatalf("%d incidents scored, want 2", len(res.Incidents))
	}
	// The clean data gives the same alerts; only the unknown-symbol incident differs, and it
	// is set aside in both.
	ref, err := Run(context.Background(), Options{DataDir: clean, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Alerts, ref.Alerts) || !reflect.DeepEqual(res.Metrics, ref.Metrics) {
		t.Fatalf("rejecting differs from removing the rows: %d vs %d alerts", len(res.Alerts), len(ref.Alerts))
	}
	if n := len(res.Manifest.Notices); n == 0 || !strings.Contains(strings.Join(res.Manifest.Notices, "\n"), "table trades: rejected 4 of 202 rows") {
		t.Fatalf("notices %q", res.Manifest.Notices)
	}

	// Strict fails at the first problem, naming file, row and column.
	_, err = Run(context.Background(), Options{DataDir: dirty, Config: cfg, Strict: true})
	if err == nil || err.Error() != path+": row 6: column price: NaN is not a finite number" {
		t.Fatalf("strict: %v", err)
	}
	// Strict on data whose only problem is the label.
	_, err = Run(context.Background(), Options{DataDir: clean, Config: cfg, Strict: true})
	if err == nil || err.Error() != filepath.Join(clean, "labels.parquet")+`: row 2: column symbol: incident i2 names symbol "ETH", which no replayed event has` {
		t.Fatalf("strict labels: %v", err)
	}
}

func TestRunWithNothingToReplayFails(t *testing.T) {
	cfg := bigTradeConfig(t)
	dir := t.TempDir()
	writeTrades(t, filepath.Join(dir, "trades.parquet"), nil)
	_, err := Run(context.Background(), Options{DataDir: dir, Config: cfg})
	if !errors.Is(err, ErrNoEvents) || !strings.Contains(err.Error(), "table trades empty") {
		t.Fatalf("empty table: %v", err)
	}
	// Every row rejected.
	good, _ := robustnessMarket()
	for i := range good {
		good[i].Trade.Price = -1
	}
	dir2 := t.TempDir()
	writeTrades(t, filepath.Join(dir2, "trades.parquet"), good[:3])
	_, err = Run(context.Background(), Options{DataDir: dir2, Config: cfg})
	if !errors.Is(err, ErrNoEvents) || !strings.Contains(err.Error(), "every row was rejected") {
		t.Fatalf("all rejected: %v", err)
	}
	// A dataset without the table the detector reads.
	dir3 := t.TempDir()
	if err := datasets.WriteLabels(filepath.Join(dir3, "labels.parquet"), nil); err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), Options{DataDir: dir3, Config: cfg})
	if !errors.Is(err, ErrNoEvents) || !strings.Contains(err.Error(), "none of the tables") {
		t.Fatalf("no table: %v", err)
	}
}

// TestRunsAreByteIdentical: two runs of the same input and config write the same alerts.parquet,
// matches.parquet and metrics.json, byte for byte.
func TestRunsAreByteIdentical(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeTuneDataset(t, data)
	cfg := DefaultConfig()
	if err := cfg.Select([]string{"test_big_trade"}); err != nil {
		t.Fatal(err)
	}
	var files [2]map[string][]byte
	for k := range files {
		res, err := Run(context.Background(), Options{DataDir: data, Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		run := filepath.Join(dir, "run"+string(rune('a'+k)))
		if err := WriteRunFolder(context.Background(), run, res); err != nil {
			t.Fatal(err)
		}
		files[k] = map[string][]byte{}
		for _, name := range []string{AlertsFile, MatchesFile, MetricsFile, ConfigFile} {
			b, err := os.ReadFile(filepath.Join(run, name))
			if err != nil {
				t.Fatal(err)
			}
			files[k][name] = b
		}
		if len(res.Alerts) == 0 {
			t.Fatal("no alerts: the comparison would prove little")
		}
	}
	for name, a := range files[0] {
		if !bytes.Equal(a, files[1][name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "da ta & 'ü'")
	writeTuneDataset(t, data)
	cfg := bigTradeConfig(t)
	res, err := Run(context.Background(), Options{DataDir: data, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	if err := WriteRunFolder(context.Background(), run, res); err != nil {
		t.Fatal(err)
	}
	v, err := Verify(context.Background(), run, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Inputs != 2 || v.Alerts != len(res.Alerts) || len(v.AlertsSHA256) != 64 {
		t.Fatalf("verification %+v", v)
	}

	// Each tampering is a one-line mismatch naming what differs.
	tamper := func(name string, edit func(), want string) {
		t.Helper()
		copyDir := filepath.Join(dir, "tampered-"+name)
		if err := os.CopyFS(copyDir, os.DirFS(run)); err != nil {
			t.Fatal(err)
		}
		saved := run
		run = copyDir
		edit()
		run = saved
		_, err := Verify(context.Background(), copyDir, VerifyOptions{})
		if !IsMismatch(err) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want a mismatch containing %q", name, err, want)
		}
	}
	tamper("metrics", func() {
		p := filepath.Join(run, MetricsFile)
		b, _ := os.ReadFile(p)
		os.WriteFile(p, bytes.Replace(b, []byte(`"tp": `), []byte(`"tp":  `), 1), 0o644)
	}, "metrics.json differs from a rerun at byte")
	tamper("alerts", func() {
		if err := datasets.WriteAlerts(filepath.Join(run, AlertsFile), res.Alerts[1:]); err != nil {
			t.Fatal(err)
		}
	}, "alerts.parquet differs from a rerun")

	// An input that changed, then one that appeared.
	labels := filepath.Join(data, "labels.parquet")
	orig, _ := os.ReadFile(labels)
	if err := datasets.WriteLabels(labels, res.Incidents[1:]); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(context.Background(), run, VerifyOptions{}); !IsMismatch(err) || !strings.Contains(err.Error(), "input labels.parquet changed") {
		t.Fatalf("changed input: %v", err)
	}
	os.WriteFile(labels, orig, 0o644)
	if err := os.Rename(filepath.Join(data, "trades.parquet"), filepath.Join(data, "trades.parquet.bak")); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(data, "trades"), 0o755)
	os.Rename(filepath.Join(data, "trades.parquet.bak"), filepath.Join(data, "trades", "part-0.parquet"))
	if _, err := Verify(context.Background(), run, VerifyOptions{}); !IsMismatch(err) || !strings.Contains(err.Error(), "input trades.parquet (table trades) is gone") {
		t.Fatalf("moved input: %v", err)
	}
	// Not a run folder.
	if _, err := Verify(context.Background(), data, VerifyOptions{}); err == nil || IsMismatch(err) {
		t.Fatalf("a dataset folder verified: %v", err)
	}
}

// TestShardRunsAccountForEveryRow: a shard reads (and rejects) every row and replays its own
// symbols' rows: read = replayed + rejected + other shards; merged, the other shards' rows are
// all replayed.
func TestShardRunsAccountForEveryRow(t *testing.T) {
	good, incidents := robustnessMarket()
	var evs []detectors.Event
	for i, ev := range good {
		if i%2 == 1 {
			ev.Symbol = "ETH" // two symbols, so that both shards have work
		}
		evs = append(evs, ev)
	}
	evs[6].Trade.Price = math.NaN()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeTrades(t, filepath.Join(data, "trades.parquet"), evs)
	if err := datasets.WriteLabels(filepath.Join(data, "labels.parquet"), incidents); err != nil {
		t.Fatal(err)
	}
	cfg := bigTradeConfig(t)
	var runs []string
	var replayed int64
	for k := 0; k < 2; k++ {
		res, err := Run(context.Background(), Options{DataDir: data, Config: cfg, Shard: Shard{Index: k, Count: 2}})
		if err != nil {
			t.Fatal(err)
		}
		rows := res.Manifest.Tables[datasets.TableTrades]
		if rows.Read != 200 || rows.Rejected != 1 || rows.Read != rows.Replayed+rows.Rejected+rows.OtherShards {
			t.Fatalf("shard %d: %+v", k, rows)
		}
		replayed += rows.Replayed
		run := filepath.Join(dir, "shard"+string(rune('0'+k)))
		if err := WriteRunFolder(context.Background(), run, res); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run)
	}
	if replayed != 199 {
		t.Fatalf("the shards replayed %d rows together, want 199", replayed)
	}
	merged, err := MergeRuns(MergeOptions{Runs: runs})
	if err != nil {
		t.Fatal(err)
	}
	rows := merged.Manifest.Tables[datasets.TableTrades]
	if rows.Read != 200 || rows.Replayed != 199 || rows.Rejected != 1 || rows.OtherShards != 0 || rows.Reasons["price: not_finite"] != 1 {
		t.Fatalf("merged: %+v", rows)
	}
}
