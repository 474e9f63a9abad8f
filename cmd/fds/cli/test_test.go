package cli

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Scripts whose outcome does not depend on any detector's logic: with no events, a detector can
// raise nothing, so "expect none" passes and expecting an alert fails.
const (
	passingScript = "detector spoofing\nevents\nexpect\n  none\n"
	failingScript = "case quiet\ndetector spoofing\nexpect\n  none\n" +
		"case wants an alert that cannot come\ndetector spoofing\nexpect\n  spoofing BTCUSDT accounts=A\n"
	brokenScript  = "detector spoofing\nevents\n  +0 BTCUSDT teleport A\n"
	unknownScript = "detector no_such_detector\nexpect\n  none\n"
)

func writeScript(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTestCommandPassesAndFinds(t *testing.T) {
	dir := t.TempDir()
	writeScript(t, filepath.Join(dir, "a", "testdata", "quiet.fdstest"), passingScript)
	writeScript(t, filepath.Join(dir, "b", "quiet2.fdstest"), passingScript)
	writeScript(t, filepath.Join(dir, "b", "notes.txt"), "not a test")
	writeScript(t, filepath.Join(dir, ".hidden", "x.fdstest"), failingScript) // skipped: dot folder
	code, out, errOut := runFDS(t, "test", dir)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	// Lexical walk order: a/testdata/quiet, then b/quiet2.
	i, j := strings.Index(out, "a/testdata/quiet.fdstest"), strings.Index(out, "b/quiet2.fdstest")
	if i < 0 || j < i || !strings.Contains(out, "SUCCESS (1 case(s))") || !strings.Contains(out, "PASS: 2 file(s), 2 case(s): 2 passed, 0 failed") {
		t.Errorf("output:\n%s", out)
	}
	// The project's own detector tests pass.
	repoDetectors := filepath.Join("..", "..", "..", "detectors")
	if code, out, _ := runFDS(t, "test", repoDetectors); code != ExitOK {
		t.Errorf("fds test detectors/: exit %d\n%s", code, out)
	}
}

func TestTestCommandFailures(t *testing.T) {
	dir := t.TempDir()
	failing := writeScript(t, filepath.Join(dir, "failing.fdstest"), failingScript)
	broken := writeScript(t, filepath.Join(dir, "broken.fdstest"), brokenScript)
	unknown := writeScript(t, filepath.Join(dir, "unknown.fdstest"), unknownScript)
	junit := filepath.Join(dir, "junit.xml")
	code, out, errOut := runFDS(t, "test", failing, broken, unknown, "--junit", junit)
	if code != ExitRegression {
		t.Fatalf("exit %d, want 3\n%s", code, out)
	}
	for _, want := range []string{
		"FAILED: 1 of 2 case(s)",
		"FAIL wants an alert that cannot come (line 5, 0 alert(s)):",
		"- spoofing BTCUSDT accounts=A    (line 8)",
		"broken.fdstest:3:",
		"unknown detector \"no_such_detector\"",
		"FAIL: 3 file(s), 3 case(s): 1 passed, 2 failed; 1 file(s) could not be run",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "fds: 3 file(s), 3 case(s)") {
		t.Errorf("stderr %q", errOut)
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
				Error   *struct{} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &j); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	// failing: 2 cases (1 failure); broken: 1 errored "parse" case; unknown: 1 errored case.
	if j.Tests != 4 || j.Failures != 1 || j.Errors != 2 || len(j.Suites) != 3 {
		t.Errorf("junit tests %d failures %d errors %d suites %d\n%s", j.Tests, j.Failures, j.Errors, len(j.Suites), data)
	}
	if s := j.Suites[0]; s.Name != failing || s.Cases[0].Name != "quiet" || s.Cases[1].Name != "wants an alert that cannot come" || s.Cases[1].Failure == nil {
		t.Errorf("failing suite %+v", s)
	}
	if s := j.Suites[1]; s.Cases[0].Name != "parse" || s.Cases[0].Error == nil {
		t.Errorf("broken suite %+v", s)
	}
}

func TestTestCommandErrors(t *testing.T) {
	dir := t.TempDir()
	if code, _, _ := runFDS(t, "test"); code != ExitUsage {
		t.Errorf("no path: exit %d", code)
	}
	if code, _, errOut := runFDS(t, "test", filepath.Join(dir, "nope")); code != ExitError || !strings.Contains(errOut, "nope") {
		t.Errorf("missing path: exit %d %q", code, errOut)
	}
	if code, _, errOut := runFDS(t, "test", dir); code != ExitError || !strings.Contains(errOut, "no *.fdstest files") {
		t.Errorf("empty folder: exit %d %q", code, errOut)
	}
}
