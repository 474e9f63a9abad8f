package fsutil

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStagingReplacesFolderWhole(t *testing.T) {
	root := t.TempDir()
	final := filepath.Join(root, "run")
	if err := os.MkdirAll(final, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(final, "stale.txt"), []byte("old"), 0o644)

	s, err := NewStaging(final)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(s.Path("metrics.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Before Commit, the old folder is untouched.
	if _, err := os.Stat(filepath.Join(final, "stale.txt")); err != nil {
		t.Fatalf("old folder changed before commit: %v", err)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(final, "stale.txt")); !os.IsNotExist(err) {
		t.Fatalf("stale file survived the swap: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(final, "metrics.json")); string(b) != "{}" {
		t.Fatalf("metrics.json = %q", b)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Fatalf("leftovers beside the run folder: %v", entries)
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	root := t.TempDir()
	s, err := NewStaging(filepath.Join(root, "run"))
	if err != nil {
		t.Fatal(err)
	}
	WriteFile(s.Path("a"), []byte("x"), 0o644)
	s.Abort()
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Fatalf("abort left %v", entries)
	}
}
