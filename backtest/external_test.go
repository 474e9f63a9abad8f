package backtest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

func TestReadAlertsCSV(t *testing.T) {
	src := "\ufeffscore,detector,symbol,ts,type,accounts,window_start,note\n" +
		"0.9,model_x,BTC,2024-01-01T00:00:05.25Z,spoofing,b;a;a,,first\n" +
		"0.1,test_big_trade,ETH,1704067200000000,,,1704067100000000,\n"
	got, err := ReadAlertsCSV("a.csv", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	// 2024-01-01T00:00:05.25Z is 1704067205250000 µs.
	want := []detectors.Alert{
		{Detector: "model_x", Type: detectors.Spoofing, Symbol: "BTC", Accounts: []string{"a", "b"}, TS: 1704067205250000,
			WindowStart: 1704067205250000, WindowEnd: 1704067205250000, Score: 0.9, Evidence: detectors.Evidence{Note: "first"}},
		// An fds detector without a type column value takes its registered type (wash_trade).
		{Detector: "test_big_trade", Type: detectors.WashTrade, Symbol: "ETH", TS: 1704067200000000,
			WindowStart: 1704067100000000, WindowEnd: 1704067200000000, Score: 0.1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestReadAlertsCSVErrors(t *testing.T) {
	head := "detector,symbol,ts,score,type\n"
	cases := []struct{ name, src, want string }{
		{"empty", "", "a.csv: empty file"},
		{"unknown column", "detector,symbol,ts,score,colour\n", `a.csv: line 1: unknown column "colour"`},
		{"missing column", "detector,symbol,ts\n", `a.csv: line 1: missing column "score"`},
		{"duplicate column", "detector,symbol,ts,score,ts\n", `a.csv: line 1: column "ts" appears twice`},
		{"bad score", head + "m,BTC,1,0.5,spoofing\nm,BTC,2,high,spoofing\n", "a.csv: line 3: column score: \"high\" is not a finite number"},
		{"nan score", head + "m,BTC,1,NaN,spoofing\n", "a.csv: line 2: column score"},
		{"bad time", head + "m,BTC,yesterday,0.5,spoofing\n", "a.csv: line 2: column ts: \"yesterday\" is neither"},
		{"unknown type", head + "m,BTC,1,0.5,fraud\n", "a.csv: line 2: column type: unknown incident type"},
		{"no type", head + "m,BTC,1,0.5,\n", "a.csv: line 2: column type: empty, and \"m\" is not an fds detector"},
		{"ragged", head + "m,BTC,1\n", "a.csv: record on line 2: wrong number of fields"},
		{"empty symbol", head + "m,,1,0.5,spoofing\n", "a.csv: line 2: column symbol: empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadAlertsCSV("a.csv", strings.NewReader(c.src))
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q", err, c.want)
			}
		})
	}
}

// TestEvaluateAlertsAgreesWithBacktest scores a backtest's own alerts as if another system had
// raised them: over the same period the metrics must be the backtest's, to the byte.
func TestEvaluateAlertsAgreesWithBacktest(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.MkdirAll(data, 0o755)
	writeTuneDataset(t, data)
	cfg := DefaultConfig()
	if err := cfg.Select([]string{"test_big_trade"}); err != nil {
		t.Fatal(err)
	}
	cfg.Set("test_big_trade.min_qty=5")
	res, err := Run(context.Background(), Options{DataDir: data, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	if err := WriteRunFolder(context.Background(), run, res); err != nil {
		t.Fatal(err)
	}
	alerts, err := ReadAlertsFile(filepath.Join(run, AlertsFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, labels := range []string{data, filepath.Join(data, "labels.parquet")} {
		incidents, err := ReadIncidents(labels)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := EvaluateAlerts(alerts, incidents, EvaluateOptions{Match: cfg.Match, From: res.Stats.FirstTS, To: res.Stats.LastTS})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(ev.Metrics)
		b, _ := json.Marshal(res.Metrics)
		if !bytes.Equal(a, b) {
			t.Fatalf("labels %s: evaluate\n%s\nbacktest\n%s", labels, a, b)
		}
		if !reflect.DeepEqual(ev.Matches, res.Matches) {
			t.Fatalf("labels %s: matches differ", labels)
		}
	}
	out := filepath.Join(dir, "eval")
	ev, _ := EvaluateAlerts(alerts, res.Incidents, EvaluateOptions{Match: cfg.Match})
	if err := WriteEvaluationFolder(context.Background(), out, ev); err != nil {
		t.Fatal(err)
	}
	rf, err := LoadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	if rf.Metrics.Overall.TP != res.Metrics.Overall.TP || len(rf.Alerts) != len(alerts) {
		t.Fatalf("evaluation folder reads back %+v", rf.Metrics.Overall)
	}
	rows, err := datasets.ReadMatches(filepath.Join(out, MatchesFile))
	if err != nil || len(rows) != len(res.Matches) {
		t.Fatalf("matches.parquet: %d rows, %v", len(rows), err)
	}
}

func TestReadIncidentsErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "incidents.parquet")
	os.WriteFile(bad, []byte("not parquet"), 0o644)
	_, err := ReadIncidents(bad)
	if err == nil || !strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), "fds-labels-") {
		t.Fatalf("err = %v, want it to name %s and not the temporary link", err, bad)
	}
	if _, err := ReadIncidents(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("a missing labels path was accepted")
	}
	os.MkdirAll(filepath.Join(dir, "ds"), 0o755)
	writeTuneDataset(t, filepath.Join(dir, "ds"))
	os.Remove(filepath.Join(dir, "ds", "labels.parquet"))
	if _, err := ReadIncidents(filepath.Join(dir, "ds")); err == nil || !strings.Contains(err.Error(), "no labels table") {
		t.Fatalf("err = %v", err)
	}
}
