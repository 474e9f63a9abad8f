package backtest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fds-dev/fds/detectors"
)

func ev(ts detectors.Micros, sym string) detectors.Event { return detectors.Event{TS: ts, Symbol: sym} }

func TestMergerOrdersByTSThenKindThenRow(t *testing.T) {
	m := NewMerger()
	// Added out of kind order on purpose: the tie order must come from the kind, not from Add.
	mustAdd(t, m, "trades", detectors.KindTrade, ev(10, "t1"), ev(20, "t2"), ev(20, "t3"))
	mustAdd(t, m, "marks", detectors.KindMark, ev(20, "m1"), ev(30, "m2"))
	mustAdd(t, m, "orders", detectors.KindOrder, ev(5, "o1"), ev(20, "o2"))
	var got []string
	for {
		e, err := m.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e == nil {
			break
		}
		if e.Seq != int64(len(got)) {
			t.Fatalf("Seq = %d, want %d", e.Seq, len(got))
		}
		got = append(got, e.Symbol)
	}
	// At ts 20: mark m1, then order o2, then trades t2, t3 in row order.
	want := "o1 t1 m1 o2 t2 t3 m2"
	if strings.Join(got, " ") != want {
		t.Fatalf("merged order %q, want %q", strings.Join(got, " "), want)
	}
	rows := m.Rows()
	if rows["trades"] != 3 || rows["marks"] != 2 || rows["orders"] != 2 {
		t.Fatalf("rows = %v", rows)
	}
}

func TestMergerRejectsUnsortedSource(t *testing.T) {
	m := NewMerger()
	mustAdd(t, m, "trades", detectors.KindTrade, ev(10, "a"), ev(9, "b"))
	var err error
	for i := 0; i < 3 && err == nil; i++ {
		_, err = m.Next()
	}
	if err == nil || !strings.Contains(err.Error(), "trades: row 2: column ts") {
		t.Fatalf("err = %v, want an error naming table, row 2 and column ts", err)
	}
}

func mustAdd(t *testing.T, m *Merger, name string, kind detectors.Kind, evs ...detectors.Event) {
	t.Helper()
	if err := m.Add(name, kind, &SliceSource{Events: evs}); err != nil {
		t.Fatal(err)
	}
}

// countingDetector alerts on every n-th event and once more on Flush.
type countingDetector struct {
	n, seen int
	lastTS  detectors.Micros
}

func (d *countingDetector) OnEvent(e *detectors.Event, emit detectors.Emit) {
	d.seen++
	d.lastTS = e.TS
	if d.seen%d.n == 0 {
		emit(detectors.Alert{Symbol: e.Symbol, TS: e.TS, Score: float64(d.seen)})
	}
}

func (d *countingDetector) Flush(emit detectors.Emit) {
	emit(detectors.Alert{Symbol: "flush", TS: d.lastTS, Score: -1})
}

func TestReplayFeedsEveryInstanceAndFlushes(t *testing.T) {
	m := NewMerger()
	var evs []detectors.Event
	for i := 0; i < 10; i++ {
		evs = append(evs, ev(detectors.Micros(i), "s"))
	}
	mustAdd(t, m, "trades", detectors.KindTrade, evs...)
	insts := []Instance{{ID: "a", Detector: &countingDetector{n: 3}}, {ID: "b", Detector: &countingDetector{n: 5}}}
	got := map[int][]float64{}
	st, err := Replay(context.Background(), m.Next, insts, func(i int, a detectors.Alert) {
		got[i] = append(got[i], a.Score)
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 10 || st.FirstTS != 0 || st.LastTS != 9 {
		t.Fatalf("stats = %+v", st)
	}
	// Instance a alerts at the 3rd, 6th and 9th event, b at the 5th and 10th; both flush once.
	if want := []float64{3, 6, 9, -1}; !equalFloats(got[0], want) {
		t.Fatalf("instance a alerts %v, want %v", got[0], want)
	}
	if want := []float64{5, 10, -1}; !equalFloats(got[1], want) {
		t.Fatalf("instance b alerts %v, want %v", got[1], want)
	}
}

func TestReplayStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n := int64(0)
	next := func() (*detectors.Event, error) { n++; e := ev(n, "s"); return &e, nil } // endless
	_, err := Replay(ctx, next, nil, func(int, detectors.Alert) {}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n != checkEvery {
		t.Fatalf("stopped after %d events, want the first check at %d", n, checkEvery)
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
