package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/datasets/synth"
)

const cliTestGrid = `detectors:
  spoofing:
    sweep:
      min_size_ratio: [3, 5]
      max_lifetime: [2, 10]
  wash_trade:
    sweep:
      count_scale: [2, 5]
`

// TestTuneThenBacktestReproduces runs fds tune, then fds backtest --config tuned.yaml on the same
// data: the backtest's metrics.json must be the tuned_metrics of leaderboard.json, value for
// value. fds evaluate of the backtest's alerts over the same period must give them again.
func TestTuneThenBacktestReproduces(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if _, err := synth.Generate(synth.Config{Preset: "small", Seed: 3}, data); err != nil {
		t.Fatal(err)
	}
	grid := filepath.Join(dir, "grid.yaml")
	os.WriteFile(grid, []byte(cliTestGrid), 0o644)
	tuneRun := filepath.Join(dir, "runs", "tune")
	code, out, stderr := fds(t, "tune", "--data", data, "--grid", grid, "--objective", "fbeta:1", "--split", "0.5",
		"--out", tuneRun, "--resamples", "200", "--quiet")
	if code != ExitOK {
		t.Fatalf("tune: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(out, "spoofing") || !strings.Contains(out, "wash_trade") {
		t.Fatalf("tune summary lacks the detectors:\n%s", out)
	}
	for _, f := range []string{"leaderboard.json", "leaderboard.md", "tuned.yaml", "curves.json", "grid.yaml", "manifest.json"} {
		if _, err := os.Stat(filepath.Join(tuneRun, f)); err != nil {
			t.Errorf("tune run folder lacks %s", f)
		}
	}
	var lb struct {
		Configurations int              `json:"configurations"`
		TunedMetrics   json.RawMessage  `json:"tuned_metrics"`
		Detectors      []map[string]any `json:"detectors"`
	}
	readJSONFile(t, filepath.Join(tuneRun, "leaderboard.json"), &lb)
	if lb.Configurations != 6 || len(lb.Detectors) != 2 {
		t.Fatalf("leaderboard: %d configurations, %d detectors; want 4 + 2 = 6 and 2", lb.Configurations, len(lb.Detectors))
	}

	btRun := filepath.Join(dir, "runs", "tuned")
	code, _, stderr = fds(t, "backtest", "--data", data, "--config", filepath.Join(tuneRun, "tuned.yaml"), "--out", btRun, "--quiet")
	if code != ExitOK {
		t.Fatalf("backtest --config tuned.yaml: exit %d\n%s", code, stderr)
	}
	var tuned, backtested backtest.Metrics
	if err := json.Unmarshal(lb.TunedMetrics, &tuned); err != nil {
		t.Fatal(err)
	}
	readJSONFile(t, filepath.Join(btRun, "metrics.json"), &backtested)
	a, _ := json.Marshal(tuned)
	b, _ := json.Marshal(backtested)
	if !bytes.Equal(a, b) {
		t.Fatalf("fds backtest --config tuned.yaml gives\n%s\nfds tune reported\n%s", b, a)
	}

	// --verify backtests the choice once more (the manifest times it, the summary says so) and
	// finds the same figures: leaderboard.json is byte for byte the unverified one's.
	verifiedRun := filepath.Join(dir, "runs", "tune-verified")
	code, _, stderr = fds(t, "tune", "--data", data, "--grid", grid, "--objective", "fbeta:1", "--split", "0.5",
		"--out", verifiedRun, "--resamples", "200", "--verify")
	if code != ExitOK || !strings.Contains(stderr, "backtested once more to verify it") {
		t.Fatalf("tune --verify: exit %d\n%s", code, stderr)
	}
	var tm backtest.Manifest
	readJSONFile(t, filepath.Join(verifiedRun, "manifest.json"), &tm)
	if _, ok := tm.TimingsSeconds["verify"]; !ok {
		t.Fatalf("tune --verify ran no verification backtest: timings %v", tm.TimingsSeconds)
	}
	l1, _ := os.ReadFile(filepath.Join(tuneRun, "leaderboard.json"))
	l2, _ := os.ReadFile(filepath.Join(verifiedRun, "leaderboard.json"))
	if !bytes.Equal(l1, l2) {
		t.Fatal("tune --verify wrote another leaderboard.json than tune")
	}

	var manifest backtest.Manifest
	readJSONFile(t, filepath.Join(btRun, "manifest.json"), &manifest)
	evRun := filepath.Join(dir, "runs", "eval")
	code, _, stderr = fds(t, "evaluate", "--alerts", filepath.Join(btRun, "alerts.parquet"), "--labels", data,
		"--from", manifest.FirstTS, "--to", manifest.LastTS, "--out", evRun, "--quiet")
	if code != ExitOK {
		t.Fatalf("evaluate: exit %d\n%s", code, stderr)
	}
	x, _ := os.ReadFile(filepath.Join(btRun, "metrics.json"))
	y, _ := os.ReadFile(filepath.Join(evRun, "metrics.json"))
	if !bytes.Equal(x, y) {
		t.Fatalf("evaluate of the backtest's own alerts:\n%s\nbacktest:\n%s", y, x)
	}

	// An objective no configuration meets: the leaderboard is written, tuned.yaml is not, and
	// the exit status says so. Spoofs 30-40 times a typical order do not occur: recall is 0.
	hopeless := filepath.Join(dir, "hopeless.yaml")
	os.WriteFile(hopeless, []byte("detectors:\n  spoofing:\n    sweep:\n      min_size_ratio: [30, 40]\n"), 0o644)
	infeasible := filepath.Join(dir, "runs", "infeasible")
	code, _, stderr = fds(t, "tune", "--data", data, "--grid", hopeless, "--objective", "min_alerts@recall>=0.5", "--out", infeasible, "--quiet")
	if code != ExitError || !strings.Contains(stderr, "no configuration meets min_alerts@recall>=0.5 for spoofing") {
		t.Fatalf("infeasible objective: exit %d %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(infeasible, "leaderboard.json")); err != nil {
		t.Fatal("the leaderboard must be written when no configuration meets the objective")
	}
	if _, err := os.Stat(filepath.Join(infeasible, "tuned.yaml")); err == nil {
		t.Fatal("tuned.yaml written although no configuration meets the objective")
	}
}

func TestTuneAndEvaluateErrors(t *testing.T) {
	dir := t.TempDir()
	grid := filepath.Join(dir, "grid.yaml")
	os.WriteFile(grid, []byte(cliTestGrid), 0o644)
	badGrid := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badGrid, []byte("detectors:\n  spoofing:\n    sweep:\n      min_size_ratio: [0.5]\n"), 0o644)
	data := filepath.Join(dir, "data")
	out := filepath.Join(dir, "run")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing grid", []string{"tune", "--data", data, "--out", out}, ExitUsage, "needs --data DIR, --grid GRID.yaml and --out RUN"},
		{"bad objective", []string{"tune", "--data", data, "--grid", grid, "--out", out, "--objective", "f2"}, ExitUsage, "--objective"},
		{"split and folds", []string{"tune", "--data", data, "--grid", grid, "--out", out, "--split", "0.5", "--folds", "3"}, ExitUsage, "exclude each other"},
		{"bad split", []string{"tune", "--data", data, "--grid", grid, "--out", out, "--split", "1.5"}, ExitUsage, "--split 1.5"},
		{"bad level", []string{"tune", "--data", data, "--grid", grid, "--out", out, "--level", "95"}, ExitUsage, "--level"},
		{"bad grid", []string{"tune", "--data", data, "--grid", badGrid, "--out", out}, ExitError, badGrid + ":4:24: min_size_ratio: value 0.5 out of range"},
		{"missing data", []string{"tune", "--data", data, "--grid", grid, "--out", out}, ExitError, "does not exist"},
		{"evaluate needs flags", []string{"evaluate", "--alerts", "a.csv"}, ExitUsage, "evaluate needs"},
		{"evaluate bad time", []string{"evaluate", "--alerts", "a.csv", "--labels", data, "--out", out, "--from", "soon"}, ExitUsage, "--from"},
		{"evaluate missing alerts", []string{"evaluate", "--alerts", filepath.Join(dir, "none.parquet"), "--labels", data, "--out", out}, ExitError, "none.parquet"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := fds(t, append(c.args, "--quiet")...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, c.code, c.want)
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n > 0 {
				t.Fatalf("the error must be one line: %q", stderr)
			}
		})
	}
}

func readJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
