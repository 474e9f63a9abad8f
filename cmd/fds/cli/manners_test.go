package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestQuietVerboseAndJSONLogs(t *testing.T) {
	dir := t.TempDir()
	// A notice by default, nothing with --quiet, notices and details with --verbose.
	code, _, stderr := fds(t, "init", filepath.Join(dir, "a"))
	if code != ExitOK || !strings.Contains(stderr, "fds init: wrote") {
		t.Errorf("default: exit %d stderr %q", code, stderr)
	}
	code, stdout, stderr := fds(t, "init", filepath.Join(dir, "b"), "--quiet")
	if code != ExitOK || stderr != "" || stdout != "" {
		t.Errorf("--quiet: exit %d stdout %q stderr %q, want nothing", code, stdout, stderr)
	}
	code, _, stderr = fds(t, "init", filepath.Join(dir, "c"), "--verbose")
	if code != ExitOK || !strings.Contains(stderr, "fds init: wrote "+filepath.Join(dir, "c", "fds.yaml")) {
		t.Errorf("--verbose: exit %d stderr %q, want per-file details", code, stderr)
	}
	// --log-format json: every stderr line is a JSON object with time, level and msg.
	code, _, stderr = fds(t, "init", filepath.Join(dir, "d"), "--verbose", "--log-format", "json")
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != ExitOK || len(lines) < 2 {
		t.Fatalf("--log-format json: exit %d stderr %q", code, stderr)
	}
	levels := map[string]int{}
	for _, l := range lines {
		var rec struct{ Time, Level, Msg string }
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec.Time == "" || rec.Msg == "" {
			t.Fatalf("not a JSON log line: %q (%v)", l, err)
		}
		if strings.HasPrefix(rec.Msg, "fds: ") {
			t.Errorf("msg keeps the text prefix: %q", rec.Msg)
		}
		levels[rec.Level]++
	}
	if levels["debug"] == 0 || levels["info"] != 1 {
		t.Errorf("levels %v, want debug lines and one info line", levels)
	}
	// Errors too: one JSON line at level error, and the exit code is unchanged.
	code, _, stderr = fds(t, "init", filepath.Join(dir, "d"), "--log-format", "json")
	var rec struct{ Level, Msg string }
	if code != ExitError || json.Unmarshal([]byte(stderr), &rec) != nil || rec.Level != "error" || !strings.Contains(rec.Msg, "fds.yaml") {
		t.Errorf("error as JSON: exit %d stderr %q", code, stderr)
	}
	// --quiet does not hide errors.
	code, _, stderr = fds(t, "init", filepath.Join(dir, "d"), "--quiet")
	if code != ExitError || !strings.HasPrefix(stderr, "fds: ") {
		t.Errorf("--quiet error: exit %d stderr %q", code, stderr)
	}
}

func TestOutputFlagMistakesAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"version", "--log-format", "xml"},
		{"version", "--quiet", "--verbose"},
	} {
		code, _, stderr := fds(t, args...)
		if code != ExitUsage || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%q: exit %d stderr %q, want exit %d and one line", args, code, stderr, ExitUsage)
		}
	}
}
