// Package positions keeps what several detectors need to know about accounts and symbols across
// events: each account's net position per symbol, built from the trades it was on either side
// of, and each symbol's typical trade size. It lives under detectors/internal so that only
// detectors use it; like a detector it sees events only, in event-time order, and keeps bounded
// state.
package positions

import (
	"math"

	"github.com/fds-dev/fds/detectors"
)

// Key names an account in a symbol.
type Key struct{ Symbol, Account string }

type entry struct {
	qty  float64 // signed: + long, − short
	last detectors.Micros
}

// Tracker holds net positions built from trades. A position starts at zero when the tracker
// first sees the account trade the symbol (what came before the replay is unknown), and is
// forgotten — back to zero — once the account has not traded the symbol for Horizon: the state is
// bounded by the accounts active within Horizon, and by Max entries in all (new accounts beyond it
// are not tracked until eviction frees room).
type Tracker struct {
	horizon   detectors.Micros
	max       int
	pos       map[Key]*entry
	nextSweep detectors.Micros
	// Untracked counts trades of accounts that could not be tracked because Max was reached.
	Untracked int64
}

// NewTracker returns a tracker that forgets positions idle for horizon and holds at most max.
func NewTracker(horizon detectors.Micros, max int) *Tracker {
	return &Tracker{horizon: max64(horizon, 1), max: max, pos: map[Key]*entry{}}
}

func max64(a, b detectors.Micros) detectors.Micros {
	if a > b {
		return a
	}
	return b
}

// OnTrade applies a trade to both accounts' positions: the taker moves by side·qty, the maker
// by the opposite. A trade with itself changes nothing. Trades with a non-finite or non-positive
// quantity, an unknown side or no accounts are ignored.
func (t *Tracker) OnTrade(ts detectors.Micros, symbol string, tr *detectors.Trade) {
	if ts >= t.nextSweep {
		t.sweep(ts)
	}
	if !(tr.Qty > 0) || math.IsInf(tr.Qty, 0) || (tr.TakerSide != detectors.Buy && tr.TakerSide != detectors.Sell) {
		return
	}
	if tr.TakerAccount == tr.MakerAccount {
		return
	}
	signed := tr.Qty * float64(tr.TakerSide)
	t.add(ts, Key{symbol, tr.TakerAccount}, signed)
	t.add(ts, Key{symbol, tr.MakerAccount}, -signed)
}

func (t *Tracker) add(ts detectors.Micros, k Key, signed float64) {
	if k.Account == "" {
		return
	}
	e := t.pos[k]
	if e == nil {
		if len(t.pos) >= t.max {
			t.Untracked++
			return
		}
		e = &entry{}
		t.pos[k] = e
	}
	e.qty += signed
	e.last = ts
}

// Position returns an account's net position in a symbol (0 when unknown).
func (t *Tracker) Position(symbol, account string) float64 {
	if e := t.pos[Key{symbol, account}]; e != nil {
		return e.qty
	}
	return 0
}

// Len returns the number of positions tracked.
func (t *Tracker) Len() int { return len(t.pos) }

// sweep forgets positions idle for the horizon; deleting in map order gives the same state in any
// order.
func (t *Tracker) sweep(now detectors.Micros) {
	for k, e := range t.pos {
		if e.last < now-t.horizon {
			delete(t.pos, k)
		}
	}
	t.nextSweep = now + t.horizon/4 + 1
}

// Typical is each symbol's typical trade size: exp of an exponentially weighted mean of log(qty)
// with a half-life counted in trades.
type Typical struct {
	alpha float64
	log   map[string]float64
}

// NewTypical returns a typical-size estimator with the given half-life in trades.
func NewTypical(halflife float64) *Typical {
	return &Typical{alpha: 1 - math.Exp2(-1/math.Max(halflife, 1)), log: map[string]float64{}}
}

// Add learns one trade's quantity (non-finite and non-positive quantities are ignored).
func (t *Typical) Add(symbol string, qty float64) {
	if !(qty > 0) || math.IsInf(qty, 0) {
		return
	}
	x := math.Log(qty)
	if m, ok := t.log[symbol]; ok {
		t.log[symbol] = m + t.alpha*(x-m)
	} else {
		t.log[symbol] = x
	}
}

// Get returns the symbol's typical size, or false before its first trade.
func (t *Typical) Get(symbol string) (float64, bool) {
	m, ok := t.log[symbol]
	if !ok {
		return 0, false
	}
	return math.Exp(m), true
}

// Valid reports whether a trade's price and quantity are positive finite numbers and its side is
// known: what every detector here requires before using a trade.
func Valid(tr *detectors.Trade) bool {
	return tr.Price > 0 && !math.IsInf(tr.Price, 0) && tr.Qty > 0 && !math.IsInf(tr.Qty, 0) &&
		(tr.TakerSide == detectors.Buy || tr.TakerSide == detectors.Sell)
}

// Squash maps x ≥ 0 to [0, 1): 1 − exp(−x/scale), 0 for x ≤ 0 or a non-positive scale.
func Squash(x, scale float64) float64 {
	if !(x > 0) || !(scale > 0) {
		return 0
	}
	return 1 - math.Exp(-x/scale)
}

// OrderSizes is each symbol's typical aggressive order size: the trades of one taker order (same
// ts, taker side and taker order id; on public data without order ids, every trade of one side
// at one ts) are summed into one order, and each finished order feeds a Typical. An order is
// finished when the symbol's next trade belongs to another order, so Get lags by one order.
type OrderSizes struct {
	typical *Typical
	cur     map[string]*aggressive
}

type aggressive struct {
	ts   detectors.Micros
	id   int64
	side detectors.Side
	qty  float64
}

// NewOrderSizes returns an estimator with the given half-life in orders.
func NewOrderSizes(halflife float64) *OrderSizes {
	return &OrderSizes{typical: NewTypical(halflife), cur: map[string]*aggressive{}}
}

// Add learns from one valid trade (see Valid).
func (o *OrderSizes) Add(ts detectors.Micros, symbol string, tr *detectors.Trade) {
	c := o.cur[symbol]
	if c == nil {
		o.cur[symbol] = &aggressive{ts: ts, id: tr.TakerOrderID, side: tr.TakerSide, qty: tr.Qty}
		return
	}
	if c.ts == ts && c.id == tr.TakerOrderID && c.side == tr.TakerSide {
		c.qty += tr.Qty
		return
	}
	o.typical.Add(symbol, c.qty)
	*c = aggressive{ts: ts, id: tr.TakerOrderID, side: tr.TakerSide, qty: tr.Qty}
}

// Get returns the symbol's typical aggressive order size: the finished orders' typical size, or
// the order in progress before any finished; false before the symbol's first trade.
func (o *OrderSizes) Get(symbol string) (float64, bool) {
	if t, ok := o.typical.Get(symbol); ok {
		return t, true
	}
	if c := o.cur[symbol]; c != nil {
		return c.qty, true
	}
	return 0, false
}
