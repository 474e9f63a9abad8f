package backtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fds-dev/fds/datasets"
)

// VerifyOptions say how to re-check a run folder.
type VerifyOptions struct {
	// DataDir replaces the dataset folder the manifest records ("" keeps it): for a run made
	// elsewhere or from another working folder.
	DataDir string
	// Sorter and TempDir are as in Options, for inputs that need sorting.
	Sorter  Sorter
	TempDir string
}

// Verification is a run folder that passed Verify.
type Verification struct {
	DataDir string
	// Inputs is the number of input files whose size and SHA-256 matched the manifest.
	Inputs int
	Alerts int
	// AlertsSHA256 and MetricsSHA256 are the hashes of the files that matched byte for byte.
	AlertsSHA256, MetricsSHA256 string
}

// MismatchError says that a run folder does not match its inputs or a rerun; Reason is one line.
type MismatchError struct{ Run, Reason string }

func (e *MismatchError) Error() string { return fmt.Sprintf("verify %s: %s", e.Run, e.Reason) }

// Verify re-checks a run folder against its inputs: every input file the manifest lists must
// still have its size and SHA-256 (and the dataset no other file), then a rerun with the
// recorded config.yaml (and the recorded --strict) must give alerts.parquet and metrics.json
// identical to the byte. A disagreement is a *MismatchError; a run folder that cannot be read is
// an ordinary error.
func Verify(ctx context.Context, runDir string, opts VerifyOptions) (*Verification, error) {
	var man Manifest
	if err := readJSON(filepath.Join(runDir, ManifestFile), &man); err != nil {
		return nil, fmt.Errorf("verify %s: %w", runDir, err)
	}
	if man.SchemaVersion == 0 || len(man.Inputs) == 0 {
		return nil, fmt.Errorf("verify %s: %s lists no inputs: not a backtest run folder", runDir, ManifestFile)
	}
	cfg, err := LoadConfig(filepath.Join(runDir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", runDir, err)
	}
	recordedAlerts, err := os.ReadFile(filepath.Join(runDir, AlertsFile))
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", runDir, err)
	}
	recordedMetrics, err := os.ReadFile(filepath.Join(runDir, MetricsFile))
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", runDir, err)
	}
	mismatch := func(format string, args ...any) error {
		return &MismatchError{Run: runDir, Reason: fmt.Sprintf(format, args...)}
	}

	dataDir := man.DataDir
	if opts.DataDir != "" {
		dataDir = opts.DataDir
	}
	ds, err := datasets.Open(dataDir)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", runDir, err)
	}
	h := hashInputs(ds)
	if h.err != nil {
		return nil, fmt.Errorf("verify %s: %w", runDir, h.err)
	}
	if reason := compareInputs(man.Inputs, h.files); reason != "" {
		return nil, mismatch("%s", reason)
	}

	// A shard run is rerun as that shard; a merged run as one unsharded run, which it equals.
	var shard Shard
	if man.Shard != nil {
		shard = Shard{Index: man.Shard.Index, Count: man.Shard.Count}
	}
	res, err := Run(ctx, Options{DataDir: dataDir, Config: cfg, Sorter: opts.Sorter, TempDir: opts.TempDir, Strict: man.Strict, Shard: shard})
	if err != nil {
		return nil, fmt.Errorf("verify %s: rerun: %w", runDir, err)
	}
	version := ""
	if man.FDSVersion != Version {
		version = fmt.Sprintf(" (the run was made by fds %s, this is %s)", man.FDSVersion, Version)
	}
	metrics, err := json.MarshalIndent(res.Metrics, "", "  ")
	if err != nil {
		return nil, err
	}
	metrics = append(metrics, '\n')
	if !bytes.Equal(metrics, recordedMetrics) {
		return nil, mismatch("%s differs from a rerun at byte %d%s", MetricsFile, firstDifference(metrics, recordedMetrics), version)
	}
	alerts, err := alertsBytes(res, opts.TempDir)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", runDir, err)
	}
	if !bytes.Equal(alerts, recordedAlerts) {
		recorded, _ := datasets.ReadAlerts(filepath.Join(runDir, AlertsFile))
		return nil, mismatch("%s differs from a rerun (%d alerts recorded, %d now)%s", AlertsFile, len(recorded), len(res.Alerts), version)
	}
	return &Verification{DataDir: dataDir, Inputs: len(h.files), Alerts: len(res.Alerts),
		AlertsSHA256: sha256Hex(alerts), MetricsSHA256: sha256Hex(metrics)}, nil
}

// compareInputs returns the first difference between the recorded and the current inputs, or "".
func compareInputs(recorded, now []InputFile) string {
	current := make(map[string]InputFile, len(now))
	for _, f := range now {
		current[f.Path] = f
	}
	seen := make(map[string]bool, len(recorded))
	for _, r := range recorded {
		seen[r.Path] = true
		c, ok := current[r.Path]
		switch {
		case !ok:
			return fmt.Sprintf("input %s (table %s) is gone", r.Path, r.Table)
		case c.Bytes != r.Bytes:
			return fmt.Sprintf("input %s changed: %d bytes, the manifest says %d", r.Path, c.Bytes, r.Bytes)
		case c.SHA256 != r.SHA256:
			return fmt.Sprintf("input %s changed: sha256 %s, the manifest says %s", r.Path, c.SHA256, r.SHA256)
		}
	}
	for _, c := range now {
		if !seen[c.Path] {
			return fmt.Sprintf("input %s (table %s) is new: the run did not read it", c.Path, c.Table)
		}
	}
	return ""
}

// alertsBytes writes a result's alerts as a run folder does and returns the file's bytes.
func alertsBytes(res *Result, tempDir string) ([]byte, error) {
	dir, err := os.MkdirTemp(tempDir, "fds-verify-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, AlertsFile)
	if err := datasets.WriteAlerts(path, res.Alerts); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

func firstDifference(a, b []byte) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// IsMismatch reports whether err is a Verify mismatch.
func IsMismatch(err error) bool {
	var m *MismatchError
	return errors.As(err, &m)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
