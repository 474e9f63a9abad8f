package synth

import (
	"math/rand/v2"

	"github.com/fds-dev/fds/detectors"
)

// bigOrderImpactBP draws the lasting price impact of a big market order, in bp.
func bigOrderImpactBP(r *rand.Rand) float64 { return uniform(r, 3, 10) }

// planFrontRun: a client (the victim) works a big position with several big market orders in
// one direction; before each, the front-runner (who sees the client's orders coming: half the
// time an account linked to the client by a device or a referral, a broker's employee) takes the
// same side with a smaller market order and unwinds it seconds after the client's order has moved
// the price. Labelled front_running, the front-runner's account.
func (g *Generator) planFrontRun(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
	k := g.knobs1()
	ep := &episode{kind: epFrontRun, label: detectors.FrontRunning, sym: sym}
	f, v := g.addAccount(r, ""), g.addAccount(r, "")
	switch r.IntN(4) {
	case 0:
		g.accts[f].DeviceHash = g.accts[v].DeviceHash
	case 1:
		g.referrals = append(g.referrals, [2]int32{v, f})
	}
	ep.accts = []int32{f}
	side := randSide(r)
	n := k.frOrdersMin + r.IntN(k.frOrdersMax-k.frOrdersMin+1)
	t := t0
	for i := 0; i < n; i++ {
		lead := secs(uniform(r, k.frLeadMin, k.frLeadMax))
		unwind := secs(uniform(r, k.frUnwindMin, k.frUnwindMax))
		frMul := uniform(r, k.frSizeMin, k.frSizeMax)
		vMul := uniform(r, k.frVictimMin, k.frVictimMax)
		frac := uniform(r, k.frUnwindFrac, 1)
		impact := bigOrderImpactBP(r)
		var bought int64
		ep.steps = append(ep.steps, step{t: t, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			if bought = g.marketOrder(s, t, f, side, sizeInLots(s, frMul), true); bought > 0 {
				ep.mark(t)
			}
		}})
		ep.steps = append(ep.steps, step{t: t + lead, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			if g.marketOrder(s, t, v, side, sizeInLots(s, vMul), true) > 0 {
				moveFair(s, float64(side)*impact)
			}
		}})
		ep.steps = append(ep.steps, step{t: t + lead + unwind, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			if bought > 0 && g.marketOrder(s, t, f, -side, max(1, int64(float64(bought)*frac)), true) > 0 {
				ep.mark(t)
			}
		}})
		t += lead + unwind + secs(uniform(r, k.frGapMin, k.frGapMax))
	}
	return ep
}

// planBigTaker: an honest big market order that moves the price (epBigTaker); the same with an
// account that buys right after it and sells later (epChaser: it follows the move, it did not
// see it coming); or with a scalper making quick round trips before and after it by chance
// (epScalper).
func (g *Generator) planBigTaker(r *rand.Rand, t0 detectors.Micros, sym int32, kind string) *episode {
	w := g.whaleFree(r, t0, sym)
	if w < 0 {
		return nil
	}
	k := g.knobs1()
	ep := &episode{kind: kind, sym: sym, accts: []int32{w}}
	side := randSide(r)
	vMul := uniform(r, k.frVictimMin, k.frVictimMax)
	impact := bigOrderImpactBP(r)
	at := t0
	if kind == epScalper {
		at = t0 + secs(uniform(r, 30, 150))
	}
	ep.steps = append(ep.steps, step{t: at, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
		if g.marketOrder(s, t, w, side, sizeInLots(s, vMul), true) > 0 {
			moveFair(s, float64(side)*impact)
			ep.mark(t)
		}
	}})
	switch kind {
	case epChaser:
		chaser := g.roles.trend[r.IntN(len(g.roles.trend))]
		mul := uniform(r, 1, 3)
		var bought int64
		ep.steps = append(ep.steps, step{t: at + secs(uniform(r, 0.2, 3)), do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			bought = g.marketOrder(s, t, chaser, side, sizeInLots(s, mul), true)
		}})
		ep.steps = append(ep.steps, step{t: at + secs(uniform(r, 10, 60)), do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			if bought > 0 {
				g.marketOrder(s, t, chaser, -side, bought, true)
			}
		}})
	case epScalper:
		scalper := g.roles.quoters[r.IntN(len(g.roles.quoters))]
		end := t0 + secs(uniform(r, 180, 300))
		for t := t0; t < end; {
			hold := secs(uniform(r, 3, 15))
			mul := uniform(r, 1, 2)
			dir := randSide(r)
			var bought int64
			ep.steps = append(ep.steps, step{t: t, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
				bought = g.marketOrder(s, t, scalper, dir, sizeInLots(s, mul), true)
			}})
			ep.steps = append(ep.steps, step{t: t + hold, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
				if bought > 0 {
					g.marketOrder(s, t, scalper, -dir, bought, true)
				}
			}})
			t += hold + secs(uniform(r, 5, 25))
		}
	}
	sortSteps(ep)
	return ep
}
