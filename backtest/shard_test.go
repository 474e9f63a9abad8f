package backtest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/datasets/synth"
	"github.com/fds-dev/fds/detectors"
	_ "github.com/fds-dev/fds/detectors/all"
)

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want backtest.Shard
		err  bool
	}{
		{in: "0/4", want: backtest.Shard{Index: 0, Count: 4}},
		{in: "3/4", want: backtest.Shard{Index: 3, Count: 4}},
		{in: " 1 / 2 ", want: backtest.Shard{Index: 1, Count: 2}},
		{in: "0/1", want: backtest.Shard{Index: 0, Count: 1}},
		{in: "4/4", err: true},
		{in: "-1/4", err: true},
		{in: "0/0", err: true},
		{in: "1", err: true},
		{in: "a/b", err: true},
	} {
		got, err := backtest.ParseShard(tc.in)
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("ParseShard(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// TestShardOfIsFNV1a pins the hash: shards of a run made by one fds version must be mergeable
// with another's. Expected values from an independent FNV-1a 64 implementation (Python,
// offset basis 0xcbf29ce484222325, prime 0x100000001b3): BTCUSDT 0x3e640dbff523962c,
// ETHUSDT 0x7f5c456d3d0c94f0, SOLUSDT 0xd2c4ad564fc6ae7d, WIFUSDT 0xcd1826e92f50886d.
func TestShardOfIsFNV1a(t *testing.T) {
	for _, tc := range []struct {
		symbol string
		n      int
		want   int
	}{
		{"BTCUSDT", 2, 0}, {"ETHUSDT", 2, 0}, {"SOLUSDT", 2, 1}, {"WIFUSDT", 2, 1},
		{"BTCUSDT", 3, 0}, {"SOLUSDT", 3, 2}, {"WIFUSDT", 4, 1}, {"ETHUSDT", 1, 0},
	} {
		if got := backtest.ShardOf(tc.symbol, tc.n); got != tc.want {
			t.Errorf("ShardOf(%s, %d) = %d, want %d", tc.symbol, tc.n, got, tc.want)
		}
	}
}

// TestShardedRunsMergeToTheUnshardedRun is issue 8's acceptance check: on a generated market
// (4 symbols, every detector that is not CrossSymbol at its defaults) the run of every shard,
// merged with fds merge's MergeRuns, writes the same alerts.parquet, matches.parquet and
// metrics.json bytes as one unsharded run, for 2 shards and for 3 (whose shard 1 holds no
// symbol: FNV-1a puts the 4 symbols in shards 0 and 2). It also checks that the parallel
// replay (Workers 0) and the single-threaded one (Workers 1) write the same bytes.
func TestShardedRunsMergeToTheUnshardedRun(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	if _, err := synth.Generate(synth.Config{Seed: 3, Preset: "small", Events: 150_000}, data); err != nil {
		t.Fatal(err)
	}
	cfg := backtest.DefaultConfig()
	var names []string
	for _, s := range detectors.All() {
		// The package's tests register detectors named test_*: some count events of every
		// symbol without saying CrossSymbol.
		if !s.CrossSymbol && !strings.HasPrefix(s.Name, "test_") {
			names = append(names, s.Name)
		}
	}
	if err := cfg.Select(names); err != nil {
		t.Fatal(err)
	}
	run := func(name string, shard backtest.Shard, workers int) string {
		t.Helper()
		res, err := backtest.Run(context.Background(), backtest.Options{DataDir: data, Config: cfg, Shard: shard, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(tmp, name)
		if err := backtest.WriteRunFolder(context.Background(), dir, res); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	single := run("single", backtest.Shard{}, 1)
	same := func(a, b string) {
		t.Helper()
		for _, f := range []string{backtest.MetricsFile, backtest.AlertsFile, backtest.MatchesFile} {
			x, err1 := os.ReadFile(filepath.Join(a, f))
			y, err2 := os.ReadFile(filepath.Join(b, f))
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if !bytes.Equal(x, y) {
				t.Errorf("%s differs between %s and %s", f, filepath.Base(a), filepath.Base(b))
			}
		}
	}
	same(single, run("parallel", backtest.Shard{}, 0))
	alerts, err := os.ReadFile(filepath.Join(single, backtest.MetricsFile))
	if err != nil || !bytes.Contains(alerts, []byte(`"tp": `)) {
		t.Fatalf("metrics.json of the single run: %v", err)
	}
	for _, n := range []int{2, 3} {
		var dirs []string
		symbols := 0
		for k := n - 1; k >= 0; k-- { // given out of order on purpose
			dir := run(fmt.Sprintf("shard%d-of-%d", k, n), backtest.Shard{Index: k, Count: n}, 0)
			dirs = append(dirs, dir)
			m, err := os.ReadFile(filepath.Join(dir, backtest.ManifestFile))
			if err != nil {
				t.Fatal(err)
			}
			symbols += strings.Count(string(m), "USDT\"")
		}
		if symbols < 4 {
			t.Fatalf("%d shards name %d symbols in their manifests, want the 4 of the market", n, symbols)
		}
		res, err := backtest.MergeRuns(backtest.MergeOptions{Runs: dirs})
		if err != nil {
			t.Fatal(err)
		}
		merged := filepath.Join(tmp, fmt.Sprintf("merged-%d", n))
		if err := backtest.WriteRunFolder(context.Background(), merged, res); err != nil {
			t.Fatal(err)
		}
		same(single, merged)
		if len(res.Manifest.Shards) != n {
			t.Errorf("merged manifest lists %d shards, want %d", len(res.Manifest.Shards), n)
		}
		if _, err := backtest.MergeRuns(backtest.MergeOptions{Runs: dirs[1:]}); !errors.Is(err, backtest.ErrShards) {
			t.Errorf("merging %d of %d shards: %v, want ErrShards", n-1, n, err)
		}
	}
	if _, err := backtest.MergeRuns(backtest.MergeOptions{Runs: []string{single}}); !errors.Is(err, backtest.ErrShards) {
		t.Errorf("merging an unsharded run: %v, want ErrShards", err)
	}
}
