package synth

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// Generate writes a synthetic dataset folder: orders, trades, marks, accounts and labels, each
// <table>.parquet written atomically by the datasets writers. The folder is created if needed.
func Generate(cfg Config, outDir string) (Summary, error) {
	return GenerateContext(context.Background(), cfg, outDir)
}

// GenerateContext is Generate stopping early with ctx's error, every table abandoned (no file
// written), when ctx is cancelled (an interrupt).
func GenerateContext(ctx context.Context, cfg Config, outDir string) (Summary, error) {
	g, err := New(cfg)
	if err != nil {
		return Summary{}, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return Summary{}, err
	}
	tables := []string{datasets.TableOrders, datasets.TableTrades, datasets.TableMarks, datasets.TableLiquidations}
	writers := map[detectors.Kind]*datasets.EventWriter{}
	abort := func() {
		for _, w := range writers {
			w.Abort()
		}
	}
	for _, table := range tables {
		w, err := datasets.NewEventWriter(filepath.Join(outDir, table+".parquet"), table)
		if err != nil {
			abort()
			return Summary{}, err
		}
		kind, _ := datasets.KindOfTable(table)
		writers[kind] = w
	}
	var n int64
	sum, err := g.Run(func(ev *detectors.Event) error {
		if n++; n%(1<<16) == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		w := writers[ev.Kind]
		if w == nil {
			return fmt.Errorf("synth: no writer for %s events", ev.Kind)
		}
		return w.Write(ev)
	})
	if err != nil {
		abort()
		return sum, err
	}
	for _, table := range tables {
		kind, _ := datasets.KindOfTable(table)
		if err := writers[kind].Close(); err != nil {
			delete(writers, kind)
			abort()
			return sum, err
		}
		delete(writers, kind)
	}
	if err := datasets.WriteAccounts(filepath.Join(outDir, datasets.TableAccounts+".parquet"), g.Accounts()); err != nil {
		return sum, err
	}
	if err := datasets.WriteLabels(filepath.Join(outDir, datasets.TableLabels+".parquet"), g.Labels()); err != nil {
		return sum, err
	}
	return sum, nil
}

// Stream generates the market in memory: it returns the generator (for Accounts and, after the
// call, Labels) and passes every event to sink. It is New followed by Run.
func Stream(cfg Config, sink func(*detectors.Event) error) (*Generator, Summary, error) {
	g, err := New(cfg)
	if err != nil {
		return nil, Summary{}, err
	}
	sum, err := g.Run(sink)
	return g, sum, err
}
