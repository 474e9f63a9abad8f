package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompletionScripts(t *testing.T) {
	// Each script is the shell's own kind, for the fds command.
	for shell, marker := range map[string]string{
		"bash": "complete -o default -F __start_fds fds",
		"zsh":  "#compdef fds",
		"fish": "complete -c fds",
	} {
		code, out, stderr := fds(t, "completion", shell)
		if code != ExitOK || !strings.Contains(out, marker) {
			t.Errorf("completion %s: exit %d %s; output lacks %q", shell, code, stderr, marker)
		}
	}
	if code, _, _ := fds(t, "completion", "powershell"); code != ExitUsage {
		t.Errorf("completion powershell: exit %d, want %d", code, ExitUsage)
	}
	// Dynamic completion of values: the query formats.
	code, out, _ := fds(t, "__complete", "query", "--format", "")
	if code != ExitOK || !strings.Contains(out, "parquet\n") || !strings.Contains(out, "tsv\n") {
		t.Errorf("completing --format: exit %d %q", code, out)
	}
	code, out, _ = fds(t, "__complete", "schema", "")
	if code != ExitOK || !strings.Contains(out, "config\n") || !strings.Contains(out, "grid\n") {
		t.Errorf("completing schema: exit %d %q", code, out)
	}
}

func TestManPagesAreReproducible(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1735689600") // 2025-01-01T00:00:00Z
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if code, _, stderr := fds(t, "man", dir, "--quiet"); code != ExitOK {
			t.Fatalf("man: exit %d %s", code, stderr)
		}
	}
	entries, err := os.ReadDir(a)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
		x, _ := os.ReadFile(filepath.Join(a, e.Name()))
		y, _ := os.ReadFile(filepath.Join(b, e.Name()))
		if string(x) != string(y) {
			t.Errorf("%s differs between two runs", e.Name())
		}
	}
	for _, want := range []string{"fds.1", "fds-query.1", "fds-datasets-inspect.1", "fds-init.1", "fds-schema.1"} {
		if !names[want] {
			t.Errorf("no page %s (have %v)", want, names)
		}
	}
	page, _ := os.ReadFile(filepath.Join(a, "fds-query.1"))
	for _, want := range []string{`.TH "FDS-QUERY" "1" "Jan 2025"`, "EXAMPLE", "fds query --run runs/demo"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("fds-query.1 lacks %q", want)
		}
	}
	if code, _, _ := fds(t, "man", a, "--date", "soon"); code != ExitUsage {
		t.Errorf("--date soon: exit %d, want %d", code, ExitUsage)
	}
}
