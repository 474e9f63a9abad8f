package symbols

import (
	"slices"
	"testing"
)

func TestIndexNumbersInFirstSightAndListsByName(t *testing.T) {
	var x Index
	if _, ok := x.Lookup("BTC/USDT"); ok {
		t.Fatal("empty index finds a name")
	}
	// First sight: ETH 0, BTC 1, SOL 2; a name seen again keeps its number.
	for _, c := range []struct {
		name  string
		id    int
		added bool
	}{{"ETH/USDT", 0, true}, {"BTC/USDT", 1, true}, {"ETH/USDT", 0, false}, {"SOL/USDT", 2, true}, {"BTC/USDT", 1, false}} {
		id, added := x.ID(c.name)
		if id != c.id || added != c.added {
			t.Fatalf("ID(%s) = %d, %v; want %d, %v", c.name, id, added, c.id, c.added)
		}
	}
	if id, ok := x.Lookup("SOL/USDT"); !ok || id != 2 {
		t.Fatalf("Lookup(SOL/USDT) = %d, %v", id, ok)
	}
	// By name: BTC (1), ETH (0), SOL (2).
	if got := x.ByName(); !slices.Equal(got, []int{1, 0, 2}) {
		t.Fatalf("ByName = %v, want [1 0 2]", got)
	}
}
