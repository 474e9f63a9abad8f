package ring

import (
	"math/rand/v2"
	"testing"
)

// TestQueueMatchesSlice drives a queue and a plain slice with the same seeded mix of pushes and
// pops (through several growths and wrap-arounds) and checks that they agree at every step.
func TestQueueMatchesSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var q Queue[int]
	var want []int
	next := 0
	for step := 0; step < 20_000; step++ {
		// Phases that grow, then drain, so that the front wraps around the buffer's end.
		grow := (step/2000)%2 == 0
		if len(want) == 0 || (grow && rng.IntN(3) > 0) || (!grow && rng.IntN(3) == 0) {
			q.Push(next)
			want = append(want, next)
			next++
		} else {
			got := q.Pop()
			if got != want[0] {
				t.Fatalf("step %d: popped %d, want %d", step, got, want[0])
			}
			want = want[1:]
		}
		if q.Len() != len(want) {
			t.Fatalf("step %d: len %d, want %d", step, q.Len(), len(want))
		}
		if len(want) > 0 {
			if *q.Front() != want[0] {
				t.Fatalf("step %d: front %d, want %d", step, *q.Front(), want[0])
			}
			i := rng.IntN(len(want))
			if *q.At(i) != want[i] {
				t.Fatalf("step %d: at %d is %d, want %d", step, i, *q.At(i), want[i])
			}
		}
	}
}

// TestPopReleases checks that a popped slot no longer references its element, so the queue does
// not keep popped objects alive.
func TestPopReleases(t *testing.T) {
	var q Queue[*int]
	x := 7
	q.Push(&x)
	q.Push(&x)
	q.Pop()
	if q.buf[0] != nil {
		t.Fatal("popped slot still holds its pointer")
	}
	if q.Len() != 1 || *q.Front() != &x {
		t.Fatal("the second element was lost")
	}
}

// TestSteadyLengthStopsAllocating: once a queue's length levels off, pushes and pops allocate
// nothing (the buffer is reused around the ring).
func TestSteadyLengthStopsAllocating(t *testing.T) {
	var q Queue[[3]int64]
	for i := 0; i < 1000; i++ {
		q.Push([3]int64{int64(i)})
	}
	allocs := testing.AllocsPerRun(100, func() {
		for i := 0; i < 1000; i++ {
			q.Push([3]int64{int64(i)})
			q.Pop()
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per 1000 push+pop at a steady length, want 0", allocs)
	}
}
