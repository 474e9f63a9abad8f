package importers

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestImportWritesOnlyInsideTheOutputFolder: names taken from the data (a zip member's path, a
// symbol with ../) never become paths: the import writes <out>/trades.parquet and nothing else.
func TestImportWritesOnlyInsideTheOutputFolder(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "src")
	os.MkdirAll(src, 0o755)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("../../escape/BTCUSDT-aggTrades-2023-01-01.csv")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("7,100.5,2,1,3,1672531200000,true\n"))
	zw.Close()
	z := writeFile(t, src, "download.zip", buf.Bytes())
	c := writeFile(t, src, "trades.csv", []byte(ccxtHeader+"../../evil/BTC,1580231503000,x,buy,1,1,1\n"))
	out := filepath.Join(root, "a", "b", "out")
	for _, in := range []struct{ format, path string }{{"binance-futures", z}, {"ccxt-trades", c}} {
		if _, err := Import(in.format, []string{in.path}, out, Options{}); err != nil {
			t.Fatalf("%s: %v", in.format, err)
		}
		if got := listDir(t, out); !reflect.DeepEqual(got, []string{"trades.parquet"}) {
			t.Fatalf("%s: out holds %v", in.format, got)
		}
	}
	// Nothing appeared anywhere else under root.
	var extra []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && p != z && p != c && p != filepath.Join(out, "trades.parquet") {
			extra = append(extra, p)
		}
		return nil
	})
	if len(extra) > 0 {
		t.Fatalf("files written outside the output folder: %v", extra)
	}
}
