package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/internal/fsutil"
)

// runFDS runs the CLI in memory and returns its exit code, stdout and stderr.
func runFDS(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// writeRegressRun writes a run folder (metrics.json and matches.parquet) for a spoofing detector
// scored against 20 incidents, detecting those for which detected(i) holds, with one alert 10 s
// after each detected incident's start, plus fps false positives; the span is one day.
func writeRegressRun(t *testing.T, dir string, detected func(i int) bool, fps int) string {
	t.Helper()
	t0 := detectors.Micros(1_704_067_200) * detectors.Second
	var alerts []detectors.Alert
	var incidents []datasets.Incident
	for i := 0; i < 20; i++ {
		start := t0 + detectors.Micros(i)*detectors.Hour
		acct := fmt.Sprintf("acct%02d", i)
		incidents = append(incidents, datasets.Incident{ID: fmt.Sprintf("inc-%02d", i), Type: detectors.Spoofing,
			Symbol: "BTCUSDT", Accounts: []string{acct}, Start: start, End: start + detectors.Minute})
		if detected(i) {
			alerts = append(alerts, detectors.Alert{Detector: "spoofing", Type: detectors.Spoofing, Symbol: "BTCUSDT",
				Accounts: []string{acct}, TS: start + 10*detectors.Second, Score: 0.8})
		}
	}
	for k := 0; k < fps; k++ {
		alerts = append(alerts, detectors.Alert{Detector: "spoofing", Type: detectors.Spoofing, Symbol: "ETHUSDT",
			Accounts: []string{"noise"}, TS: t0 + detectors.Micros(k)*detectors.Hour, Score: 0.6})
	}
	cfg := backtest.DefaultMatchConfig()
	cfg.Detectors = map[string]detectors.IncidentType{"spoofing": detectors.Spoofing}
	m := backtest.Match(alerts, incidents, cfg)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := fsutil.WriteJSON(filepath.Join(dir, backtest.MetricsFile), backtest.ComputeMetrics(&m, detectors.Day)); err != nil {
		t.Fatal(err)
	}
	if err := datasets.WriteMatches(filepath.Join(dir, backtest.MatchesFile), m.Rows()); err != nil {
		t.Fatal(err)
	}
	return dir
}

func allDetected(int) bool { return true }

func TestRegressExitCodes(t *testing.T) {
	dir := t.TempDir()
	base := writeRegressRun(t, filepath.Join(dir, "base"), allDetected, 0)
	same := writeRegressRun(t, filepath.Join(dir, "same"), allDetected, 0)
	// Recall 1 -> 0.5: the odd incidents are missed (precision stays 1: no false positives).
	worse := writeRegressRun(t, filepath.Join(dir, "worse"), func(i int) bool { return i%2 == 0 }, 0)

	code, out, _ := runFDS(t, "regress", "--baseline", base, "--candidate", same, "--bootstrap", "200")
	if code != ExitOK || !strings.Contains(out, "PASS") || !strings.Contains(out, "alerts: identical") {
		t.Errorf("identical runs: exit %d\n%s", code, out)
	}

	code, out, errOut := runFDS(t, "regress", "--baseline", base, "--candidate", worse, "--bootstrap", "200")
	if code != ExitRegression {
		t.Errorf("recall drop: exit %d, want 3\n%s", code, out)
	}
	for _, want := range []string{"spoofing  recall", "REGRESSED", "regression: spoofing.recall dropped by 0.5000 (1.0000 -> 0.5000)", "10 disappeared"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.HasPrefix(errOut, "fds: FAIL: ") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("stderr %q: want the one-line verdict", errOut)
	}

	// Tolerating the drop for spoofing and overall passes.
	args := []string{"regress", "--baseline", base, "--candidate", worse, "--bootstrap", "0"}
	for _, d := range []string{"spoofing", "overall"} {
		for _, m := range []string{"recall", "f1", "ap"} {
			args = append(args, "--tolerance", d+"."+m+"=0.5")
		}
	}
	if code, out, _ := runFDS(t, args...); code != ExitOK {
		t.Errorf("tolerated drop: exit %d\n%s", code, out)
	}
	// The same through a tolerances file, with a flag on top that tightens recall again.
	tolFile := filepath.Join(dir, "tol.yaml")
	os.WriteFile(tolFile, []byte("metrics:\n  recall: 0.5\n  f1: 0.5\n  ap: 0.5\n"), 0o644)
	if code, _, _ := runFDS(t, "regress", "--baseline", base, "--candidate", worse, "--tolerances", tolFile); code != ExitOK {
		t.Errorf("tolerances file: exit %d", code)
	}
	if code, _, _ := runFDS(t, "regress", "--baseline", base, "--candidate", worse, "--tolerances", tolFile, "--tolerance", "spoofing.recall=0.1"); code != ExitRegression {
		t.Errorf("flag over file: exit %d, want 3", code)
	}

	usage := [][]string{
		{"regress"},
		{"regress", "--baseline", base},
		{"regress", "--baseline", base, "--candidate", same, "--format", "html"},
		{"regress", "--baseline", base, "--candidate", same, "--tolerance", "speed=1"},
		{"regress", "--baseline", base, "--candidate", same, "--level", "95"},
		{"regress", "--baseline", base, "--candidate", same, "--tolerances", filepath.Join(dir, "missing.yaml")},
		{"regress", "--baseline", base, "--candidate", same, "--bogus"},
	}
	for _, a := range usage {
		if code, _, errOut := runFDS(t, a...); code != ExitUsage {
			t.Errorf("%v: exit %d, want 2 (%s)", a, code, errOut)
		}
	}
	code, _, errOut = runFDS(t, "regress", "--baseline", filepath.Join(dir, "nope"), "--candidate", same)
	if code != ExitError || !strings.Contains(errOut, "--baseline") || !strings.Contains(errOut, "nope") {
		t.Errorf("missing baseline: exit %d, %q", code, errOut)
	}
	broken := filepath.Join(dir, "broken")
	os.MkdirAll(broken, 0o755)
	os.WriteFile(filepath.Join(broken, "metrics.json"), []byte("{not json"), 0o644)
	if code, _, errOut := runFDS(t, "regress", "--baseline", base, "--candidate", broken); code != ExitError || !strings.Contains(errOut, "metrics.json") {
		t.Errorf("corrupt candidate: exit %d, %q", code, errOut)
	}
}

func TestRegressFormats(t *testing.T) {
	dir := t.TempDir()
	base := writeRegressRun(t, filepath.Join(dir, "base"), allDetected, 0)
	worse := writeRegressRun(t, filepath.Join(dir, "worse"), func(i int) bool { return i < 15 }, 0)
	common := []string{"regress", "--baseline", base, "--candidate", worse, "--bootstrap", "100"}

	code, out, _ := runFDS(t, append(common, "--format", "json")...)
	var got backtest.Regression
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != ExitRegression {
		t.Fatalf("json: exit %d, %v\n%s", code, err, out)
	}
	if len(got.Regressions) == 0 || got.Regressions[0] != "spoofing.recall" || got.AlertDiff.Disappeared != 5 {
		t.Errorf("json regressions %v, diff %+v", got.Regressions, got.AlertDiff)
	}

	code, out, _ = runFDS(t, append(common, "--format", "markdown")...)
	if code != ExitRegression || !strings.Contains(out, "| **spoofing** | **recall** |") {
		t.Errorf("markdown: exit %d\n%s", code, out)
	}

	// JUnit on stdout, checked as CI tools read it: one suite per detector (spoofing, overall),
	// one case per metric, a failure per regression.
	code, out, _ = runFDS(t, append(common, "--format", "junit")...)
	var j struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Cases    []struct {
				ClassName string    `xml:"classname,attr"`
				Name      string    `xml:"name,attr"`
				Failure   *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(out), &j); err != nil || code != ExitRegression {
		t.Fatalf("junit: exit %d, %v\n%s", code, err, out)
	}
	if j.Tests != 12 || j.Failures != len(got.Regressions) || len(j.Suites) != 2 || j.Suites[0].Name != "spoofing" || j.Suites[0].Tests != 6 {
		t.Errorf("junit counts: tests %d failures %d (want 12, %d), suites %+v", j.Tests, j.Failures, len(got.Regressions), j.Suites)
	}
	if c := j.Suites[0].Cases[1]; c.Name != "recall" || c.ClassName != "fds.regress.spoofing" || c.Failure == nil {
		t.Errorf("recall testcase %+v", c)
	}

	// --output writes the report to a file (nothing on stdout); --junit adds the XML.
	report, junit := filepath.Join(dir, "out", "regress.md"), filepath.Join(dir, "out", "regress.xml")
	os.MkdirAll(filepath.Dir(report), 0o755)
	code, out, errOut := runFDS(t, append(common, "--format", "markdown", "--output", report, "--junit", junit)...)
	if code != ExitRegression || out != "" || !strings.Contains(errOut, "fds regress: FAIL") {
		t.Errorf("--output: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	md, err1 := os.ReadFile(report)
	x, err2 := os.ReadFile(junit)
	if err1 != nil || err2 != nil || !strings.HasPrefix(string(md), "### fds regress") || !strings.HasPrefix(string(x), "<?xml") {
		t.Errorf("files: %v %v", err1, err2)
	}
	entries, _ := os.ReadDir(filepath.Dir(report))
	if len(entries) != 2 {
		t.Errorf("temporary files left: %v", entries)
	}

	// Text on stdout with Markdown beside it.
	mdFile := filepath.Join(dir, "out", "side.md")
	code, out, _ = runFDS(t, append(common, "--markdown", mdFile)...)
	side, err := os.ReadFile(mdFile)
	if code != ExitRegression || !strings.Contains(out, "REGRESSED") || err != nil || !strings.Contains(string(side), "| **spoofing** | **recall** |") {
		t.Errorf("--markdown: exit %d, err %v\n%s\n%s", code, err, out, side)
	}

	// Same inputs, same bytes.
	_, a, _ := runFDS(t, append(common, "--format", "json")...)
	_, b, _ := runFDS(t, append(common, "--format", "json")...)
	if a != b {
		t.Error("two identical comparisons differ")
	}
}

func TestBaselineCommand(t *testing.T) {
	dir := t.TempDir()
	run := writeRegressRun(t, filepath.Join(dir, "run"), allDetected, 1)
	out := filepath.Join(dir, "testdata", "baseline")
	if code, _, errOut := runFDS(t, "baseline", "--run", run, "--out", out); code != ExitOK {
		t.Fatalf("baseline: exit %d %s", code, errOut)
	}
	for _, f := range []string{backtest.MetricsFile, backtest.BaselineMatchesFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("baseline lacks %s: %v", f, err)
		}
	}
	code, stdout, _ := runFDS(t, "regress", "--baseline", out, "--candidate", run)
	if code != ExitOK || !strings.Contains(stdout, "alerts: identical") || strings.Contains(stdout, "intervals: none") {
		t.Errorf("run vs its baseline: exit %d\n%s", code, stdout)
	}
	if code, _, _ := runFDS(t, "baseline", "--run", run); code != ExitUsage {
		t.Errorf("no --out: exit %d", code)
	}
	if code, _, _ := runFDS(t, "baseline", "--run", filepath.Join(dir, "nope"), "--out", out); code != ExitError {
		t.Errorf("missing run: exit %d", code)
	}
}
