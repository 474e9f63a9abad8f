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

// sweepGrids are 100-configuration grids per detector (4 × 5 × 5 or 5 × 5 × 4) over the
// thresholds and scales a quant would tune (min_score is swept from the alert scores without
// replaying, so it is not in a grid). Each grid brackets the default value.
var sweepGrids = map[string]string{
	"collusion": `detectors:
  collusion:
    sweep:
      size_tolerance: [0.1, 0.25, 0.5, 1]
      count_scale: [1, 2, 3, 5, 8]
      concentration_exponent: [0.1, 0.25, 0.5, 1, 2]
`,
	"front_running": `detectors:
  front_running:
    sweep:
      min_victim_ratio: [4, 6, 8, 12]
      size_scale: [0.25, 0.5, 1, 2, 4]
      selectivity_exponent: [0.5, 1, 1.5, 2, 3]
`,
	"funding_manipulation": `detectors:
  funding_manipulation:
    sweep:
      size_scale: [5, 10, 20, 40]
      share_scale: [0.02, 0.05, 0.1, 0.2, 0.4]
      move_scale_bp: [2, 5, 10, 20, 40]
`,
	"layering": `detectors:
  layering:
    sweep:
      min_levels: [2, 3, 4, 5]
      min_layer_ratio: [2, 3, 5, 8, 12]
      size_scale: [2, 5, 10, 20, 40]
`,
	"liquidation_hunt": `detectors:
  liquidation_hunt:
    sweep:
      size_scale: [5, 10, 20, 40]
      count_scale: [1, 2, 3, 5, 8]
      benefit_scale: [2, 5, 10, 20, 40]
`,
	"momentum_ignition": `detectors:
  momentum_ignition:
    sweep:
      min_burst_ratio: [2, 3, 5, 8]
      size_scale: [2, 5, 10, 20, 40]
      move_scale_bp: [2, 5, 10, 20, 40]
`,
	"pump_and_dump": `detectors:
  pump_and_dump:
    sweep:
      min_return: [0.005, 0.01, 0.02, 0.03]
      z_scale: [5, 10, 15, 20, 30]
      return_scale: [0.02, 0.05, 0.1, 0.2, 0.4]
`,
	"quote_stuffing": `detectors:
  quote_stuffing:
    sweep:
      min_messages: [10, 20, 30, 50]
      count_scale: [20, 50, 100, 200, 400]
      ratio_scale: [2, 5, 10, 20, 40]
`,
	"spoofing": `detectors:
  spoofing:
    sweep:
      min_size_ratio: [2, 3, 5, 8]
      max_lifetime: [2, 5, 10, 20, 60]
      min_opposite_ratio: [0.25, 0.5, 1, 1.5, 2]
`,
	"wash_trade": `detectors:
  wash_trade:
    sweep:
      count_scale: [1, 2, 3, 5, 8]
      volume_scale: [1, 2, 5, 10, 20]
      typical_halflife: [100, 500, 1000, 2000]
`,
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
		b.Run(d, func(b *testing.B) { benchmarkSweep(b, d, sweepGrids[d], 100) })
	}
}

// BenchmarkSweep1 tunes the default configuration alone: with BenchmarkSweep100 it gives the
// cost of each extra configuration, (Sweep100 − Sweep1) / 99.
func BenchmarkSweep1(b *testing.B) {
	for _, d := range sweepDetectors {
		b.Run(d, func(b *testing.B) { benchmarkSweep(b, d, "detectors:\n  "+d+": {}\n", 1) })
	}
}
