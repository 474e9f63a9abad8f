package cli

import (
	"fmt"
	"io/fs"
	"syscall"
	"testing"
)

func TestDescribeWriteFailureNamesTheOutput(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		// The temporary names of fsutil.NewStaging, the Parquet writers and fsutil.WriteFile.
		{&fs.PathError{Op: "write", Path: "/d/.run.tmp-1787935025/.alerts.parquet.3953683521.tmp", Err: syscall.ENOSPC},
			"/d/run/alerts.parquet: no space left on device (the partial output was removed)"},
		{fmt.Errorf("--out x: %w", &fs.PathError{Op: "write", Path: "/d/.metrics.json.tmp-12", Err: syscall.EDQUOT}),
			"/d/metrics.json: disk quota exceeded (the partial output was removed)"},
		{&fs.PathError{Op: "open", Path: "/ro/.q.csv.77.tmp", Err: syscall.EROFS},
			"/ro/q.csv: read-only file system (the partial output was removed)"},
	}
	for _, c := range cases {
		if got, ok := describeWriteFailure(c.err); !ok || got != c.want {
			t.Errorf("describeWriteFailure(%v) = %q, %v; want %q", c.err, got, ok, c.want)
		}
	}
	// Other errors, and paths that are not temporary files, keep their own message.
	for _, err := range []error{
		&fs.PathError{Op: "open", Path: "/d/.x.tmp-1", Err: syscall.ENOENT},
		&fs.PathError{Op: "write", Path: "/d/plain.csv", Err: syscall.ENOSPC},
		fmt.Errorf("plain"),
	} {
		if got, ok := describeWriteFailure(err); ok {
			t.Errorf("describeWriteFailure(%v) rewrote it to %q", err, got)
		}
	}
}
