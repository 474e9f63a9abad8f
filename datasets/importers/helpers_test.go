package importers

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedData returns ../shared/data relative to the repository root (the folder holding go.mod),
// or skips the test when it is absent.
func sharedData(t testing.TB, sub string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("go.mod not found above the test's folder")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "data", sub)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real data %s is absent (it lives beside the repository in ../shared/data); skipping", p)
	}
	return p
}

// parseText runs one format's parser over in-memory content named name, as Import would.
func parseText(t testing.TB, format, name, content string, opts Options) (*parseCtx, error) {
	t.Helper()
	c, err := newParseCtx(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, parseInto(c, format, name, []byte(content))
}

func parseInto(c *parseCtx, format, name string, content []byte) error {
	f := formats[format]
	in, closeFn, err := wrapInput(name, bytes.NewReader(content), bytes.NewReader(content))
	if err != nil {
		return err
	}
	defer closeFn()
	c.file = &InputReport{Path: name}
	if err := f.parse(c, in); err != nil {
		return err
	}
	if f.finish != nil {
		return f.finish(c)
	}
	return nil
}

// wantParseError checks that err is a one-line ParseError mentioning every fragment.
func wantParseError(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error mentioning %q, got none", fragments)
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("want a *ParseError, got %T: %v", err, err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			t.Errorf("error %q does not mention %q", msg, f)
		}
	}
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
