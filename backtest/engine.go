package backtest

import (
	"context"
	"fmt"

	"github.com/fds-dev/fds/detectors"
)

// EventSource yields the events of one table in non-decreasing ts order. Next fills ev and
// reports false at the end. datasets.EventReader is one; tests use slices.
type EventSource interface {
	Next(ev *detectors.Event) (bool, error)
}

// cursor is one source with its current event. ev points at own, or into a prefetcher's block.
type cursor struct {
	src   EventSource
	pre   *prefetcher // set once the merger prefetches the source
	name  string
	kind  detectors.Kind
	own   detectors.Event
	ev    *detectors.Event
	live  bool
	rows  int64
	tsMax detectors.Micros
}

func (c *cursor) advance() error {
	var ok bool
	var err error
	if c.pre != nil {
		c.ev, err = c.pre.next()
		ok = c.ev != nil
	} else {
		ok, err = c.src.Next(&c.own)
		c.ev = &c.own
	}
	if err != nil {
		return err
	}
	c.live = ok
	if !ok {
		return nil
	}
	c.rows++
	if c.ev.TS < c.tsMax {
		return fmt.Errorf("%s: row %d: column ts: %d is before the previous row's %d (table not sorted by ts)",
			c.name, c.rows, c.ev.TS, c.tsMax)
	}
	c.tsMax = c.ev.TS
	c.ev.Kind = c.kind
	return nil
}

// Merger merges per-table sources into one stream ordered by (ts, kind, row order within the
// table): a stable, documented tie order. With at most four tables a linear scan of the heads is
// cheaper than a heap.
type Merger struct {
	cursors []*cursor
	last    *cursor
	seq     int64
}

// NewMerger builds a merger over named sources of the given kinds.
func NewMerger() *Merger { return &Merger{} }

// Add adds a source. Sources of the same kind keep the order in which they were added at equal ts.
func (m *Merger) Add(name string, kind detectors.Kind, src EventSource) error {
	c := &cursor{src: src, name: name, kind: kind}
	if err := c.advance(); err != nil {
		return err
	}
	m.cursors = append(m.cursors, c)
	return nil
}

// Next returns the next event in merged order, or nil at the end. The event is valid until the
// next call. Seq numbers events 0, 1, 2, ... in delivery order.
func (m *Merger) Next() (*detectors.Event, error) {
	if m.last != nil {
		if err := m.last.advance(); err != nil {
			return nil, err
		}
		m.last = nil
	}
	var best *cursor
	for _, c := range m.cursors {
		if !c.live {
			continue
		}
		if best == nil || c.ev.TS < best.ev.TS || (c.ev.TS == best.ev.TS && c.kind < best.kind) {
			best = c
		}
	}
	if best == nil {
		return nil, nil
	}
	m.last = best
	best.ev.Seq = m.seq
	m.seq++
	return best.ev, nil
}

// Rows returns the rows read from each source, by name.
func (m *Merger) Rows() map[string]int64 {
	out := make(map[string]int64, len(m.cursors))
	for _, c := range m.cursors {
		out[c.name] += c.rows
	}
	return out
}

// Instance is one configured detector in a replay.
type Instance struct {
	// ID names the instance in outputs: the detector name in a backtest, name#k in a sweep.
	ID       string
	Detector detectors.Detector
}

// ReplayStats summarises a replay.
type ReplayStats struct {
	Events  int64
	FirstTS detectors.Micros
	LastTS  detectors.Micros
}

// checkEvery is how many events pass between checks for cancellation and progress reports.
const checkEvery = 1 << 16

// Replay feeds every event of next to every instance in order, then flushes them, and hands each
// alert to sink with the index of the instance that raised it. progress (may be nil) is called
// every checkEvery events. Replay stops early, returning ctx.Err(), when ctx is cancelled.
func Replay(ctx context.Context, next func() (*detectors.Event, error), instances []Instance,
	sink func(instance int, a detectors.Alert), progress func(events int64)) (ReplayStats, error) {
	var st ReplayStats
	emits := make([]detectors.Emit, len(instances))
	for i := range instances {
		i := i
		emits[i] = func(a detectors.Alert) { sink(i, a) }
	}
	for {
		ev, err := next()
		if err != nil {
			return st, err
		}
		if ev == nil {
			break
		}
		if st.Events == 0 {
			st.FirstTS = ev.TS
		}
		st.LastTS = ev.TS
		st.Events++
		for i := range instances {
			instances[i].Detector.OnEvent(ev, emits[i])
		}
		if st.Events%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
			if progress != nil {
				progress(st.Events)
			}
		}
	}
	for i := range instances {
		instances[i].Detector.Flush(emits[i])
	}
	if progress != nil {
		progress(st.Events)
	}
	return st, nil
}

// SliceSource serves events from a slice: for tests and for in-memory pipelines.
type SliceSource struct {
	Events []detectors.Event
	i      int
}

// Next implements EventSource.
func (s *SliceSource) Next(ev *detectors.Event) (bool, error) {
	if s.i >= len(s.Events) {
		return false, nil
	}
	*ev = s.Events[s.i]
	s.i++
	return true, nil
}
