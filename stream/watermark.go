package stream

import (
	"container/heap"
	"math"

	"github.com/fds-dev/fds/detectors"
)

// Pending is one decoded event waiting in the watermark merger.
type Pending struct {
	Event detectors.Event
	Row   int64
	// Source is the index of the input partition (see Watermark.AddSource); Offset its offset.
	Source int
	Offset int64
	// Arrived is a caller's stamp (the pipeline uses wall-clock nanoseconds) for latency metrics.
	Arrived int64
}

// less is the replay order: ts, then kind (the backtest's tie order), then the row in the source
// table, then source and offset so that the order is total even without rows.
func (p *Pending) less(q *Pending) bool {
	if p.Event.TS != q.Event.TS {
		return p.Event.TS < q.Event.TS
	}
	if p.Event.Kind != q.Event.Kind {
		return p.Event.Kind < q.Event.Kind
	}
	if p.Row != q.Row {
		return p.Row < q.Row
	}
	if p.Source != q.Source {
		return p.Source < q.Source
	}
	return p.Offset < q.Offset
}

type pendingHeap []*Pending

func (h pendingHeap) Len() int           { return len(h) }
func (h pendingHeap) Less(i, j int) bool { return h[i].less(h[j]) }
func (h pendingHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *pendingHeap) Push(x any)        { *h = append(*h, x.(*Pending)) }
func (h *pendingHeap) Pop() any {
	old := *h
	n := len(old)
	x := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return x
}

type sourceState struct {
	maxTS  detectors.Micros
	seen   bool
	idle   bool
	ended  bool
	queued int
}

// Watermark orders events from several input partitions by event time with bounded
// out-of-orderness.
//
// Each source (a topic partition) tracks the greatest ts it has delivered. The watermark is the
// least of those, over sources that are neither ended nor idle, minus the allowed delay; every
// buffered event with ts below it is released in replay order (ts, kind, row, source, offset).
// A source's events are late when they are older than its own greatest ts minus the delay, or
// older than the watermark already released: such an event cannot be put in order any more and is
// refused (the caller counts it and dead-letters or drops it). Lateness by the first rule depends
// only on the source's own content, so with in-order partitions and no idle sources the released
// sequence is the same whatever order the partitions' records arrive in: the property the parity
// test relies on.
//
// A source that has delivered nothing holds the watermark back until it delivers, ends or is
// marked idle. The watermark never decreases.
type Watermark struct {
	delay   detectors.Micros
	sources []sourceState
	heap    pendingHeap
	// released is the watermark: every released event has ts < released.
	released detectors.Micros
	// lastTS is the ts of the last released event.
	lastTS detectors.Micros
}

// NewWatermark returns a merger allowing delay of out-of-orderness within a source.
func NewWatermark(delay detectors.Micros) *Watermark {
	if delay < 0 {
		delay = 0
	}
	return &Watermark{delay: delay, released: math.MinInt64, lastTS: math.MinInt64}
}

// AddSource registers an input partition and returns its index.
func (w *Watermark) AddSource() int {
	w.sources = append(w.sources, sourceState{maxTS: math.MinInt64})
	return len(w.sources) - 1
}

// Sources returns the number of registered sources.
func (w *Watermark) Sources() int { return len(w.sources) }

// Push buffers an event of a source. It returns false, buffering nothing, when the event is late.
// A push to an idle or ended source makes it active again.
func (w *Watermark) Push(p *Pending) bool {
	s := &w.sources[p.Source]
	ts := p.Event.TS
	if (s.seen && ts < s.maxTS-w.delay) || ts < w.released {
		return false
	}
	if !s.seen || ts > s.maxTS {
		s.maxTS = ts
	}
	s.seen, s.idle, s.ended = true, false, false
	s.queued++
	heap.Push(&w.heap, p)
	return true
}

// End marks a source ended: it no longer holds the watermark back.
func (w *Watermark) End(source int) { w.sources[source].ended = true }

// Ended reports whether a source has ended.
func (w *Watermark) Ended(source int) bool { return w.sources[source].ended }

// SetIdle marks a source idle (or active again): an idle source does not hold the watermark back.
func (w *Watermark) SetIdle(source int, idle bool) { w.sources[source].idle = idle }

// Idle reports whether a source is marked idle.
func (w *Watermark) Idle(source int) bool { return w.sources[source].idle }

// AllEnded reports whether every source has ended and nothing is buffered: the end of the stream.
func (w *Watermark) AllEnded() bool {
	if len(w.heap) > 0 || len(w.sources) == 0 {
		return false
	}
	for i := range w.sources {
		if !w.sources[i].ended {
			return false
		}
	}
	return true
}

// bound is the current release bound: events with ts below it may be released.
func (w *Watermark) bound() detectors.Micros {
	b := detectors.Micros(math.MaxInt64)
	active := false
	for i := range w.sources {
		s := &w.sources[i]
		if s.ended || s.idle {
			continue
		}
		active = true
		if !s.seen {
			return w.released
		}
		if v := s.maxTS - w.delay; v < b {
			b = v
		}
	}
	if !active {
		return math.MaxInt64
	}
	if b < w.released {
		return w.released
	}
	return b
}

// Pop returns the next event whose ts is below the watermark, or nil when none is.
func (w *Watermark) Pop() *Pending {
	if len(w.heap) == 0 {
		return nil
	}
	b := w.bound()
	if b > w.released {
		if b == math.MaxInt64 {
			// No source holds the stream back (all ended or idle): everything buffered may go,
			// and from then on only events after the last released one are in order.
			b = w.heap[0].Event.TS + 1
			if last := w.maxQueuedTS(); last >= b {
				b = last + 1
			}
		}
		w.released = b
	}
	if w.heap[0].Event.TS >= w.released {
		return nil
	}
	p := heap.Pop(&w.heap).(*Pending)
	w.sources[p.Source].queued--
	w.lastTS = p.Event.TS
	return p
}

func (w *Watermark) maxQueuedTS() detectors.Micros {
	m := detectors.Micros(math.MinInt64)
	for _, p := range w.heap {
		if p.Event.TS > m {
			m = p.Event.TS
		}
	}
	return m
}

// Released returns the watermark: every event released so far has ts below it (math.MinInt64
// before the first release).
func (w *Watermark) Released() detectors.Micros { return w.released }

// Buffered returns the number of events waiting.
func (w *Watermark) Buffered() int { return len(w.heap) }

// Queued returns the number of events of a source waiting.
func (w *Watermark) Queued(source int) int { return w.sources[source].queued }

// MinQueuedOffset returns the least offset of a source's waiting events, or -1 when none wait.
func (w *Watermark) MinQueuedOffset(source int) int64 {
	if w.sources[source].queued == 0 {
		return -1
	}
	min := int64(-1)
	for _, p := range w.heap {
		if p.Source == source && (min < 0 || p.Offset < min) {
			min = p.Offset
		}
	}
	return min
}
