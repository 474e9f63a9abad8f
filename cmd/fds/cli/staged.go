package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fds-dev/fds/datasets/synth"
	"github.com/fds-dev/fds/internal/fsutil"
)

// generateStaged generates a dataset into a hidden folder beside out and moves its tables into
// out only once every one is written: an interrupted or failed generation leaves out as it was
// (other files in out are kept, as a plain generate keeps them).
func generateStaged(ctx context.Context, cfg synth.Config, out string) (synth.Summary, error) {
	st, err := fsutil.NewStaging(ctx, out)
	if err != nil {
		return synth.Summary{}, err
	}
	defer st.Abort()
	sum, err := synth.GenerateContext(ctx, cfg, st.Dir)
	if err != nil {
		return sum, err
	}
	if err := st.Err(); err != nil {
		return sum, err
	}
	return sum, moveEntries(st.Dir, out)
}

// moveEntries renames every entry of src into dst (created if needed), replacing files of the
// same name.
func moveEntries(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("%s: %w", dst, err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Rename(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(dst, e.Name()), err)
		}
	}
	return nil
}
