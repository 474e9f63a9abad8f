package importers

import (
	"sort"

	"github.com/fds-dev/fds/detectors"
)

// Level books: the public order book of one (exchange, symbol), rebuilt from book data (Tardis
// CSVs, raw WebSocket captures) so that its changes become order events. Each price level is one
// limit order of the synthetic account book:<exchange>: new when the level appears, amend when
// its size changes, cancel when it goes (see docs/importers.md, "Why level orders").

// bookState is the level book of one (exchange, symbol).
type bookState struct {
	// account and symbol label the level orders of this book.
	account, symbol string
	levels          map[bookKey]*bookLevel
	// inSnapshot says the previous incremental row was part of a snapshot (Tardis
	// incremental_book_L2).
	inSnapshot bool
}

type bookKey struct {
	side  detectors.Side
	price float64
}

type bookLevel struct {
	id  int64
	qty float64
}

// book returns the level book of (exchange, symbol), creating it empty.
func (c *parseCtx) book(exchange, symbol string) *bookState {
	if c.books == nil {
		c.books = map[string]*bookState{}
	}
	key := exchange + "|" + symbol
	b := c.books[key]
	if b == nil {
		b = &bookState{account: "book:" + exchange, symbol: symbol, levels: map[bookKey]*bookLevel{}}
		c.books[key] = b
	}
	return b
}

// levelOrder emits, at time at, the order event that moves a level to qty (0 removes it).
// Level order ids are numbered across the import in order of appearance.
func (c *parseCtx) levelOrder(b *bookState, at detectors.Micros, k bookKey, qty float64) {
	lv := b.levels[k]
	o := detectors.Order{Account: b.account, Side: k.side, Type: detectors.Limit, Price: k.price}
	switch {
	case lv == nil && qty == 0:
		return
	case lv == nil:
		c.nextLevelID++
		lv = &bookLevel{id: c.nextLevelID, qty: qty}
		b.levels[k] = lv
		o.Event, o.Qty, o.LeavesQty = detectors.OrderNew, qty, qty
	case qty == 0:
		delete(b.levels, k)
		o.Event, o.Qty, o.LeavesQty = detectors.OrderCancel, lv.qty, 0
	case qty == lv.qty:
		return
	default:
		lv.qty = qty
		o.Event, o.Qty, o.LeavesQty = detectors.OrderAmend, qty, qty
	}
	o.OrderID = lv.id
	c.out.orders = append(c.out.orders, row[detectors.Order]{TS: at, Symbol: b.symbol, V: o})
}

// replaceBook moves the book to the given levels (a snapshot): changed and new levels in the
// order given, then removed levels by side (sell first) and price.
func (c *parseCtx) replaceBook(b *bookState, at detectors.Micros, next []bookKey, qty []float64) {
	keep := make(map[bookKey]bool, len(next))
	for i, k := range next {
		if qty[i] > 0 {
			keep[k] = true
		}
	}
	var gone []bookKey
	for k := range b.levels {
		if !keep[k] {
			gone = append(gone, k)
		}
	}
	sortKeys(gone)
	for i, k := range next {
		c.levelOrder(b, at, k, qty[i])
	}
	for _, k := range gone {
		c.levelOrder(b, at, k, 0)
	}
}

func sortKeys(ks []bookKey) {
	sort.Slice(ks, func(i, j int) bool {
		if ks[i].side != ks[j].side {
			return ks[i].side > ks[j].side
		}
		return ks[i].price < ks[j].price
	})
}
