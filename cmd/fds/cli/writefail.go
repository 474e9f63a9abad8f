package cli

import (
	"errors"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
)

// Writers put their output under a hidden temporary name and rename it into place when done
// (internal/fsutil, the Parquet writers, query --output): a write that fails names that
// temporary file. For the errors a user acts on by freeing room or choosing another folder (a
// full disk, a quota, a read-only file system), the message names the output instead and says
// that nothing half-written was left.

// tempName matches the temporary names of fds's writers: ".name.tmp-123", ".name.123.tmp".
var tempName = regexp.MustCompile(`^\.(.+?)\.(?:tmp-\d+|\d+\.tmp)$`)

// finalPath maps a path holding temporary names to the output's own path.
func finalPath(p string) string {
	parts := strings.Split(filepath.ToSlash(p), "/")
	for i, part := range parts {
		if m := tempName.FindStringSubmatch(part); m != nil {
			parts[i] = m[1]
		}
	}
	return filepath.FromSlash(strings.Join(parts, "/"))
}

// describeWriteFailure rewrites a write that failed for want of room or permission as
// "<output>: <reason> (the partial output was removed)"; ok is false for other errors.
func describeWriteFailure(err error) (msg string, ok bool) {
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		return "", false
	}
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EROFS} {
		if errors.Is(pe.Err, errno) {
			path := finalPath(pe.Path)
			if path == pe.Path {
				return "", false // not a temporary file: the original message says it all
			}
			return path + ": " + errno.Error() + " (the partial output was removed)", true
		}
	}
	return "", false
}
