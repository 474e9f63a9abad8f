package episodes

import (
	"math"
	"slices"
	"testing"

	"github.com/fds-dev/fds/detectors"
)

type ep struct {
	name string
	last detectors.Micros
}

// TestCloseDue: with gap 10 at now 20, the episodes last seen at 5 and 10 are due (judged in
// list order, not by time), 15 and 12 are kept in order, and the next deadline is 12+10 = 22;
// with all set everything is judged and no deadline is left.
func TestCloseDue(t *testing.T) {
	list := []*ep{{"a", 10}, {"b", 15}, {"c", 5}, {"d", 12}}
	var judged []string
	kept, deadline := CloseDue(list, 20, 10, false, func(e *ep) detectors.Micros { return e.last }, func(e *ep) { judged = append(judged, e.name) })
	if !slices.Equal(judged, []string{"a", "c"}) {
		t.Errorf("judged %v, want [a c]", judged)
	}
	if len(kept) != 2 || kept[0].name != "b" || kept[1].name != "d" || deadline != 22 {
		t.Errorf("kept %v, deadline %d; want [b d], 22", kept, deadline)
	}
	if list[2] != nil || list[3] != nil {
		t.Errorf("tail not cleared: %v", list[2:])
	}
	judged = nil
	kept, deadline = CloseDue(kept, 0, 10, true, func(e *ep) detectors.Micros { return e.last }, func(e *ep) { judged = append(judged, e.name) })
	if !slices.Equal(judged, []string{"b", "d"}) || len(kept) != 0 || deadline != math.MaxInt64 {
		t.Errorf("all: judged %v, kept %v, deadline %d", judged, kept, deadline)
	}
}
