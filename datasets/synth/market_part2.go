package synth

import (
	"math"

	"github.com/fds-dev/fds/detectors"
)

// Market mechanics of the second part of the detector catalogue (momentum ignition, liquidation
// hunts, funding manipulation), kept out of generator.go:
//
//   - Price impact. Every taker fill moves the perpetual's fair price (what the market makers
//     quote around) by impactBP(symbol) basis points per typical size, in the taker's direction.
//     The move is temporary: arbitrage against the index pulls it back with time constant
//     impactDecay. The index does not feel it, so a push shows in the premium.
//   - Mark price. mark = median(fair price, last trade price, book mid), the fair price being what
//     the market makers quote around (index·(1+premium), moved by recent taker flow): the venue's
//     mark follows the traded price (a push moves it), but one stray print does not. An empty
//     book side gives no mid; the last trade price takes its place.
//   - Funding. Settlements every fundingInterval of UTC (a preset parameter), at which the mark
//     row carries the funding rate: the period's mean premium of the published mark over the
//     published index, plus 1 bp, clamped at ±0.75 %.
//   - Leverage and liquidations. Leveraged traders open positions with a leverage and a
//     liquidation price: long entry·(1 − 1/leverage + maintenanceMargin), short
//     entry·(1 + 1/leverage − maintenanceMargin). At each mark, positions whose liquidation
//     price the mark reached are closed by a reduce-only market order that walks the book (it
//     appears in the orders and trades tables) and by a row of the liquidations table: the
//     account, the order's side, the position's quantity and the order's average fill price (the
//     mark when the book had nothing to fill it with; the insurance fund takes what the book
//     could not).

// maintenanceMargin is the maintenance margin rate of every symbol.
const maintenanceMargin = 0.005

// Action kinds of this file (generator.go's do passes unknown kinds to doMarket2).
const (
	actLevOpen uint8 = 100 + iota
	actLevClose
)

// levPos is one leveraged position with a liquidation price.
type levPos struct {
	id    int32
	acct  int32
	sym   int32
	side  detectors.Side
	lots  int64
	entry float64 // average entry price
	liq   float64 // the mark at or beyond which it is liquidated
	open  bool
	// onLiq, when set, is told of the liquidation (an episode counting its victims).
	onLiq func(t detectors.Micros)
}

// market2 is the generator's state for these mechanics.
type market2 struct {
	levPool []int32        // accounts of the leveraged traders
	levs    []*levPos      // every position ever opened, by id
	active  [][]*levPos    // open positions per symbol, in opening order
	holding map[int64]bool // (account, symbol) pairs with an open leveraged position
	forced  bool           // the market order being sent is a liquidation (reduce-only)
	// Fills of the last market order: lots and Σ ticks·lots, for its average price.
	fillLots, fillTicks int64
	// liqs counts liquidations per symbol, so episodes can tell a cascade happened.
	liqs []int
}

// impactBP is the temporary price impact of one typical size, in basis points: larger on less
// active symbols, whose books are thinner.
func impactBP(spec SymbolSpec) float64 { return 0.5 / math.Sqrt(spec.Activity) }

// startMarket2 schedules the leveraged traders' flow of one symbol.
func (g *Generator) startMarket2(s *symState) {
	if len(g.m2.active) < len(g.syms) {
		g.m2.active = make([][]*levPos, len(g.syms))
		g.m2.liqs = make([]int, len(g.syms))
		g.m2.holding = map[int64]bool{}
	}
	if rate := g.p2.levOpensPerSecond * s.spec.Activity; rate > 0 && len(g.m2.levPool) > 0 {
		g.push(g.start+g.expDelay(rate), actLevOpen, s.idx, 0, 0)
	}
}

func (g *Generator) doMarket2(a action, s *symState) {
	switch a.kind {
	case actLevOpen:
		// A leveraged trader without a position in the symbol opens one: side at random,
		// leverage log-uniform, closed after an exponential holding time unless liquidated.
		acct := g.m2.levPool[g.rng.IntN(len(g.m2.levPool))]
		side := detectors.Buy
		if g.rng.IntN(2) == 0 {
			side = detectors.Sell
		}
		lev := math.Exp(uniformRNG(g, math.Log(g.p2.levMin), math.Log(g.p2.levMax)))
		lots := g.sizeLots(s, 0, 0.6)
		if lp := g.openLeveraged(s, a.t, acct, side, lots, lev); lp != nil {
			hold := detectors.Micros(g.rng.ExpFloat64() * g.p2.levHoldSeconds * float64(detectors.Second))
			g.push(a.t+max(hold, detectors.Second), actLevClose, s.idx, lp.id, 0)
		}
		g.push(a.t+g.expDelay(g.p2.levOpensPerSecond*s.spec.Activity), actLevOpen, s.idx, 0, 0)
	case actLevClose:
		g.closeLeveraged(s, a.t, g.m2.levs[a.ep])
	}
}

func uniformRNG(g *Generator, lo, hi float64) float64 { return lo + (hi-lo)*g.rng.Float64() }

func holdKey(acct, sym int32) int64 { return int64(acct)<<20 | int64(sym) }

// openLeveraged opens a position of lots on side by a market order (capped by the book like any
// honest flow) and gives it its liquidation price. It returns nil when the account already holds
// a leveraged position in the symbol or nothing filled.
func (g *Generator) openLeveraged(s *symState, t detectors.Micros, acct int32, side detectors.Side, lots int64, leverage float64) *levPos {
	if g.m2.holding[holdKey(acct, s.idx)] {
		return nil
	}
	g.m2.fillLots, g.m2.fillTicks = 0, 0
	filled := g.marketOrder(s, t, acct, side, lots, true)
	if filled <= 0 || g.m2.fillLots == 0 {
		return nil
	}
	entry := float64(g.m2.fillTicks) / float64(g.m2.fillLots) / s.pricePow
	sgn := float64(side)
	lp := &levPos{
		id: int32(len(g.m2.levs)), acct: acct, sym: s.idx, side: side, lots: filled, entry: entry,
		liq: entry * (1 - sgn/leverage + sgn*maintenanceMargin), open: true,
	}
	g.m2.levs = append(g.m2.levs, lp)
	g.m2.active[s.idx] = append(g.m2.active[s.idx], lp)
	g.m2.holding[holdKey(acct, s.idx)] = true
	return lp
}

// addPosition records a position an account held before the market's start (no trade: the
// open interest and the account's position change as if it had been opened long ago).
func (g *Generator) addPosition(s *symState, acct int32, side detectors.Side, lots int64) {
	g.move(s, acct, int64(side)*lots)
}

// closeLeveraged closes a still-open position with a market order.
func (g *Generator) closeLeveraged(s *symState, t detectors.Micros, lp *levPos) {
	if !lp.open {
		return
	}
	g.retire(lp)
	g.marketOrder(s, t, lp.acct, -lp.side, lp.lots, false)
}

func (g *Generator) retire(lp *levPos) {
	lp.open = false
	delete(g.m2.holding, holdKey(lp.acct, lp.sym))
	act := g.m2.active[lp.sym]
	for i, x := range act {
		if x == lp {
			g.m2.active[lp.sym] = append(act[:i], act[i+1:]...)
			break
		}
	}
}

// onFill is called by marketOrder for every fill of a market order: it records the last trade
// price and the order's fills, and applies the taker's price impact to the fair price.
func (g *Generator) onFill(s *symState, side detectors.Side, priceTicks, lots int64) {
	s.lastTrade = priceTicks
	g.m2.fillLots += lots
	g.m2.fillTicks += priceTicks * lots
	d := float64(side) * impactBP(s.spec) * 1e-4 * float64(lots) / s.typicalLots
	s.fair *= math.Exp(d)
	s.impact += d
}

// decayImpact lets arbitrage pull the fair price back towards the index over dt seconds.
func (g *Generator) decayImpact(s *symState, dt float64) {
	if s.impact == 0 || g.p2.impactDecay <= 0 {
		return
	}
	kept := s.impact * math.Exp(-dt/g.p2.impactDecay)
	s.fair *= math.Exp(kept - s.impact)
	s.impact = kept
}

// markAndIndex returns the mark price in ticks and the index price of a symbol now.
func (g *Generator) markAndIndex(s *symState) (int64, float64) {
	index := s.fair * math.Exp(-s.impact) / (1 + s.prem)
	index = math.Round(index*s.pricePow*100) / (s.pricePow * 100)
	base := s.ticks(s.fair)
	last := s.lastTrade
	if last <= 0 {
		last = base
	}
	mid := last
	bid, okB := s.book.best(detectors.Buy)
	ask, okA := s.book.best(detectors.Sell)
	if okB && okA {
		mid = (bid + ask) / 2
	}
	return median3(base, last, mid), index
}

func median3(a, b, c int64) int64 {
	if a > b {
		a, b = b, a
	}
	if b > c {
		b = c
	}
	if a > b {
		return a
	}
	return b
}

// isSettlement reports whether t is a funding settlement.
func (g *Generator) isSettlement(t detectors.Micros) bool {
	return g.p2.fundingInterval > 0 && t%g.p2.fundingInterval == 0
}

// checkLiquidations liquidates, after the mark at t, every open position of the symbol whose
// liquidation price the mark reached, in opening order.
func (g *Generator) checkLiquidations(s *symState, t detectors.Micros, markTicks int64) {
	act := g.m2.active[s.idx]
	if len(act) == 0 {
		return
	}
	mark := s.price(markTicks)
	var hit []*levPos
	for _, lp := range act {
		if (lp.side == detectors.Buy && mark <= lp.liq) || (lp.side == detectors.Sell && mark >= lp.liq) {
			hit = append(hit, lp)
		}
	}
	for _, lp := range hit {
		g.retire(lp)
		g.m2.fillLots, g.m2.fillTicks = 0, 0
		g.m2.forced = true
		g.marketOrder(s, t, lp.acct, -lp.side, lp.lots, false)
		g.m2.forced = false
		price := mark
		if g.m2.fillLots > 0 {
			price = float64(g.m2.fillTicks) / float64(g.m2.fillLots) / s.pricePow
			price = math.Round(price*s.pricePow*100) / (s.pricePow * 100)
		}
		ev := g.event(s, t, detectors.KindLiquidation)
		ev.Liquidation = detectors.Liquidation{Account: g.accts[lp.acct].AccountID, Side: -lp.side, Qty: s.qty(lp.lots), Price: price}
		g.send()
		g.sum.Liquidations++
		g.m2.liqs[s.idx]++
		if lp.onLiq != nil {
			lp.onLiq(t)
		}
	}
}
