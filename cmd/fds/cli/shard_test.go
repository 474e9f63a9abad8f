package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fds-dev/fds/datasets/synth"
)

// TestShardSymbols: shard 0 of 2 holds BTCUSDT and ETHUSDT, shard 1 SOLUSDT and WIFUSDT (FNV-1a
// values in backtest.TestShardOfIsFNV1a).
func TestShardSymbols(t *testing.T) {
	code, out, errOut := fds(t, "shard-symbols", "--shard", "0/2", "WIFUSDT", "BTCUSDT", "SOLUSDT", "ETHUSDT", "BTCUSDT")
	if code != ExitOK || out != "BTCUSDT\nETHUSDT\n" {
		t.Fatalf("exit %d, out %q, err %q", code, out, errOut)
	}
	file := filepath.Join(t.TempDir(), "symbols.txt")
	if err := os.WriteFile(file, []byte("# symbols\nSOLUSDT\n\nWIFUSDT\nBTCUSDT\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := fds(t, "shard-symbols", "--shard", "1/2", "--symbols-file", file, "--sql"); code != ExitOK || out != "'SOLUSDT','WIFUSDT'\n" {
		t.Fatalf("--sql: exit %d, out %q", code, out)
	}
	if code, out, _ := fds(t, "shard-symbols", "--shard", "1/3", "BTCUSDT", "--sql"); code != ExitOK || out != "NULL\n" {
		t.Fatalf("empty shard: exit %d, out %q", code, out)
	}
	for _, args := range [][]string{
		{"shard-symbols", "BTCUSDT"},
		{"shard-symbols", "--shard", "2/2", "BTCUSDT"},
		{"backtest", "--data", "x", "--out", "y", "--shard", "1"},
		{"merge", "a", "b"},
	} {
		if code, _, _ := fds(t, args...); code != ExitUsage {
			t.Errorf("fds %s: exit %d, want %d", strings.Join(args, " "), code, ExitUsage)
		}
	}
}

// TestBacktestShardsAndMerge runs the CLI path end to end on a tiny market: two shards, merged,
// give the unsharded run's metrics.json; an unsharded run is not a shard (exit 2).
func TestBacktestShardsAndMerge(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	if _, err := synth.Generate(synth.Config{Preset: "small", Seed: 2, Events: 20000}, data); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		if code, out, errOut := fds(t, append([]string{"--quiet"}, args...)...); code != ExitOK {
			t.Fatalf("fds %s: exit %d: %s%s", strings.Join(args, " "), code, out, errOut)
		}
	}
	all, s0, s1, merged := filepath.Join(tmp, "all"), filepath.Join(tmp, "s0"), filepath.Join(tmp, "s1"), filepath.Join(tmp, "merged")
	run("backtest", "--data", data, "--out", all, "--workers", "1")
	run("backtest", "--data", data, "--out", s0, "--shard", "0/2")
	run("backtest", "--data", data, "--out", s1, "--shard", "1/2")
	run("merge", s1, s0, "--out", merged)
	want, err1 := os.ReadFile(filepath.Join(all, "metrics.json"))
	got, err2 := os.ReadFile(filepath.Join(merged, "metrics.json"))
	if err1 != nil || err2 != nil || string(got) != string(want) {
		t.Fatalf("merged metrics.json differs from the unsharded run's (%v, %v)", err1, err2)
	}
	// A merged run is verified by rerunning it unsharded; a shard run as its shard.
	run("backtest", "--verify", merged)
	run("backtest", "--verify", s1)
	if code, _, errOut := fds(t, "merge", all, "--out", filepath.Join(tmp, "bad")); code != ExitUsage || !strings.Contains(errOut, "not a shard run") {
		t.Fatalf("merging an unsharded run: exit %d: %s", code, errOut)
	}
}
