package synth

import (
	"math"
	"math/rand/v2"

	"github.com/fds-dev/fds/detectors"
)

// planLinkedWash: two accounts of different owners linked by a shared IP hash, a shared device
// hash or a referral, making round trips with each other (one buys from the other, then sells the
// same quantity back): both end flat, the volume is fake. Labelled wash_trade.
func (g *Generator) planLinkedWash(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
	k := g.knobs1()
	ep := &episode{kind: epLinkedWash, label: detectors.WashTrade, sym: sym}
	a, b := g.addAccount(r, ""), g.addAccount(r, "")
	switch r.IntN(3) {
	case 0:
		g.accts[b].IPHash = g.accts[a].IPHash
	case 1:
		g.accts[b].DeviceHash = g.accts[a].DeviceHash
	default:
		g.referrals = append(g.referrals, [2]int32{a, b})
	}
	ep.accts = []int32{a, b}
	trips := k.linkedRTMin + r.IntN(k.linkedRTMax-k.linkedRTMin+1)
	p := g.p
	t := t0
	for i := 0; i < trips; i++ {
		mul := k.linkedSize * math.Exp(0.4*r.NormFloat64())
		back := mul * (1 + k.linkedJitter*(2*r.Float64()-1))
		for leg, m := range []float64{mul, back} {
			// Leg 0: a buys from b; leg 1: a sells it back. Who rests the order is random.
			aSide := detectors.Buy
			if leg == 1 {
				aSide = detectors.Sell
			}
			maker, taker, makerSide := a, b, aSide
			if r.IntN(2) == 0 {
				maker, taker, makerSide = b, a, -aSide
			}
			ep.steps = append(ep.steps, step{t: t, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
				g.crossOwn(ep, s, t, maker, taker, makerSide, sizeInLots(s, m))
			}})
			t += secs(uniform(r, p.washGapMin, p.washGapMax))
		}
	}
	genuineTrades(r, ep, ep.accts, trips*p.washOtherTrades, t0, t, math.Log(k.linkedSize))
	sortSteps(ep)
	return ep
}

// planCollusion: two unrelated accounts (different owners, nothing shared) trading with each
// other again and again: one rests an order inside the spread and the other takes it within
// seconds with an order of the same size. Half the episodes also move money: the second account
// always buys at the bottom of the spread and sells at its top, so the first one's loss is its
// gain. Positions alternate, so both stay near flat. Labelled collusion, both accounts.
func (g *Generator) planCollusion(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
	k := g.knobs1()
	ep := &episode{kind: epCollusion, label: detectors.Collusion, sym: sym}
	a, b := g.addAccount(r, ""), g.addAccount(r, "")
	ep.accts = []int32{a, b}
	transfer := r.IntN(2) == 0
	n := k.collTradesMin + r.IntN(k.collTradesMax-k.collTradesMin+1)
	t := t0
	for i := 0; i < n; i++ {
		bSide := detectors.Buy
		if i%2 == 1 {
			bSide = detectors.Sell
		}
		maker, taker, makerSide := a, b, -bSide
		if r.IntN(2) == 0 {
			maker, taker, makerSide = b, a, bSide
		}
		mul := k.collSize * math.Exp(0.4*r.NormFloat64())
		takerMul := 1.0
		if r.Float64() >= k.collExact {
			takerMul = uniform(r, 1.1, 1.5)
		}
		delay := secs(uniform(r, k.collDelayMin, k.collDelayMax))
		var order struct {
			id   int64
			lots int64
		}
		ep.steps = append(ep.steps, step{t: t, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			bid, okB := s.book.best(detectors.Buy)
			ask, okA := s.book.best(detectors.Sell)
			if !okB || !okA || ask-bid < 2 {
				return // no room inside the spread: this one does not happen
			}
			price := bid + 1 + g.rng.Int64N(ask-bid-1)
			if transfer {
				// b buys at the bottom of the spread and sells at its top.
				price = bid + 1
				if bSide == detectors.Sell {
					price = ask - 1
				}
			}
			if o := g.placeLimit(s, t, maker, makerSide, price, sizeInLots(s, mul)); o != nil {
				order.id, order.lots = o.id, o.qty
				ep.mark(t)
			}
		}})
		ep.steps = append(ep.steps, step{t: t + delay, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			if order.id == 0 {
				return
			}
			lots := max(1, int64(math.Round(float64(order.lots)*takerMul)))
			if g.marketOrder(s, t, taker, -makerSide, lots, true) > 0 {
				ep.mark(t)
			}
			g.cancel(s, t, order.id) // what someone else did not take first
		}})
		t += delay + secs(uniform(r, k.collGapMin, k.collGapMax))
	}
	genuineTrades(r, ep, ep.accts, n*k.collOther, t0, t, math.Log(k.collSize))
	sortSteps(ep)
	return ep
}

// planPersistent: an honest whale rests a big order at the touch and one honest taker fills part
// of it again and again over minutes, with sizes of its own: repeated bilateral fills that are
// neither quick nor of matching size.
func (g *Generator) planPersistent(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
	w := g.whaleFree(r, t0, sym)
	if w < 0 {
		return nil
	}
	taker := g.roles.trend[r.IntN(len(g.roles.trend))]
	ep := &episode{kind: epPersistent, sym: sym, accts: []int32{w, taker}}
	side := randSide(r)
	size := uniform(r, 10, 25)
	ep.steps = append(ep.steps, step{t: t0, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
		g.placeBig(ep, s, t, w, side, 0, size, true)
	}})
	life := uniform(r, 60, 300)
	fills := 4 + r.IntN(6)
	for i := 0; i < fills; i++ {
		at := t0 + secs(uniform(r, 3, life-1))
		mul := uniform(r, 0.5, 2)
		ep.steps = append(ep.steps, step{t: at, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			if len(ep.orders) > 0 && s.book.byID[ep.orders[0]] != nil {
				g.marketOrder(s, t, taker, -side, sizeInLots(s, mul), true)
			}
		}})
	}
	ep.steps = append(ep.steps, step{t: t0 + secs(life), do: g.cancelAll})
	sortSteps(ep)
	return ep
}

// planSniper: an arbitrageur who takes fresh inside-spread orders of retail accounts within a
// fraction of a second, for exactly their displayed size: quick, size-matched fills, but each
// with a different counterparty.
func (g *Generator) planSniper(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
	arb := g.roles.quoters[r.IntN(len(g.roles.quoters))]
	ep := &episode{kind: epSniper, sym: sym, accts: []int32{arb}}
	n := 3 + r.IntN(5)
	t := t0
	for i := 0; i < n; i++ {
		maker := g.roles.retail[r.IntN(len(g.roles.retail))]
		side := randSide(r)
		mul := math.Exp(-0.3 + 0.5*r.NormFloat64())
		delay := secs(uniform(r, 0.05, 1))
		var id, lots int64
		ep.steps = append(ep.steps, step{t: t, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			if price, ok := g.insidePrice(s); ok {
				if o := g.placeLimit(s, t, maker, side, price, sizeInLots(s, mul)); o != nil {
					id, lots = o.id, o.qty
				}
			}
		}})
		ep.steps = append(ep.steps, step{t: t + delay, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			if o := s.book.byID[id]; id != 0 && o != nil {
				g.marketOrder(s, t, arb, -side, lots, true)
				ep.mark(t)
			}
			g.cancel(s, t, id)
		}})
		t += delay + secs(uniform(r, 5, 40))
	}
	return ep
}
