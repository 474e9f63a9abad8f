package synth

import "github.com/fds-dev/fds/detectors"

// bookOrder is a resting limit order. Prices are integer ticks and quantities integer lots, so
// the book never suffers float rounding; they become floats only when written.
type bookOrder struct {
	id     int64
	acct   int32
	side   detectors.Side
	price  int64
	qty    int64 // order quantity
	leaves int64
}

// book is one symbol's limit order book: bids by descending price, asks by ascending price, each
// price level first in, first out. Books here hold tens of orders, so sorted slices beat trees.
type book struct {
	bids, asks []*bookOrder
	byID       map[int64]*bookOrder
}

func newBook() *book { return &book{byID: make(map[int64]*bookOrder, 256)} }

func (b *book) side(s detectors.Side) *[]*bookOrder {
	if s == detectors.Buy {
		return &b.bids
	}
	return &b.asks
}

// ahead reports whether price p has priority over q on side s.
func ahead(s detectors.Side, p, q int64) bool {
	if s == detectors.Buy {
		return p > q
	}
	return p < q
}

// insert adds a resting order behind every order at the same or a better price.
func (b *book) insert(o *bookOrder) {
	lv := b.side(o.side)
	i := len(*lv)
	for i > 0 && ahead(o.side, o.price, (*lv)[i-1].price) {
		i--
	}
	*lv = append(*lv, nil)
	copy((*lv)[i+1:], (*lv)[i:])
	(*lv)[i] = o
	b.byID[o.id] = o
}

// remove takes an order out of the book.
func (b *book) remove(o *bookOrder) {
	lv := b.side(o.side)
	for i, x := range *lv {
		if x == o {
			*lv = append((*lv)[:i], (*lv)[i+1:]...)
			break
		}
	}
	delete(b.byID, o.id)
}

// best returns the best price of a side.
func (b *book) best(s detectors.Side) (int64, bool) {
	lv := *b.side(s)
	if len(lv) == 0 {
		return 0, false
	}
	return lv[0].price, true
}

// depth returns the total resting lots of a side.
func (b *book) depth(s detectors.Side) int64 {
	var n int64
	for _, o := range *b.side(s) {
		n += o.leaves
	}
	return n
}
