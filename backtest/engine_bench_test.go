package backtest_test

import (
	"context"
	"testing"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// The engine benchmarks measure the replay without detectors (decode, checks, merge) and a
// backtest of every detector, in line (workers=1) and parallel (workers=0), on the small preset
// (benchData). They report events/s and cpu-ns/event (user+system CPU of the process per event,
// the figure to compare on a shared machine). scripts/bench.sh measures the same end to end on
// larger markets (docs/performance.md).

func benchEngine(b *testing.B, prefetch bool) {
	ds, err := datasets.Open(benchData(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	var events int64
	for i := 0; i < b.N; i++ {
		m := backtest.NewMerger()
		var readers []*datasets.EventReader
		for _, table := range datasets.EventTables {
			if !ds.Has(table) {
				continue
			}
			kind, _ := datasets.KindOfTable(table)
			r, err := ds.OpenEventsWith(table, datasets.ReadOptions{Check: true, Reject: true})
			if err != nil {
				b.Fatal(err)
			}
			readers = append(readers, r)
			if err := m.Add(table, kind, r); err != nil {
				b.Fatal(err)
			}
		}
		stop := func() {}
		if prefetch {
			stop = m.Prefetch()
		}
		for {
			ev, err := m.Next()
			if err != nil {
				b.Fatal(err)
			}
			if ev == nil {
				break
			}
			events++
		}
		stop()
		for _, r := range readers {
			r.Close()
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(events), "cpu-ns/event")
}

// BenchmarkEngineInLine decodes and merges in one goroutine.
func BenchmarkEngineInLine(b *testing.B) { benchEngine(b, false) }

// BenchmarkEnginePrefetch decodes each table in a goroutine of its own, ahead of the merge.
func BenchmarkEnginePrefetch(b *testing.B) { benchEngine(b, true) }

func benchBacktest(b *testing.B, workers int) {
	data := benchData(b)
	var names []string
	for _, s := range detectors.All() {
		if len(s.Name) < 5 || s.Name[:5] != "test_" { // the package's test detectors
			names = append(names, s.Name)
		}
	}
	cfg := backtest.DefaultConfig()
	if err := cfg.Select(names); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	var events int64
	for i := 0; i < b.N; i++ {
		res, err := backtest.Run(context.Background(), backtest.Options{DataDir: data, Config: cfg, Workers: workers})
		if err != nil {
			b.Fatal(err)
		}
		events += res.Stats.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(events), "cpu-ns/event")
}

// BenchmarkBacktestAllInLine is a backtest of every detector with everything in one goroutine.
func BenchmarkBacktestAllInLine(b *testing.B) { benchBacktest(b, 1) }

// BenchmarkBacktestAllParallel is the default: decoders ahead, detectors on GOMAXPROCS goroutines.
func BenchmarkBacktestAllParallel(b *testing.B) { benchBacktest(b, 0) }
