package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fds-dev/fds/datasets/synth"
)

// TestReportCommand runs fds backtest --report and fds report end to end on the small generated
// market, in memory through Main, and checks the command line's refusals.
func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	data, run := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	if _, err := synth.Generate(synth.Config{Preset: "small", Seed: 1}, data); err != nil {
		t.Fatal(err)
	}
	// spoofing.min_score 0.99 is above every score the detector gives the generated spoofs (as in
	// TestGateEndToEnd): every spoofing incident is missed, and the misses name their accounts.
	code, stdout, stderr := runFDS(t, "backtest", "--data", data, "--out", run, "--set", "spoofing.min_score=0.99", "--report", "pdf,md", "--quiet")
	if code != ExitOK {
		t.Fatalf("backtest --report: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, f := range []string{"report/report.pdf", "report/summary.md"} {
		if _, err := os.Stat(filepath.Join(run, f)); err != nil {
			t.Errorf("backtest --report did not write %s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(run, "report", "report.html")); !os.IsNotExist(err) {
		t.Error("backtest --report pdf,md wrote an HTML page")
	}

	out := filepath.Join(dir, "pub")
	code, stdout, stderr = runFDS(t, "report", run, "--format", "html,png", "--out", out)
	if code != ExitOK {
		t.Fatalf("report: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, filepath.Join(out, "report.html")) || !strings.Contains(stdout, filepath.Join(out, "figures")) {
		t.Errorf("report does not print where the files are:\n%s", stdout)
	}
	page, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	// The generator's accounts are u<number>: they appear unredacted.
	accountID := regexp.MustCompile(`\bu\d+\b`)
	if !accountID.Match(withoutImages(page)) {
		t.Error("unredacted page shows no account id")
	}

	// Redacted with a key from the environment: no account id is left.
	t.Setenv("FDS_TEST_REDACT_KEY", "a-secret-key-of-enough-bytes")
	red := filepath.Join(dir, "redacted")
	code, stdout, stderr = runFDS(t, "report", run, "--format", "html,md", "--out", red, "--redact", "--redact-key-env", "FDS_TEST_REDACT_KEY", "--quiet")
	if code != ExitOK {
		t.Fatalf("redacted report: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, f := range []string{"report.html", "summary.md"} {
		b, err := os.ReadFile(filepath.Join(red, f))
		if err != nil {
			t.Fatal(err)
		}
		if m := accountID.Find(withoutImages(b)); m != nil {
			t.Errorf("redacted %s shows account id %s", f, m)
		}
		if !strings.Contains(string(b), "acct-") {
			t.Errorf("redacted %s shows no pseudonym", f)
		}
	}

	shortKey := filepath.Join(dir, "short.key")
	os.WriteFile(shortKey, []byte("tiny\n"), 0o600)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"report", run, "--redact"}, "refusing to redact without a key"},
		{[]string{"report", run, "--redact", "--redact-key-env", "FDS_TEST_UNSET_VARIABLE"}, "not set or empty"},
		{[]string{"report", run, "--redact", "--redact-key", shortKey}, "shorter than 16 bytes"},
		{[]string{"report", run, "--redact-key", shortKey}, "need --redact"},
		{[]string{"report", run, "--redact", "--redact-key", shortKey, "--redact-key-env", "X"}, "not both"},
		{[]string{"report", run, "--out", run}, "holds the run folder"},
		{[]string{"report", run, "--out", dir}, "holds the run folder"},
		{[]string{"report", run, "--format", "docx"}, `unknown report format "docx"`},
		{[]string{"report"}, "one run folder"},
		{[]string{"backtest", "--data", data, "--out", filepath.Join(dir, "x"), "--report", "tex"}, `unknown report format "tex"`},
	} {
		code, _, stderr := runFDS(t, c.args...)
		if code != ExitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
	}
	if code, _, stderr := runFDS(t, "report", filepath.Join(dir, "missing")); code != ExitError || !strings.Contains(stderr, "missing") {
		t.Errorf("missing run: exit %d %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); !os.IsNotExist(err) {
		t.Error("backtest with a bad --report format ran anyway")
	}
}

// withoutImages drops a page's embedded images: base64 text may hold "u378" by chance, between
// '+' and '/'.
func withoutImages(page []byte) []byte {
	return regexp.MustCompile(`data:image/png;base64,[^"]*`).ReplaceAll(page, nil)
}
