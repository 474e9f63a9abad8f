package synth

import (
	"math"
	"math/rand/v2"

	"github.com/fds-dev/fds/detectors"
)

// layerOrders places orders of one side at successive levels behind the touch: the first
// startBP behind, each next stepBP further, sizes in typical sizes. It returns the ids placed.
func (g *Generator) layerOrders(s *symState, t detectors.Micros, acct int32, side detectors.Side, startBP, stepBP float64, sizes []float64) []int64 {
	px, ok := g.touch(s, side)
	if !ok {
		return nil
	}
	var ids []int64
	for j, size := range sizes {
		behind := max(int64(j), int64(math.Round(s.price(px)*(startBP+float64(j)*stepBP)*1e-4*s.pricePow)))
		if o := g.placeLimit(s, t, acct, side, px-int64(side)*behind, sizeInLots(s, size)); o != nil {
			ids = append(ids, o.id)
		}
	}
	return ids
}

// lotsAhead returns the lots a market order of side could take before reaching an order of acct.
func lotsAhead(s *symState, side detectors.Side, acct int32) int64 {
	var n int64
	for _, o := range *s.book.side(-side) {
		if o.acct == acct {
			break
		}
		n += o.leaves
	}
	return n
}

// planLayering: cycles of (optionally a small passive order on the side the layerer really
// wants; layers of normal-sized orders at several levels behind the touch on the other side,
// placed within a second; a market order on the real side while they rest; every layer cancelled
// at once). Labelled layering.
func (g *Generator) planLayering(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
	k := g.knobs1()
	ep := &episode{kind: epLayering, label: detectors.Layering, sym: sym, accts: []int32{g.addAccount(r, "")}}
	acct := ep.accts[0]
	layerSide := randSide(r)
	realSide := -layerSide
	cycles := k.layerCyclesMin + r.IntN(k.layerCyclesMax-k.layerCyclesMin+1)
	t := t0
	pulled := false // some cycle pulled a layer of 3+ orders with at most a quarter of it filled
	for c := 0; c < cycles; c++ {
		var ids []int64            // every order of the cycle, the passive one included
		layer := map[int64]int64{} // the layer orders' quantities in lots
		if r.Float64() < 0.5 {
			mul := uniform(r, 0.5, 1.5)
			ep.steps = append(ep.steps, step{t: t, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
				if px, ok := g.touch(s, realSide); ok {
					if o := g.placeLimit(s, t, acct, realSide, px, sizeInLots(s, mul)); o != nil {
						ids = append(ids, o.id)
						ep.mark(t)
					}
				}
			}})
		}
		placed := t + secs(uniform(r, 0.2, 0.8))
		levels := k.layerLevelsMin + r.IntN(k.layerLevelsMax-k.layerLevelsMin+1)
		startBP, stepBP := uniform(r, 2, 5), uniform(r, 1.5, 3)
		at := placed
		for j := 0; j < levels; j++ {
			size := uniform(r, k.layerSizeMin, k.layerSizeMax)
			level := j
			ep.steps = append(ep.steps, step{t: at, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
				if px, ok := g.touch(s, layerSide); ok {
					behind := max(int64(level+1), int64(math.Round(s.price(px)*(startBP+float64(level)*stepBP)*1e-4*s.pricePow)))
					if o := g.placeLimit(s, t, acct, layerSide, px-int64(layerSide)*behind, sizeInLots(s, size)); o != nil {
						ids = append(ids, o.id)
						layer[o.id] = o.qty
						ep.mark(t)
					}
				}
			}})
			at += secs(uniform(r, 0.03, 0.25))
		}
		life := uniform(r, k.layerLifeMin, k.layerLifeMax)
		oppMul := uniform(r, k.layerOppMin, k.layerOppMax)
		ep.steps = append(ep.steps, step{t: at + secs(uniform(r, 0.2, life-0.3)), do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			// Never as far as its own layers: a layerer does not trade with itself.
			if g.marketOrder(s, t, acct, realSide, min(sizeInLots(s, oppMul), lotsAhead(s, realSide, acct)), true) > 0 {
				ep.mark(t)
			}
		}})
		ep.steps = append(ep.steps, step{t: at + secs(life), do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			// The market may have filled layers in the meantime: what is pulled together must
			// still be a layer (3+ orders, at most a quarter filled), or the cycle was liquidity,
			// not layering; an episode without a real layer is not labelled.
			var resting int
			var total, left int64
			for id, lots := range layer {
				if o := s.book.byID[id]; o != nil {
					resting++
					total += lots
					left += o.leaves
				}
			}
			if resting >= 3 && 4*(total-left) <= total {
				pulled = true
			}
			ep.void = !pulled
			for _, id := range ids {
				if s.book.byID[id] != nil {
					g.cancel(s, t, id)
					ep.mark(t)
				}
			}
		}})
		t = at + secs(life) + secs(uniform(r, 10, 40))
	}
	sortSteps(ep)
	return ep
}

// planLadder: honest ladders of 3-5 levels. epLadder rests for minutes, is partly filled by
// takers and the rest is cancelled at once; epSidePull is a hedger's ladder pulled within seconds
// while the hedger also sells (or buys) on the same side with a market order; epTwoSidedLadder
// is a small market maker's ladders on both sides, one side hit, both pulled within seconds.
func (g *Generator) planLadder(r *rand.Rand, t0 detectors.Micros, sym int32, kind string) *episode {
	w := g.whaleFree(r, t0, sym)
	if w < 0 {
		return nil
	}
	ep := &episode{kind: kind, sym: sym, accts: []int32{w}}
	side := randSide(r)
	levels := 3 + r.IntN(3)
	startBP, stepBP := uniform(r, 1, 4), uniform(r, 1.5, 4)
	var sizes, other []float64
	for j := 0; j < levels; j++ {
		sizes = append(sizes, uniform(r, 1, 3))
		other = append(other, uniform(r, 1, 3))
	}
	ep.steps = append(ep.steps, step{t: t0, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
		ep.orders = append(ep.orders, g.layerOrders(s, t, w, side, startBP, stepBP, sizes)...)
		if kind == epTwoSidedLadder {
			ep.orders = append(ep.orders, g.layerOrders(s, t, w, -side, startBP, stepBP, other)...)
		}
		ep.mark(t)
	}})
	var life float64
	switch kind {
	case epLadder:
		life = uniform(r, 60, 300)
		for i, fills := 0, 2+r.IntN(4); i < fills; i++ {
			mul := uniform(r, 1, 3)
			ep.steps = append(ep.steps, step{t: t0 + secs(uniform(r, 1, life-1)), do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
				taker := g.roles.retail[g.rng.IntN(len(g.roles.retail))]
				g.marketOrder(s, t, taker, -side, sizeInLots(s, mul), true)
			}})
		}
	case epSidePull:
		life = uniform(r, 2, 10)
		mul := uniform(r, 1, 3)
		// The hedger takes liquidity on the ladder's own side (its ladder is a buy ladder and it
		// also buys at market), then pulls what is left.
		ep.steps = append(ep.steps, step{t: t0 + secs(uniform(r, 0.3, life-0.2)), do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			g.marketOrder(s, t, w, side, sizeInLots(s, mul), true)
		}})
	case epTwoSidedLadder:
		life = uniform(r, 2, 10)
		mul := uniform(r, 1, 3)
		hit := randSide(r)
		ep.steps = append(ep.steps, step{t: t0 + secs(uniform(r, 0.3, life-0.2)), do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			taker := g.roles.retail[g.rng.IntN(len(g.roles.retail))]
			g.marketOrder(s, t, taker, hit, sizeInLots(s, mul), true)
		}})
		// The quoter also trades against the side that was hit, to lay off the fill.
		ep.steps = append(ep.steps, step{t: t0 + secs(life-0.1), do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			g.marketOrder(s, t, w, hit, sizeInLots(s, 0.5), true)
		}})
	}
	ep.steps = append(ep.steps, step{t: t0 + secs(life), do: g.cancelAll})
	sortSteps(ep)
	return ep
}
