package fsutil

import (
	"context"
	"errors"
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

	s, err := NewStaging(context.Background(), final)
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
	s, err := NewStaging(context.Background(), filepath.Join(root, "run"))
	if err != nil {
		t.Fatal(err)
	}
	WriteFile(s.Path("a"), []byte("x"), 0o644)
	s.Abort()
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Fatalf("abort left %v", entries)
	}
}

// TestInterruptedStagingLeavesTheFinalFolder: once the run is cancelled (Ctrl-C while its output
// is written), Err says so, Commit refuses, and the final folder keeps its old content.
func TestInterruptedStagingLeavesTheFinalFolder(t *testing.T) {
	root := t.TempDir()
	final := filepath.Join(root, "run")
	os.MkdirAll(final, 0o755)
	os.WriteFile(filepath.Join(final, "old.txt"), []byte("old"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := NewStaging(ctx, final)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Abort()
	WriteFile(s.Path("new.txt"), []byte("new"), 0o644)
	if s.Err() != nil {
		t.Fatalf("Err before the interrupt: %v", s.Err())
	}
	cancel()
	if !errors.Is(s.Err(), context.Canceled) {
		t.Fatalf("Err after the interrupt: %v", s.Err())
	}
	if err := s.Commit(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Commit after the interrupt: %v", err)
	}
	s.Abort()
	if b, _ := os.ReadFile(filepath.Join(final, "old.txt")); string(b) != "old" {
		t.Fatalf("final folder changed: old.txt = %q", b)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 1 {
		t.Fatalf("leftovers beside the run folder: %v", entries)
	}
	if _, err := NewStaging(ctx, filepath.Join(root, "other")); !errors.Is(err, context.Canceled) {
		t.Fatalf("NewStaging on a cancelled run: %v", err)
	}
}
