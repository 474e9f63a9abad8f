// Package episodes holds what detectors that group suspicious acts into episodes share: closing
// the episodes whose gap is over, in the order they opened.
package episodes

import (
	"math"

	"github.com/fds-dev/fds/detectors"
)

// CloseDue judges, in list order (the order the episodes opened), every episode whose last act
// is at least gap before now, or every episode when all is set (the end of the input), and keeps
// the others in place. It returns the kept list (the same backing array, its tail cleared so
// judged episodes can be collected) and the earliest time one of them falls due,
// math.MaxInt64 when none is left.
func CloseDue[E any](list []E, now, gap detectors.Micros, all bool, last func(E) detectors.Micros, judge func(E)) ([]E, detectors.Micros) {
	kept := list[:0]
	deadline := detectors.Micros(math.MaxInt64)
	for _, e := range list {
		if all || now-last(e) >= gap {
			judge(e)
			continue
		}
		kept = append(kept, e)
		deadline = min(deadline, last(e)+gap)
	}
	clear(list[len(kept):])
	return kept, deadline
}
