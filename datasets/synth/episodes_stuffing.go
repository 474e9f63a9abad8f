package synth

import (
	"math/rand/v2"

	"github.com/fds-dev/fds/detectors"
)

// planStuffing: bursts of fleeting orders. In each burst the stuffer sends hundreds of messages
// in a second or two: limit orders a few bp behind the touch, each cancelled milliseconds after
// it was placed, so the venue's feed fills with quotes nobody can trade. In the hard preset the
// bursts are smaller and slower and the stuffer also trades. Labelled quote_stuffing.
func (g *Generator) planStuffing(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
	k := g.knobs1()
	ep := &episode{kind: epStuffing, label: detectors.QuoteStuffing, sym: sym, accts: []int32{g.addAccount(r, "")}}
	acct := ep.accts[0]
	bursts := k.stuffBurstsMin + r.IntN(k.stuffBurstsMax-k.stuffBurstsMin+1)
	t := t0
	for b := 0; b < bursts; b++ {
		orders := (k.stuffMsgsMin + r.IntN(k.stuffMsgsMax-k.stuffMsgsMin+1)) / 2
		dur := secs(uniform(r, k.stuffSecMin, k.stuffSecMax))
		side := randSide(r)
		for i := 0; i < orders; i++ {
			at := t + dur*detectors.Micros(i)/detectors.Micros(orders)
			life := detectors.Micros(uniform(r, k.stuffLifeMin, k.stuffLifeMax) * float64(detectors.Millisecond))
			behindBP := uniform(r, 3, 20)
			if r.IntN(4) == 0 {
				side = -side
			}
			orderSide := side
			var id int64
			ep.steps = append(ep.steps, step{t: at, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
				px, ok := g.touch(s, orderSide)
				if !ok {
					return
				}
				behind := max(1, int64(s.price(px)*behindBP*1e-4*s.pricePow))
				if o := g.placeLimit(s, t, acct, orderSide, px-int64(orderSide)*behind, g.sizeLots(s, 0, 0.3)); o != nil {
					id = o.id
					ep.mark(t)
				}
			}})
			ep.steps = append(ep.steps, step{t: at + max(life, 1), do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
				if id != 0 && s.book.byID[id] != nil {
					g.cancel(s, t, id)
					ep.mark(t)
				}
			}})
		}
		for i := 0; i < k.stuffTrades; i++ {
			tradeSide := randSide(r)
			ep.steps = append(ep.steps, step{t: t + detectors.Micros(r.Float64()*float64(dur)), do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
				g.marketOrder(s, t, acct, tradeSide, g.sizeLots(s, -0.3, 0.5), true)
			}})
		}
		t += dur + secs(uniform(r, 5, 30))
	}
	sortSteps(ep)
	return ep
}

// planReprice: a market maker re-quotes every one of its slots in the symbol several times
// within a second or two (a burst of volatility): a message burst from an account whose normal
// rate is already high, with orders that live until the next sweep.
func (g *Generator) planReprice(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
	k := g.knobs1()
	m := r.IntN(mmPerSymbol)
	ep := &episode{kind: epReprice, sym: sym, accts: []int32{g.syms[sym].mms[m]}}
	sweeps := k.repriceSweepsMin + r.IntN(k.repriceSweeps-k.repriceSweepsMin+1)
	t := t0
	for i := 0; i < sweeps; i++ {
		ep.steps = append(ep.steps, step{t: t, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			for side := 0; side < 2; side++ {
				for level := 0; level < mmLevels; level++ {
					g.requoteSlot(s, t, m, side, level)
				}
			}
			ep.mark(t)
		}})
		t += secs(uniform(r, 0.15, 0.6))
	}
	return ep
}

// planBusyTaker: an execution algorithm working a parent order with a quick series of small
// market orders: many messages, every one of them traded.
func (g *Generator) planBusyTaker(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
	acct := g.roles.trend[r.IntN(len(g.roles.trend))]
	ep := &episode{kind: epBusyTaker, sym: sym, accts: []int32{acct}}
	side := randSide(r)
	n := 20 + r.IntN(41)
	dur := uniform(r, 1, 4)
	for i := 0; i < n; i++ {
		ep.steps = append(ep.steps, step{t: t0 + secs(dur*float64(i)/float64(n)), do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			if g.marketOrder(s, t, acct, side, g.sizeLots(s, -1, 0.3), true) > 0 {
				ep.mark(t)
			}
		}})
	}
	return ep
}
