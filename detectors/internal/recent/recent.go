// Package recent remembers values by id (an order id) for a bounded time of event time: the new
// orders of the last few seconds that a later cancel or trade looks up. It replaces a map plus
// a queue by time that deletes each entry when it ages out (a map insert, a lookup and a delete
// per order): two generations of maps, the older dropped whole once per period.
package recent

import "github.com/fds-dev/fds/detectors"

type entry[V any] struct {
	ts detectors.Micros
	v  V
}

// Map holds the latest value put under each id. Every entry put at most Keep before the time of
// the last Advance is kept; older ones may or may not be, so a caller that needs an exact age
// checks the returned ts.
type Map[V any] struct {
	cur, prev map[int64]entry[V]
	period    detectors.Micros
	rotateAt  detectors.Micros
	started   bool
}

// MinPeriod bounds how often the generations turn over when keep is tiny (clearing a map costs
// its capacity, whatever it holds).
const MinPeriod = 100 * detectors.Millisecond

// New returns a Map that keeps every entry at most keep old.
func New[V any](keep detectors.Micros) *Map[V] {
	return &Map[V]{cur: map[int64]entry[V]{}, prev: map[int64]entry[V]{}, period: max(keep, MinPeriod)}
}

// Advance moves the map's clock to now (non-decreasing). Entries put before the previous
// turnover are dropped once the current generation is a period old: they are then more than a
// period, so more than keep, old.
func (m *Map[V]) Advance(now detectors.Micros) {
	if !m.started {
		m.started, m.rotateAt = true, now+m.period
		return
	}
	if now >= m.rotateAt {
		clear(m.prev)
		m.prev, m.cur = m.cur, m.prev
		m.rotateAt = now + m.period
	}
}

// Put records v under id at ts (the clock's now), replacing what id held.
func (m *Map[V]) Put(id int64, ts detectors.Micros, v V) {
	m.cur[id] = entry[V]{ts: ts, v: v}
}

// Get returns the latest value put under id and its ts, if still held.
func (m *Map[V]) Get(id int64) (detectors.Micros, V, bool) {
	if e, ok := m.cur[id]; ok {
		return e.ts, e.v, true
	}
	e, ok := m.prev[id]
	return e.ts, e.v, ok
}

// Delete forgets id (every value put under it).
func (m *Map[V]) Delete(id int64) {
	delete(m.cur, id)
	delete(m.prev, id)
}

// Len is the number of entries held (an id put in both generations counts twice).
func (m *Map[V]) Len() int { return len(m.cur) + len(m.prev) }
