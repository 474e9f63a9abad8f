package backtest

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/fds-dev/fds/detectors"
)

// Fuzz targets for every file fds parses besides datasets: config, grid and tolerance files, the
// alerts CSV of fds evaluate, a baseline's matches.tsv and --set assignments. Each must never
// panic, must give one-line errors that start with the file's name, and what it accepts must hold
// the parser's promises (round trips, bounds). `make fuzz` runs them for a while; plain go test
// runs the seed corpora (f.Add and testdata/fuzz).

// checkParseError fails on a multi-line error or one that does not name the file first.
func checkParseError(t *testing.T, name string, err error) {
	t.Helper()
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Fatalf("error is not one line: %q", msg)
	}
	if !strings.HasPrefix(msg, name) {
		t.Fatalf("error does not start with the file name %q: %q", name, msg)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("detectors:\n  test_big_trade:\n    min_qty: 5\n    cooldown: 3600\nmatch:\n  lead_s: 30\n  tolerance_s: 120\n"))
	f.Add([]byte("detectors:\n  test_big_trade: {}\n  nope: {}\n"))
	f.Add([]byte("detectors:\n  test_big_trade:\n    min_qty: -1\n"))
	f.Add([]byte("detectors:\n  test_big_trade:\n    scale: .nan\n"))
	f.Add([]byte("detectors: [\n"))
	f.Add([]byte("match:\n  lead_s: 1e400\n"))
	f.Add([]byte("detectors:\n  test_big_trade:\n    min_qty: &a 3\n    scale: *a\n"))
	f.Add([]byte("extra: 1\n"))
	if b, err := FormatConfig(DefaultConfig()); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.yaml"
		c, err := ParseConfig(name, data)
		if err != nil {
			checkParseError(t, name, err)
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted an invalid config: %v", err)
		}
		// What is accepted is written back by FormatConfig and reads back the same.
		out, err := FormatConfig(c)
		if err != nil {
			t.Fatalf("FormatConfig of an accepted config: %v", err)
		}
		again, err := ParseConfig(name, out)
		if err != nil {
			t.Fatalf("FormatConfig output does not parse: %v\n%s", err, out)
		}
		want, _ := c.Effective()
		got, _ := again.Effective()
		if !reflect.DeepEqual(want, got) || again.Match != c.Match {
			t.Fatalf("round trip changed the config:\n%v %+v\n%v %+v", want, c.Match, got, again.Match)
		}
	})
}

func FuzzParseGrid(f *testing.F) {
	f.Add([]byte(tuneTestGrid))
	f.Add([]byte("detectors:\n  test_big_trade:\n    sweep:\n      scale: {linear: [1, 10, 4]}\n      cooldown: {log: [1, 1000, 4]}\n"))
	f.Add([]byte("detectors:\n  test_big_trade:\n    fixed:\n      min_score: 0.2\n    sweep:\n      min_qty: [1, 2]\nmatch:\n  lead_s: 5\n"))
	f.Add([]byte("detectors:\n  test_big_trade:\n    sweep:\n      scale: {log: [0, 10, 3]}\n"))
	f.Add([]byte("detectors:\n  test_big_trade:\n    sweep:\n      scale: {linear: [1, 2, 100000]}\n      min_qty: {linear: [1, 2, 1000]}\n"))
	f.Add([]byte("detectors: {}\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "grid.yaml"
		g, err := ParseGrid(name, data)
		if err != nil {
			checkParseError(t, name, err)
			return
		}
		n := g.Size()
		if n < 1 || n > MaxGridConfigs {
			t.Fatalf("accepted a grid of %d configurations", n)
		}
		configs := g.Expand()
		if len(configs) != n {
			t.Fatalf("Expand gave %d configurations, Size says %d", len(configs), n)
		}
		for _, c := range configs {
			spec, ok := detectors.Lookup(c.Detector)
			if !ok {
				t.Fatalf("configuration of unknown detector %s", c.Detector)
			}
			if _, err := spec.Resolve(c.Values); err != nil {
				t.Fatalf("configuration %s does not resolve: %v", c.ID, err)
			}
		}
		if !bytes.Equal(g.Source, data) {
			t.Fatal("grid Source is not the file's text")
		}
	})
}

func FuzzParseTolerances(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("metrics:\n  recall: 0.02\n  alerts_per_day: 10%\ndetectors:\n  spoofing:\n    precision: 0.05\n"))
	f.Add([]byte("metrics:\n  recall: -1\n"))
	f.Add([]byte("metrics:\n  nope: 1\n"))
	f.Add([]byte("metrics:\n  ttd_median: 1e309%\n"))
	f.Add([]byte("metrics: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "tol.yaml"
		tol, err := ParseTolerances(name, data, DefaultTolerances())
		if err != nil {
			checkParseError(t, name, err)
			return
		}
		for _, metric := range RegressMetrics {
			a := tol.For("x", metric).Allowed(0.5)
			if math.IsNaN(a) || a < 0 {
				t.Fatalf("tolerance of %s allows %v", metric, a)
			}
		}
	})
}

func FuzzReadAlertsCSV(f *testing.F) {
	head := "detector,symbol,ts,score,type,accounts,window_start,window_end,note\n"
	f.Add([]byte(head + "m,BTC,2024-01-01T00:00:00Z,0.5,spoofing,a;b,1704067190000000,1704067200000000,x\n"))
	f.Add([]byte(head + "test_big_trade,ETH,1704067200000000,1,,,,,\n"))
	f.Add([]byte("detector,symbol,ts,score\nm,BTC,1,NaN\n"))
	f.Add([]byte("detector,symbol,ts,score\nm,BTC,9999999999999999999,1\n"))
	f.Add([]byte("\"unterminated\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "alerts.csv"
		alerts, err := ReadAlertsCSV(name, bytes.NewReader(data))
		if err != nil {
			checkParseError(t, name, err)
			return
		}
		for _, a := range alerts {
			if a.Symbol == "" || a.Detector == "" || math.IsNaN(a.Score) || math.IsInf(a.Score, 0) {
				t.Fatalf("accepted a bad alert %+v", a)
			}
			if _, err := detectors.ParseIncidentType(string(a.Type)); err != nil {
				t.Fatalf("accepted an alert of type %q", a.Type)
			}
		}
	})
}

func FuzzParseMatchesTSV(f *testing.F) {
	f.Add([]byte(matchesTSVHeader + "\nd\ttp\tk\ti\tBTC\t0.5\t10\t5\t5\nd\tfn\t\ti2\tBTC\t\t0\t7\t0\n"))
	f.Add([]byte(matchesTSVHeader + "\nd\tmaybe\tk\ti\tBTC\t0.5\t10\t5\t5\n"))
	f.Add([]byte("nope\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "matches.tsv"
		rows, err := ParseMatchesTSV(name, bytes.NewReader(data))
		if err != nil {
			checkParseError(t, name, err)
			return
		}
		for _, r := range rows {
			switch r.Outcome {
			case "tp", "fp", "fn":
			default:
				t.Fatalf("accepted outcome %q", r.Outcome)
			}
		}
	})
}

func FuzzConfigSet(f *testing.F) {
	f.Add("test_big_trade.min_qty=5")
	f.Add("test_big_trade.cooldown=1e9")
	f.Add("test_big_trade.scale=true")
	f.Add("nope.x=1")
	f.Add("=")
	f.Fuzz(func(t *testing.T, assignment string) {
		c := DefaultConfig()
		if err := c.Set(assignment); err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("--set %q accepted, but the config is invalid: %v", assignment, err)
		}
	})
}
