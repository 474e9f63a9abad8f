package reports

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type sample struct {
	Version int                `json:"schema_version"`
	ByName  map[string]float64 `json:"by_name"`
	Note    string             `json:"note"`
}

func TestWriteMetricsJSON(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "metrics.json")
	m := sample{Version: 1, ByName: map[string]float64{"zeta": 1.0 / 3, "alpha": 0.1, "mid": 2}, Note: "a<b & c"}
	if err := WriteMetricsJSON(path, m); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	// Map keys sorted, shortest round-trip floats (1/3 keeps all 16 digits), no HTML escaping,
	// final newline.
	want := "{\n  \"schema_version\": 1,\n  \"by_name\": {\n    \"alpha\": 0.1,\n    \"mid\": 2,\n    \"zeta\": 0.3333333333333333\n  },\n  \"note\": \"a<b & c\"\n}\n"
	if string(got) != want {
		t.Errorf("metrics.json =\n%s\nwant\n%s", got, want)
	}
	// Overwrite in place, leaving no temporary file.
	if err := WriteMetricsJSON(path, sample{Version: 2}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("files after rewrite: %v", entries)
	}
}

func TestWriteMetricsJSONErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "metrics.json")
	os.WriteFile(path, []byte("old"), 0o644)
	// NaN cannot be written: the error names the file and the old content stays.
	err := WriteMetricsJSON(path, map[string]float64{"p": math.NaN()})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("NaN: error %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("failed write changed the file to %q", b)
	}
	if err := WriteMetricsJSON(filepath.Join(dir, "missing", "m.json"), 1); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing folder: error %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("leftover files: %v", entries)
	}
}
