package datasets

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/fds-dev/fds/detectors"
)

// FuzzValidateTrades feeds arbitrary bytes as a trades file to the checking, rejecting reader and
// to ValidateDataset: neither may panic; the reader's errors and every problem example are one
// line naming the file; what the reader delivers passes the value checks; and the reader's
// rows and rejections add up to what validate counts.
func FuzzValidateTrades(f *testing.F) {
	seedDir := f.TempDir()
	good := filepath.Join(seedDir, "good.parquet")
	writeEvents(f, good, TableTrades, genEvents(detectors.KindTrade, 40, 3))
	bad := filepath.Join(seedDir, "bad.parquet")
	writeCols(f, bad, true,
		tsCol("ts", arrow.Microsecond, "UTC", []int64{t0, 0, t0 + 2, t0 - 1}, []bool{true, false, true, true}),
		strCol("symbol", arrow.BinaryTypes.String, "X", "X", "", "X"),
		int64Col("trade_id", []int64{1, 2, 3, 1}, nil),
		float64Col("price", []float64{1, math.NaN(), -1, 2}, nil),
		float64Col("qty", []float64{1, 0, 1, 1}, nil),
		strCol("taker_side", arrow.BinaryTypes.String, "buy", "BUY", "sell", "buy"),
	)
	for _, p := range []string{good, bad} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)*2/3])
	}
	// One folder for every input of a worker: a folder per input costs more than reading it.
	dir := f.TempDir()
	path := filepath.Join(dir, "trades.parquet")
	f.Fuzz(func(t *testing.T, content []byte) {
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		r, err := d.OpenEventsWith(TableTrades, ReadOptions{Check: true, Reject: true})
		if err != nil {
			t.Fatal(err)
		}
		check := &rowChecker{kind: detectors.KindTrade}
		var delivered int64
		var readErr error
		for {
			var ev detectors.Event
			ok, err := r.Next(&ev)
			if err != nil {
				readErr = err
				if !strings.HasPrefix(err.Error(), path+": ") || strings.Contains(err.Error(), "\n") {
					t.Fatalf("reader error not one line naming the file: %q", err)
				}
				break
			}
			if !ok {
				break
			}
			delivered++
			if _, reason, msg := check.check(&ev); reason != "" && reason != ReasonDuplicateID {
				t.Fatalf("delivered a row failing a check (%s: %s): %+v", reason, msg, ev)
			}
		}
		rej := r.Rejections()
		r.Close()
		v, err := ValidateDataset(context.Background(), dir, ValidateOptions{Examples: -1})
		if err != nil {
			t.Fatalf("validate: %v", err)
		}
		for _, p := range v.Problems {
			for _, ex := range p.Examples {
				if msg := ex.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, path) && !strings.HasPrefix(msg, dir) && !strings.HasPrefix(msg, "trades") {
					t.Fatalf("problem example not one line naming the file: %q", msg)
				}
			}
		}
		if readErr == nil && len(v.Tables) == 1 {
			tc := v.Tables[0]
			if tc.Rows != delivered+rej.Rows || tc.Rejected != rej.Rows {
				t.Fatalf("validate counts %d rows (%d rejected), the reader %d delivered + %d rejected", tc.Rows, tc.Rejected, delivered, rej.Rows)
			}
		}
	})
}

// FuzzDecodeFeatures: DecodeFeatures never panics, and what it accepts EncodeFeatures writes
// back to the same values.
func FuzzDecodeFeatures(f *testing.F) {
	f.Add(`{"a":1,"b":"NaN","c":"Infinity","d":"-Infinity","e":-0.5e-300}`)
	f.Add(`{}`)
	f.Add(`{"a":1e400}`)
	f.Add(`[1]`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, s string) {
		m, err := DecodeFeatures(s)
		if err != nil {
			return
		}
		back, err := DecodeFeatures(EncodeFeatures(m))
		if err != nil {
			t.Fatalf("EncodeFeatures output does not decode: %v", err)
		}
		if len(back) != len(m) {
			t.Fatalf("round trip: %v, want %v", back, m)
		}
		for k, v := range m {
			w, ok := back[k]
			if !ok || !(v == w || math.IsNaN(v) && math.IsNaN(w)) {
				t.Fatalf("round trip of %q: %v, want %v", k, w, v)
			}
		}
	})
}

// FuzzParsePartitionPath: any folder path parses without panic into distinct keys.
func FuzzParsePartitionPath(f *testing.F) {
	f.Add("symbol=BTC%2FUSD/date=2024-05-01")
	f.Add("a=1/a=2/b=__HIVE_DEFAULT_PARTITION__/=x/noeq")
	f.Add("k=%zz")
	f.Fuzz(func(t *testing.T, rel string) {
		seen := map[string]bool{}
		for _, p := range ParsePartitionPath(rel) {
			if p.Key == "" || seen[p.Key] {
				t.Fatalf("partition keys %+v", ParsePartitionPath(rel))
			}
			seen[p.Key] = true
		}
	})
}
