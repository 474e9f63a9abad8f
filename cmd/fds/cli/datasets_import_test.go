package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDatasetsImport(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "t.csv")
	if err := os.WriteFile(in, []byte("symbol,timestamp,datetime,side,price,amount\nNULS-BTC,1580231502072,x,buy,1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "ds")
	code, stdout, stderr := runFDS(t, "datasets", "import", "--format", "ccxt-trades", "--out", out, in)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "trades\t1 rows\t") {
		t.Errorf("stdout %q", stdout)
	}
	if _, err := os.Stat(filepath.Join(out, "trades.parquet")); err != nil {
		t.Error(err)
	}

	// A row it cannot map: exit 1, one line naming file, line and column; nothing written.
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("symbol,timestamp,datetime,side,price,amount\nNULS-BTC,1580231502072,x,hold,1,2\n"), 0o644)
	out2 := filepath.Join(dir, "ds2")
	code, _, stderr = runFDS(t, "datasets", "import", "--format", "ccxt-trades", "--out", out2, bad)
	if code != ExitError || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "bad.csv:2: column side") {
		t.Errorf("exit %d stderr %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out2, "trades.parquet")); err == nil {
		t.Error("a failed import wrote a table")
	}

	for _, args := range [][]string{
		{"datasets", "import", "--out", out, in},
		{"datasets", "import", "--format", "nope", "--out", out, in},
		{"datasets", "import", "--format", "ccxt-trades", in},
		{"datasets", "import", "--format", "ccxt-trades", "--out", out},
		{"datasets", "import", "--format", "ccxt-trades", "--out", out, "--time-unit", "days", in},
		{"datasets", "import", "--format", "ccxt-trades", "--out", out, "--symbol-alias", "AB", in},
	} {
		if code, _, stderr := runFDS(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d (%s), want %d", args, code, stderr, ExitUsage)
		}
	}
}
