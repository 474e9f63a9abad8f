package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/datasets/synth"
)

// TestGateEndToEnd is the CI gate of docs/ci.md on the small generated market, all in memory
// through Main: back-test, save the baseline, then compare fresh runs with it. An unchanged
// detector passes with an empty alert diff; a weakened default (spoofing's min_score raised to
// 0.99, above every score the detector gives the generated spoofs) fails with exit code 3 and a
// table row naming the detector and the metric.
func TestGateEndToEnd(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if _, err := synth.Generate(synth.Config{Preset: "small", Seed: 1}, data); err != nil {
		t.Fatal(err)
	}
	backtestTo := func(out string, extra ...string) {
		t.Helper()
		args := append([]string{"backtest", "--data", data, "--out", filepath.Join(dir, out), "--quiet"}, extra...)
		if code, stdout, stderr := runFDS(t, args...); code != ExitOK {
			t.Fatalf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	backtestTo("base")
	baseline := filepath.Join(dir, "testdata", "baseline")
	if code, _, stderr := runFDS(t, "baseline", "--run", filepath.Join(dir, "base"), "--out", baseline); code != ExitOK {
		t.Fatalf("baseline: exit %d %s", code, stderr)
	}

	backtestTo("same")
	code, out, _ := runFDS(t, "regress", "--baseline", baseline, "--candidate", filepath.Join(dir, "same"), "--bootstrap", "200")
	if code != ExitOK || !strings.Contains(out, "alerts: identical") || !strings.Contains(out, "PASS") {
		t.Errorf("unchanged detectors: exit %d, want 0 and an empty alert diff\n%s", code, out)
	}
	if !regexp.MustCompile(`(?m)^spoofing\s+recall\s+1\.0000\s+1\.0000\s+\+0\.0000\s+\[\+0\.0000, \+0\.0000\]\s+1\.000\s+0\.01\s+ok$`).MatchString(out) {
		t.Errorf("no unchanged spoofing recall row:\n%s", out)
	}

	backtestTo("weak", "--set", "spoofing.min_score=0.99")
	code, out, stderr := runFDS(t, "regress", "--baseline", baseline, "--candidate", filepath.Join(dir, "weak"), "--bootstrap", "200")
	if code != ExitRegression {
		t.Fatalf("weakened spoofing: exit %d, want 3\n%s", code, out)
	}
	if !regexp.MustCompile(`(?m)^spoofing\s+recall\s+1\.0000\s+0\.0000\s+-1\.0000\s.*REGRESSED$`).MatchString(out) {
		t.Errorf("no regressed spoofing recall row:\n%s", out)
	}
	for _, want := range []string{"regression: spoofing.recall dropped by 1.0000", "configuration changed: spoofing.min_score 0.5 -> 0.99", "disappeared"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// wash_trade did not change: it passes in the same report.
	if !regexp.MustCompile(`(?m)^wash_trade\s+recall\s+1\.0000\s+1\.0000\s+\+0\.0000\s.*ok$`).MatchString(out) {
		t.Errorf("wash_trade recall should be unchanged:\n%s", out)
	}
	if !strings.Contains(stderr, "spoofing.recall") {
		t.Errorf("stderr %q lacks the failed check", stderr)
	}

	// The committed form of a baseline is small: no Parquet, no report.
	entries, _ := os.ReadDir(baseline)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "config.yaml,matches.tsv,metrics.json" {
		t.Errorf("baseline files %v", names)
	}
}

// TestCommittedGateFiles checks what the project's gate reads: the committed baseline loads with
// matches that agree with its metrics, the tolerances parse, and the CI workflow files of
// docs/ci are valid YAML that run the gate and publish its JUnit reports.
func TestCommittedGateFiles(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	base, err := backtest.LoadRegressRun(filepath.Join(root, "testdata", "baseline"))
	if err != nil {
		t.Fatal(err)
	}
	if base.Matches == nil || len(base.Run.Metrics.Detectors) == 0 {
		t.Fatalf("baseline without matches or detectors: %+v", base.Run.Metrics)
	}
	r := backtest.Compare(base, base, backtest.RegressOptions{Replicates: 20, Seed: 1})
	if !r.Passed() || len(r.Notes) != 0 || r.Bootstrap.Unavailable != "" {
		t.Errorf("baseline against itself: regressions %v, notes %v, %s", r.Regressions, r.Notes, r.Bootstrap.Unavailable)
	}
	if _, err := backtest.LoadTolerances(filepath.Join(root, "testdata", "tolerances.yaml"), backtest.DefaultTolerances()); err != nil {
		t.Error(err)
	}
	for file, wants := range map[string][]string{
		"github-workflow.yml": {"make regress", "runs/regress/regress.md", "runs/regress/*.xml"},
		"gitlab-ci.yml":       {"make regress", "junit: runs/regress/*.xml"},
	} {
		data, err := os.ReadFile(filepath.Join(root, "docs", "ci", file))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(data, &doc); err != nil || len(doc) == 0 {
			t.Errorf("%s: not a YAML mapping: %v", file, err)
		}
		for _, w := range wants {
			if !strings.Contains(string(data), w) {
				t.Errorf("%s lacks %q", file, w)
			}
		}
	}
}
