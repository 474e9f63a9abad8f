package backtest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fds-dev/fds/detectors"
)

// rampEvents returns n events of one table with ts rising every third event, tagged by symbol.
func rampEvents(n int, tag string) []detectors.Event {
	out := make([]detectors.Event, n)
	for i := range out {
		out[i] = detectors.Event{TS: int64(i / 3), Symbol: fmt.Sprintf("%s%d", tag, i)}
	}
	return out
}

// drain reads a merger to the end and returns the symbols in delivery order.
func drain(t *testing.T, m *Merger) []string {
	t.Helper()
	var got []string
	for {
		e, err := m.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e == nil {
			return got
		}
		if e.Seq != int64(len(got)) {
			t.Fatalf("Seq = %d, want %d", e.Seq, len(got))
		}
		got = append(got, e.Symbol)
	}
}

// TestPrefetchKeepsTheMergedOrder crosses several block boundaries on three tables of
// different lengths (one shorter than a block, one of exactly two blocks) and checks the merged
// sequence event by event against the in-line merger.
func TestPrefetchKeepsTheMergedOrder(t *testing.T) {
	build := func() *Merger {
		m := NewMerger()
		mustAdd(t, m, "trades", detectors.KindTrade, rampEvents(3*prefetchBlock+17, "t")...)
		mustAdd(t, m, "marks", detectors.KindMark, rampEvents(100, "m")...)
		mustAdd(t, m, "orders", detectors.KindOrder, rampEvents(2*prefetchBlock, "o")...)
		return m
	}
	want := drain(t, build())
	m := build()
	stop := m.Prefetch()
	got := drain(t, m)
	stop()
	stop() // twice is fine
	if len(got) != len(want) {
		t.Fatalf("prefetched %d events, in line %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("event %d: prefetched %s, in line %s", i, got[i], want[i])
		}
	}
	rows := m.Rows()
	if rows["trades"] != 3*prefetchBlock+17 || rows["marks"] != 100 || rows["orders"] != 2*prefetchBlock {
		t.Fatalf("rows = %v", rows)
	}
}

// failingSource serves n events, then an error.
type failingSource struct {
	n, i int
	err  error
}

func (s *failingSource) Next(ev *detectors.Event) (bool, error) {
	if s.i >= s.n {
		return false, s.err
	}
	*ev = detectors.Event{TS: int64(s.i)}
	s.i++
	return true, nil
}

// TestPrefetchReportsTheSourceError delivers every event before the error, then the error,
// again on every later call.
func TestPrefetchReportsTheSourceError(t *testing.T) {
	boom := errors.New("orders.parquet: row 3000: column price: corrupt")
	m := NewMerger()
	if err := m.Add("orders", detectors.KindOrder, &failingSource{n: prefetchBlock + 952, err: boom}); err != nil {
		t.Fatal(err)
	}
	stop := m.Prefetch()
	defer stop()
	n := 0
	var err error
	for {
		var e *detectors.Event
		if e, err = m.Next(); err != nil || e == nil {
			break
		}
		n++
	}
	if !errors.Is(err, boom) || n != prefetchBlock+952 {
		t.Fatalf("got %d events then %v; want %d then %v", n, err, prefetchBlock+952, boom)
	}
	if _, err := m.Next(); !errors.Is(err, boom) {
		t.Fatalf("after the error: %v", err)
	}
}

// TestPrefetchStopsEarly stops the decoding goroutines while they are blocked ahead of a
// consumer that stopped reading: stop must return (the test would hang otherwise).
func TestPrefetchStopsEarly(t *testing.T) {
	m := NewMerger()
	src := &SliceSource{Events: rampEvents(20*prefetchBlock, "t")}
	if err := m.Add("trades", detectors.KindTrade, src); err != nil {
		t.Fatal(err)
	}
	stop := m.Prefetch()
	for i := 0; i < 10; i++ {
		if _, err := m.Next(); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	// The goroutine decoded at most the blocks it could hand over, not the whole source.
	if src.i >= len(src.Events) {
		t.Fatalf("the source was read to the end (%d events) although the consumer stopped", src.i)
	}
}

// TestMergerPrefetchOrderErrorNamesRow keeps the unsorted-table error of the in-line merger.
func TestMergerPrefetchOrderErrorNamesRow(t *testing.T) {
	evs := rampEvents(prefetchBlock+10, "t")
	evs[prefetchBlock+5].TS = 0
	m := NewMerger()
	mustAdd(t, m, "trades", detectors.KindTrade, evs...)
	defer m.Prefetch()()
	var err error
	for err == nil {
		var e *detectors.Event
		if e, err = m.Next(); e == nil && err == nil {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("trades: row %d: column ts", prefetchBlock+6)) {
		t.Fatalf("err = %v, want the row of the first out-of-order event", err)
	}
}
