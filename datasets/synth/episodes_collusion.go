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
		ep.steps = append(ep.steps, step{t: t, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			g.matchedTrade(ep, s, t, maker, taker, makerSide, bSide, transfer, sizeInLots(s, mul), takerMul, delay, 0)
		}})
		t += delay + secs(uniform(r, k.collGapMin, k.collGapMax))
	}
	genuineTrades(r, ep, ep.accts, n*k.collOther, t0, t, math.Log(k.collSize))
	sortSteps(ep)
	return ep
}

// matchedTrade rests the maker's order inside the spread (at the edge that favours b when the
// episode moves money) and schedules the partner's order of the same size (times takerMul) delay
// later. When the spread is one tick (a thin book is often locked) it retries 200 ms later, for
// up to 20 s. tries counts the retries: units for a locked book, thousands for a sniped order.
func (g *Generator) matchedTrade(ep *episode, s *symState, t detectors.Micros, maker, taker int32, makerSide, bSide detectors.Side,
	transfer bool, lots int64, takerMul float64, delay detectors.Micros, tries int) {
	bid, okB := s.book.best(detectors.Buy)
	ask, okA := s.book.best(detectors.Sell)
	if !okB || !okA || ask-bid < 2 {
		if tries%1000 < 100 {
			g.stepLater(ep, t+200*detectors.Millisecond, func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
				g.matchedTrade(ep, s, t, maker, taker, makerSide, bSide, transfer, lots, takerMul, delay, tries+1)
			})
		}
		return
	}
	price := bid + 1 + g.rng.Int64N(ask-bid-1)
	if transfer {
		// b buys at the bottom of the spread and sells at its top.
		price = bid + 1
		if bSide == detectors.Sell {
			price = ask - 1
		}
	}
	o := g.placeLimit(s, t, maker, makerSide, price, lots)
	if o == nil {
		return
	}
	ep.mark(t)
	id, qty, px := o.id, o.qty, o.price
	g.stepLater(ep, t+delay, func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
		// The partner takes the order with a limit order at its price, immediate or cancel: if
		// someone else took it first, little or nothing trades, and the pair tries again a
		// second or two later (a few times).
		if g.limitIOC(s, t, taker, -makerSide, px, max(1, int64(math.Round(float64(qty)*takerMul)))) > 0 {
			ep.mark(t)
		} else if tries < 1000 {
			g.stepLater(ep, t+secs(1+g.rng.Float64()), func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
				g.matchedTrade(ep, s, t, maker, taker, makerSide, bSide, transfer, lots, takerMul, delay, tries+1000)
			})
		}
		g.cancel(s, t, id) // what was not taken
	})
}

// stepLater adds a step to a running episode and schedules it at t.
func (g *Generator) stepLater(ep *episode, t detectors.Micros, do func(g *Generator, ep *episode, s *symState, t detectors.Micros)) {
	ep.steps = append(ep.steps, step{t: t, do: do})
	g.push(t, actStep, ep.sym, g.epIndex(ep), int32(len(ep.steps)-1))
}

// limitIOC sends a limit order of lots at priceTicks, immediate or cancel: it trades against the
// opposite side at that price or better, best first, and the rest expires. It returns the lots
// filled.
func (g *Generator) limitIOC(s *symState, t detectors.Micros, acct int32, side detectors.Side, priceTicks, lots int64) int64 {
	if lots <= 0 || priceTicks <= 0 {
		return 0
	}
	id := g.nextOrderID
	g.nextOrderID++
	g.orderEvent(s, t, acct, id, detectors.OrderNew, side, detectors.Limit, priceTicks, lots, lots, false)
	leaves := lots
	opp := s.book.side(-side)
	for leaves > 0 && len(*opp) > 0 && !ahead(side, (*opp)[0].price, priceTicks) {
		m := (*opp)[0]
		q := min(leaves, m.leaves)
		m.leaves -= q
		leaves -= q
		g.orderEvent(s, t, m.acct, m.id, detectors.OrderFill, m.side, detectors.Limit, m.price, q, m.leaves, true)
		g.orderEvent(s, t, acct, id, detectors.OrderFill, side, detectors.Limit, m.price, q, leaves, false)
		ev := g.event(s, t, detectors.KindTrade)
		ev.Trade = detectors.Trade{
			TradeID: g.nextTradeID, Price: s.price(m.price), Qty: s.qty(q), TakerSide: side,
			MakerAccount: g.accts[m.acct].AccountID, TakerAccount: g.accts[acct].AccountID,
			MakerOrderID: m.id, TakerOrderID: id,
		}
		g.nextTradeID++
		g.send()
		g.sum.Trades++
		g.move(s, acct, int64(side)*q)
		g.move(s, m.acct, -int64(side)*q)
		if m.leaves == 0 {
			s.book.remove(m)
		}
	}
	if leaves > 0 {
		g.orderEvent(s, t, acct, id, detectors.OrderExpire, side, detectors.Limit, priceTicks, lots, 0, false)
	}
	return lots - leaves
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
