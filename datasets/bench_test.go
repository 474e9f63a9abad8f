package datasets

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fds-dev/fds/detectors"
)

// benchRows is the size of the benchmark tables: enough rows for many batches and a few row
// groups, as in a day of one busy symbol.
const benchRows = 2_000_000

var (
	benchMu    sync.Mutex
	benchDir   string
	benchFiles = map[string]string{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchDataset writes (once per test binary) a dataset folder with benchRows rows of the table,
// streamed through EventWriter: 8 symbols, 10,000 accounts, ts rising by 0-999 µs.
func benchDataset(b *testing.B, table string) *Dataset {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if benchDir == "" {
		var err error
		if benchDir, err = os.MkdirTemp("", "fds-bench-"); err != nil {
			b.Fatal(err)
		}
	}
	dir := filepath.Join(benchDir, table)
	if _, ok := benchFiles[table]; !ok {
		kind, _ := KindOfTable(table)
		w, err := NewEventWriter(filepath.Join(dir, table+".parquet"), table)
		if err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(42, uint64(kind)))
		symbols := make([]string, 8)
		for i := range symbols {
			symbols[i] = fmt.Sprintf("SYM%dUSDT", i)
		}
		accounts := make([]string, 10_000)
		for i := range accounts {
			accounts[i] = fmt.Sprintf("acct-%05d", i)
		}
		side := func() detectors.Side { return detectors.Side(1 - 2*rng.IntN(2)) }
		ev := detectors.Event{Kind: kind, TS: 1_700_000_000_000_000}
		for i := 0; i < benchRows; i++ {
			ev.TS += int64(rng.IntN(1000))
			ev.Symbol = symbols[rng.IntN(len(symbols))]
			switch kind {
			case detectors.KindOrder:
				ev.Order = detectors.Order{
					Account: accounts[rng.IntN(len(accounts))], OrderID: int64(i + 1),
					Event: detectors.OrderEvent(1 + rng.IntN(6)), Side: side(), Type: detectors.OrderType(1 + rng.IntN(4)),
					Price: 100 + float64(rng.IntN(10_000))/100, Qty: float64(1 + rng.IntN(100)), LeavesQty: float64(rng.IntN(100)),
					ReduceOnly: rng.IntN(10) == 0, PostOnly: rng.IntN(5) == 0,
				}
			case detectors.KindTrade:
				ev.Trade = detectors.Trade{
					TradeID: int64(i + 1), Price: 100 + float64(rng.IntN(10_000))/100, Qty: float64(1 + rng.IntN(100)),
					TakerSide: side(), MakerAccount: accounts[rng.IntN(len(accounts))], TakerAccount: accounts[rng.IntN(len(accounts))],
					MakerOrderID: int64(rng.IntN(benchRows) + 1), TakerOrderID: int64(rng.IntN(benchRows) + 1),
				}
			}
			if err := w.Write(&ev); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		benchFiles[table] = dir
		if info, err := os.Stat(filepath.Join(dir, table+".parquet")); err == nil {
			b.Logf("%s: %d rows, %.1f MB", table, benchRows, float64(info.Size())/1e6)
		}
	}
	d, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// cpuTime is the process's user+system CPU time: on a shared machine it varies less than the
// wall time, and it counts the garbage collector's work on other cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchDecode reads the whole table per iteration: bare decode, no replay.
func benchDecode(b *testing.B, table string) {
	d := benchDataset(b, table)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	var rows int64
	var ev detectors.Event
	for i := 0; i < b.N; i++ {
		r, err := d.OpenEvents(table)
		if err != nil {
			b.Fatal(err)
		}
		for {
			ok, err := r.Next(&ev)
			if err != nil {
				b.Fatal(err)
			}
			if !ok {
				break
			}
		}
		rows += r.Rows()
		r.Close()
	}
	if rows != int64(b.N)*benchRows {
		b.Fatalf("read %d rows, want %d", rows, int64(b.N)*benchRows)
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(rows), "cpu-ns/row")
}

func BenchmarkDecodeTrades(b *testing.B) { benchDecode(b, TableTrades) }

func BenchmarkDecodeOrders(b *testing.B) { benchDecode(b, TableOrders) }

// BenchmarkCheckSortedOrders measures the ts-only scan that precedes every replay.
func BenchmarkCheckSortedOrders(b *testing.B) {
	d := benchDataset(b, TableOrders)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if sorted, _, err := d.CheckSorted(TableOrders); err != nil || !sorted {
			b.Fatal(sorted, err)
		}
	}
	b.ReportMetric(float64(b.N)*benchRows/b.Elapsed().Seconds(), "rows/s")
}
