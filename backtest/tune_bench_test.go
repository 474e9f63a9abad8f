package backtest_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/datasets/synth"
	_ "github.com/fds-dev/fds/detectors/all"
)

// The sweep benchmarks compare a 100-configuration sweep with a single-configuration backtest
// of the same detector on the same generated data (docs/performance.md, "Tuning"). Both report
// cpu-s/op (user+system CPU time of the process per operation) beside the wall time, because a
// shared machine's wall time says more about the neighbours than about the code.

var (
	benchDataOnce sync.Once
	benchDataDir  string
	benchDataErr  error
)

// TestMain removes the folder benchData created, if this process created one: the data is
// shared by every benchmark of the binary, so no single benchmark's Cleanup may delete it.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchDataDir != "" {
		os.RemoveAll(filepath.Dir(benchDataDir))
	}
	os.Exit(code)
}

// benchData generates the small preset once per test binary into a temporary folder, removed
// by TestMain when the binary ends.
func benchData(b *testing.B) string {
	benchDataOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fds-tune-bench-")
		if err != nil {
			benchDataErr = err
			return
		}
		benchDataDir = filepath.Join(dir, "small") // set before generating: TestMain removes dir
		_, benchDataErr = synth.Generate(synth.Config{Seed: 1, Preset: "small"}, benchDataDir)
	})
	if benchDataErr != nil {
		b.Fatal(benchDataErr)
	}
	return benchDataDir
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sweepDetectors are the detectors the sweep benchmarks measure: all ten.
var sweepDetectors = []string{
	"collusion", "front_running", "funding_manipulation", "layering", "liquidation_hunt",
	"momentum_ignition", "pump_and_dump", "quote_stuffing", "spoofing", "wash_trade",
}

// sweepGrid reads the detector's 100-configuration grid (4 × 5 × 5 or 5 × 5 × 4) over the
// thresholds and scales a quant would tune, each bracketing the default (min_score is swept from
// the alert scores without replaying, so it is not in a grid). scripts/bench-tune.sh times
// `fds tune` on the same files.
func sweepGrid(b *testing.B, detector string) string {
	grid, err := os.ReadFile(filepath.Join("testdata", "sweep-grids", detector+".yaml"))
	if err != nil {
		b.Fatal(err)
	}
	return string(grid)
}

func benchmarkSingle(b *testing.B, detector string) {
	data := benchData(b)
	cfg := backtest.DefaultConfig()
	if err := cfg.Select([]string{detector}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := backtest.Run(context.Background(), backtest.Options{DataDir: data, Config: cfg}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/op")
}

func benchmarkSweep(b *testing.B, detector string, grid string, size int) {
	data := benchData(b)
	g, err := backtest.ParseGrid("grid.yaml", []byte(grid))
	if err != nil {
		b.Fatal(err)
	}
	if g.Size() != size {
		b.Fatalf("grid has %d configurations, want %d", g.Size(), size)
	}
	obj, _ := backtest.ParseObjective("fbeta:1")
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		_, err := backtest.Tune(context.Background(), backtest.TuneOptions{Options: backtest.Options{DataDir: data},
			Grid: g, Objective: obj, Validation: backtest.Validation{Split: true, SplitFraction: 0.5}, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/op")
}

func BenchmarkSingleConfig(b *testing.B) {
	for _, d := range sweepDetectors {
		b.Run(d, func(b *testing.B) { benchmarkSingle(b, d) })
	}
}

// BenchmarkSweep100 tunes 100 configurations in one replay.
func BenchmarkSweep100(b *testing.B) {
	for _, d := range sweepDetectors {
		b.Run(d, func(b *testing.B) { benchmarkSweep(b, d, sweepGrid(b, d), 100) })
	}
}

// BenchmarkSweep1 tunes the default configuration alone: with BenchmarkSweep100 it gives the
// cost of each extra configuration, (Sweep100 − Sweep1) / 99.
func BenchmarkSweep1(b *testing.B) {
	for _, d := range sweepDetectors {
		b.Run(d, func(b *testing.B) { benchmarkSweep(b, d, "detectors:\n  "+d+": {}\n", 1) })
	}
}
