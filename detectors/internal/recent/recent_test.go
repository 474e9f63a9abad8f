package recent

import (
	"math/rand/v2"
	"testing"

	"github.com/fds-dev/fds/detectors"
)

// TestMatchesExactExpiry drives a Map and an exact model (a plain map of the latest put per id,
// forgetting entries older than keep at every step) with one seeded script of puts, deletes,
// lookups and pauses, and checks that every lookup of an entry at most keep old agrees with the
// model, and that the Map holds no more than two periods of puts.
func TestMatchesExactExpiry(t *testing.T) {
	for _, keep := range []detectors.Micros{0, 50 * detectors.Millisecond, detectors.Second, 10 * detectors.Second} {
		rng := rand.New(rand.NewPCG(3, uint64(keep)))
		m := New[int](keep)
		type put struct {
			ts detectors.Micros
			v  int
		}
		model := map[int64]put{}
		now := detectors.Micros(1_700_000_000_000_000)
		for step := 0; step < 50_000; step++ {
			now += detectors.Micros(rng.IntN(20)) * detectors.Millisecond
			if rng.IntN(1000) == 0 {
				now += 3 * max(keep, MinPeriod)
			}
			m.Advance(now)
			for id, p := range model {
				if now-p.ts > keep {
					delete(model, id)
				}
			}
			id := int64(rng.IntN(300))
			switch rng.IntN(4) {
			case 0, 1:
				m.Put(id, now, step)
				model[id] = put{now, step}
			case 2:
				if rng.IntN(10) == 0 {
					m.Delete(id)
					delete(model, id)
				}
			}
			ts, v, ok := m.Get(id)
			if ok && now-ts > keep {
				ok = false // older than keep: the caller's age check discards it
			}
			want, wantOK := model[id]
			if ok != wantOK || (ok && (ts != want.ts || v != want.v)) {
				t.Fatalf("keep %d, step %d: Get(%d) = %d,%d,%v, want %d,%d,%v", keep, step, id, ts, v, ok, want.ts, want.v, wantOK)
			}
			// Each step puts at most one entry every millisecond or more: two periods' worth.
			if limit := int(2*max(keep, MinPeriod)/detectors.Millisecond) + 2; m.Len() > limit {
				t.Fatalf("keep %d: %d entries held, more than %d", keep, m.Len(), limit)
			}
		}
	}
}
