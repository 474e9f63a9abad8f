// Package fsutil writes files and folders atomically, so that an interrupted or failed run never
// leaves a half-written output behind and a rerun succeeds.
package fsutil

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile writes data to path through a temporary file in the same folder, synced and renamed
// into place.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	ok = true
	return nil
}

// WriteJSON writes v as indented JSON (with a final newline) atomically.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return WriteFile(path, append(b, '\n'), 0o644)
}

// Staging is a folder built beside its final place and swapped in whole by Commit. Its context
// is the run's: once cancelled (Ctrl-C), Err reports it so that a writer stops between files, and
// Commit refuses, so that an interrupted run leaves the final folder as it was.
type Staging struct {
	Final string
	Dir   string
	ctx   context.Context
}

// NewStaging creates an empty staging folder next to final.
func NewStaging(ctx context.Context, final string) (*Staging, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	final = filepath.Clean(final)
	parent := filepath.Dir(final)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("%s: %w", final, err)
	}
	dir, err := os.MkdirTemp(parent, "."+filepath.Base(final)+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", final, err)
	}
	return &Staging{Final: final, Dir: dir, ctx: ctx}, nil
}

// Err is the run's cancellation (context.Canceled once interrupted), nil while it goes on.
func (s *Staging) Err() error { return s.ctx.Err() }

// Path returns the staging path of a file of the folder.
func (s *Staging) Path(name string) string { return filepath.Join(s.Dir, name) }

// Commit replaces the final folder by the staging folder. An existing final folder is moved
// aside first and removed only after the new one is in place.
func (s *Staging) Commit() error {
	if err := s.ctx.Err(); err != nil {
		return err
	}
	if err := os.Chmod(s.Dir, 0o755); err != nil {
		return err
	}
	var old string
	if _, err := os.Lstat(s.Final); err == nil {
		old = s.Dir + ".old"
		if err := os.Rename(s.Final, old); err != nil {
			return fmt.Errorf("%s: %w", s.Final, err)
		}
	}
	if err := os.Rename(s.Dir, s.Final); err != nil {
		if old != "" {
			os.Rename(old, s.Final)
		}
		return fmt.Errorf("%s: %w", s.Final, err)
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

// Abort removes the staging folder; safe to call after Commit.
func (s *Staging) Abort() { os.RemoveAll(s.Dir) }
