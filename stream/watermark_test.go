package stream

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/fds-dev/fds/detectors"
)

func pend(src int, off int64, ts detectors.Micros, kind detectors.Kind, row int64) *Pending {
	return &Pending{Event: detectors.Event{TS: ts, Kind: kind}, Row: row, Source: src, Offset: off}
}

func drain(w *Watermark) []int64 {
	var out []int64
	for p := w.Pop(); p != nil; p = w.Pop() {
		out = append(out, p.Event.TS*1000+p.Row)
	}
	return out
}

// TestWatermarkOrderIndependentOfArrival feeds the same per-source sequences in many seeded
// random interleavings: the released order must always be the global (ts, kind, row) order,
// since each source is in order and no source idles.
func TestWatermarkOrderIndependentOfArrival(t *testing.T) {
	// Three sources (e.g. marks/0, orders/0, trades/1), each in ts order, with ties across them.
	seqs := [][]*Pending{}
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := []detectors.Kind{detectors.KindMark, detectors.KindOrder, detectors.KindTrade}
	for s := 0; s < 3; s++ {
		var ts detectors.Micros
		var seq []*Pending
		for i := 0; i < 200; i++ {
			ts += detectors.Micros(rng.IntN(3)) // many equal timestamps
			seq = append(seq, pend(s, int64(i), ts, kinds[s], int64(i)))
		}
		seqs = append(seqs, seq)
	}
	var want []int64
	for trial := 0; trial < 20; trial++ {
		w := NewWatermark(0)
		for range seqs {
			w.AddSource()
		}
		pos := make([]int, len(seqs))
		var got []*Pending
		for {
			live := []int{}
			for s := range seqs {
				if pos[s] < len(seqs[s]) {
					live = append(live, s)
				}
			}
			if len(live) == 0 {
				break
			}
			s := live[rng.IntN(len(live))]
			burst := 1 + rng.IntN(30) // a fetch brings a batch from one partition
			for k := 0; k < burst && pos[s] < len(seqs[s]); k++ {
				p := *seqs[s][pos[s]]
				if !w.Push(&p) {
					t.Fatalf("trial %d: in-order event refused as late", trial)
				}
				pos[s]++
				if pos[s] == len(seqs[s]) {
					w.End(s)
				}
			}
			for p := w.Pop(); p != nil; p = w.Pop() {
				got = append(got, p)
			}
		}
		if !w.AllEnded() {
			t.Fatalf("trial %d: not ended after every source ended and drained", trial)
		}
		var keys []int64
		for i, p := range got {
			if i > 0 && p.less(got[i-1]) {
				t.Fatalf("trial %d: event %d released out of order", trial, i)
			}
			keys = append(keys, int64(p.Source)<<32|p.Offset)
		}
		if len(keys) != 600 {
			t.Fatalf("trial %d: released %d events, want 600", trial, len(keys))
		}
		if trial == 0 {
			want = keys
		} else if !reflect.DeepEqual(keys, want) {
			t.Fatalf("trial %d: release order depends on arrival order", trial)
		}
	}
}

func TestWatermarkHoldsBackUntilEverySourceSpeaks(t *testing.T) {
	w := NewWatermark(0)
	a, b := w.AddSource(), w.AddSource()
	w.Push(pend(a, 0, 10, detectors.KindTrade, 0))
	w.Push(pend(a, 1, 20, detectors.KindTrade, 1))
	if got := drain(w); got != nil {
		t.Fatalf("released %v while source b has said nothing", got)
	}
	w.Push(pend(b, 0, 15, detectors.KindTrade, 2))
	// Watermark = min(20, 15) = 15: only ts < 15 goes.
	if got := drain(w); !reflect.DeepEqual(got, []int64{10000}) {
		t.Fatalf("got %v, want [10000]", got)
	}
	w.End(b)
	// b ended: the bound is a's 20, so 15 goes and 20 waits for a.
	if got := drain(w); !reflect.DeepEqual(got, []int64{15002}) {
		t.Fatalf("got %v, want [15002]", got)
	}
	w.End(a)
	if got := drain(w); !reflect.DeepEqual(got, []int64{20001}) {
		t.Fatalf("got %v, want [20001]", got)
	}
	if !w.AllEnded() {
		t.Fatal("not ended")
	}
}

func TestWatermarkLateness(t *testing.T) {
	// Delay 5: within a source, events may go back 5 in ts.
	w := NewWatermark(5)
	a, b := w.AddSource(), w.AddSource()
	mustPush := func(p *Pending, want bool) {
		t.Helper()
		if got := w.Push(p); got != want {
			t.Fatalf("push ts %d to %d: accepted=%v, want %v", p.Event.TS, p.Source, got, want)
		}
	}
	mustPush(pend(a, 0, 100, detectors.KindTrade, 0), true)
	mustPush(pend(a, 1, 96, detectors.KindTrade, 1), true)  // 96 >= 100-5
	mustPush(pend(a, 2, 94, detectors.KindTrade, 2), false) // 94 < 95: late by its own source
	mustPush(pend(b, 0, 200, detectors.KindTrade, 3), true)
	// Bound = min(100, 200) - 5 = 95: nothing below 95 is buffered.
	if got := drain(w); got != nil {
		t.Fatalf("got %v", got)
	}
	mustPush(pend(a, 3, 150, detectors.KindTrade, 4), true)
	// Bound = min(150, 200) - 5 = 145: 96 and 100 go.
	if got := drain(w); !reflect.DeepEqual(got, []int64{96001, 100000}) {
		t.Fatalf("got %v", got)
	}
	// b goes idle; a source that wakes after the watermark passed it is late by the watermark.
	w.SetIdle(b, true)
	mustPush(pend(a, 4, 300, detectors.KindTrade, 5), true)
	drain(w) // bound 295: releases 150, 200
	mustPush(pend(b, 1, 290, detectors.KindTrade, 6), false)
	mustPush(pend(b, 2, 296, detectors.KindTrade, 7), true)
	if w.Idle(b) {
		t.Error("a push did not wake the idle source")
	}
}

func TestWatermarkTieOrder(t *testing.T) {
	w := NewWatermark(0)
	s0, s1, s2 := w.AddSource(), w.AddSource(), w.AddSource()
	// Same ts: marks before orders before trades, then row, then source.
	w.Push(pend(s2, 0, 7, detectors.KindTrade, 1))
	w.Push(pend(s1, 0, 7, detectors.KindOrder, 9))
	w.Push(pend(s0, 0, 7, detectors.KindTrade, 0))
	w.Push(pend(s0, 1, 7, detectors.KindMark, 5))
	for _, s := range []int{s0, s1, s2} {
		w.End(s)
	}
	var got []string
	for p := w.Pop(); p != nil; p = w.Pop() {
		got = append(got, p.Event.Kind.String())
	}
	want := []string{"mark", "order", "trade", "trade"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestWatermarkMinQueuedOffset(t *testing.T) {
	w := NewWatermark(10)
	a := w.AddSource()
	w.Push(pend(a, 4, 100, detectors.KindTrade, 0))
	w.Push(pend(a, 5, 95, detectors.KindTrade, 1))
	if got := w.MinQueuedOffset(a); got != 4 {
		t.Fatalf("min queued offset %d, want 4", got)
	}
	w.Push(pend(a, 6, 120, detectors.KindTrade, 2))
	// Bound 110 releases ts 95 (offset 5) and ts 100 (offset 4): offset 6 remains.
	if got := drain(w); len(got) != 2 {
		t.Fatalf("released %v", got)
	}
	if got := w.MinQueuedOffset(a); got != 6 {
		t.Fatalf("min queued offset %d, want 6", got)
	}
}
