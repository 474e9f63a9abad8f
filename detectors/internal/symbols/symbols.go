// Package symbols numbers the symbols a detector sees in order of first sight, so that its
// per-symbol state can live in slices indexed by that number, and gives them back in name order
// for a flush whose output does not depend on the order symbols first appeared.
package symbols

import "sort"

// Index numbers names 0, 1, 2, ... as they are first seen. The zero value is empty and ready.
type Index struct {
	ids   map[string]int
	names []string
}

// ID returns the number of name and whether it was new: the caller then grows its per-symbol
// state to hold it.
func (x *Index) ID(name string) (id int, added bool) {
	if i, ok := x.ids[name]; ok {
		return i, false
	}
	if x.ids == nil {
		x.ids = map[string]int{}
	}
	id = len(x.names)
	x.ids[name] = id
	x.names = append(x.names, name)
	return id, true
}

// Lookup returns the number of a name already seen.
func (x *Index) Lookup(name string) (int, bool) {
	i, ok := x.ids[name]
	return i, ok
}

// ByName returns the numbers of every name seen, ordered by name.
func (x *Index) ByName() []int {
	order := make([]int, len(x.names))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool { return x.names[order[i]] < x.names[order[j]] })
	return order
}
