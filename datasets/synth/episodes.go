package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// Episode kinds. The first two are labelled abuse; the others are benign look-alikes.
const (
	epWash           = "wash_trade"
	epSpoof          = "spoofing"
	epAccidentalSelf = "accidental_self_match" // a market maker's hedge hitting its own quote
	epRelatedPair    = "related_pair"          // two owners sharing an IP trading with each other
	epWhaleFilled    = "whale_filled"          // big honest resting order that gets filled
	epWhaleCancel    = "whale_cancel"          // big order cancelled soon, no trading
	epBigQuoter      = "big_quoter"            // big two-sided quotes, cancelled soon, one side hit
	epSameSide       = "same_side"             // big order cancelled soon while trading the same side
	epFarOrder       = "far_order"             // big order far behind the touch, opposite trading
)

type step struct {
	t  detectors.Micros
	do func(g *Generator, ep *episode, s *symState, t detectors.Micros)
}

type episode struct {
	kind    string
	label   detectors.IncidentType // empty for look-alikes
	sym     int32
	accts   []int32
	steps   []step
	first   detectors.Micros
	last    detectors.Micros
	happen  bool
	orders  []int64 // resting orders the episode may cancel later
	retries int
	// void says the labelled pattern did not happen after all (the market filled every spoof
	// order before its cancel): the episode is not labelled.
	void bool
	// crossed counts the trades crossOwn made (a wash episode whose spread stayed one tick wide
	// for all but one of its trades is no burst: not labelled).
	crossed int
}

// mark records that the episode did something at t.
func (ep *episode) mark(t detectors.Micros) {
	if !ep.happen {
		ep.first, ep.happen = t, true
	}
	ep.last = max(ep.last, t)
}

// ---------------------------------------------------------------------------------------------
// Accounts

func (g *Generator) addAccount(r *rand.Rand, group string) int32 {
	i := int32(len(g.accts))
	created := g.start - detectors.Micros(1+r.IntN(900))*detectors.Day - detectors.Micros(r.IntN(86400))*detectors.Second
	if group == "" {
		group = g.newGroup(r)
	}
	g.accts = append(g.accts, detectors.Account{
		CreatedAt: created, OwnerGroup: group,
		IPHash: fmt.Sprintf("%016x", r.Uint64()), DeviceHash: fmt.Sprintf("%016x", r.Uint64()),
	})
	g.roles.isMM = append(g.roles.isMM, false)
	return i
}

func (g *Generator) newGroup(r *rand.Rand) string { return fmt.Sprintf("og-%012x", r.Uint64()>>16) }

func (g *Generator) pool(r *rand.Rand, n int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = g.addAccount(r, "")
	}
	return out
}

// makeAccounts creates the background population. Account ids are assigned at the end of
// planning from a random permutation, so an id says nothing about its role.
func (g *Generator) makeAccounts(r *rand.Rand) {
	g.roles.mm = g.pool(r, mmPerSymbol+1)
	for _, m := range g.roles.mm {
		g.roles.isMM[m] = true
	}
	g.roles.retail = g.pool(r, g.p.retail)
	// Benign families: some retail accounts share an owner group (they never trade with each
	// other: retail only takes).
	for i := 0; i+1 < len(g.roles.retail)/5; i += 2 {
		g.accts[g.roles.retail[i+1]].OwnerGroup = g.accts[g.roles.retail[i]].OwnerGroup
	}
	g.roles.trend = g.pool(r, g.p.trend)
	g.roles.whales = g.pool(r, g.p.whales)
	g.roles.quoters = g.pool(r, 5)
	for i := 0; i < 8; i++ {
		a, b := g.addAccount(r, ""), g.addAccount(r, "")
		g.accts[b].IPHash = g.accts[a].IPHash // same office, different owners
		g.roles.related = append(g.roles.related, [2]int32{a, b})
	}
}

// assignIDs gives every account a distinct random id "u" + 7 digits.
func (g *Generator) assignIDs(r *rand.Rand) {
	used := map[int]bool{}
	for i := range g.accts {
		for {
			n := 1_000_000 + r.IntN(9_000_000)
			if !used[n] {
				used[n] = true
				g.accts[i].AccountID = fmt.Sprintf("u%d", n)
				break
			}
		}
	}
	for i := range g.accts {
		if g.accts[i].OwnerGroup == "" {
			g.accts[i].OwnerGroup = g.accts[i].AccountID
		}
	}
	for _, rf := range g.referrals {
		g.accts[rf[1]].Referrer = g.accts[rf[0]].AccountID
	}
}

// ---------------------------------------------------------------------------------------------
// Planning

// episodePlanner plans n episodes of one kind, each from its start time and symbol.
type episodePlanner struct {
	n    int
	plan func(r *rand.Rand, t0 detectors.Micros, sym int32) *episode
}

// planEpisodes draws every episode's symbol, accounts and step times, with its own random
// stream so that the plan does not depend on the flow.
func (g *Generator) planEpisodes(r *rand.Rand) {
	hours := float64(g.end-g.start) / float64(detectors.Hour)
	count := func(perHour float64) int {
		x := perHour * hours
		n := int(x)
		if r.Float64() < x-float64(n) {
			n++
		}
		return n
	}
	p := g.p
	planners := []episodePlanner{
		{count(p.washPerHour), g.planWash},
		{count(p.spoofPerHour), g.planSpoof},
		{count(p.accidentalSelfPerHour), g.planAccidentalSelf},
		{count(p.relatedPairPerHour), g.planRelatedPair},
		{count(p.whaleFilledPerHour), g.planWhaleFilled},
		{count(p.whaleCancelPerHour), func(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
			return g.planWhaleQuick(r, t0, sym, epWhaleCancel)
		}},
		{count(p.bigQuoterPerHour), g.planBigQuoter},
		{count(p.sameSidePerHour), func(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
			return g.planWhaleQuick(r, t0, sym, epSameSide)
		}},
		{count(p.farSpoofPerHour), func(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
			return g.planWhaleQuick(r, t0, sym, epFarOrder)
		}},
	}
	// Episodes of the detector catalogue live in their own files (episodes_*.go).
	// Symbols weighted by the square root of activity, so the thin alt gets its share of abuse.
	var weights []float64
	total := 0.0
	for _, s := range g.syms {
		w := math.Sqrt(s.spec.Activity)
		weights = append(weights, w)
		total += w
	}
	pickSym := func() int32 {
		x := r.Float64() * total
		for i, w := range weights {
			if x < w {
				return int32(i)
			}
			x -= w
		}
		return int32(len(weights) - 1)
	}
	margin := detectors.Micros(episodeMarginSeconds) * detectors.Second
	for _, pl := range planners {
		for i := 0; i < pl.n; i++ {
			sym := pickSym()
			t0 := g.start + margin + detectors.Micros(r.Float64()*float64(g.end-g.start-2*margin))
			ep := pl.plan(r, t0, sym)
			if ep == nil || len(ep.steps) == 0 || ep.steps[len(ep.steps)-1].t > g.end-5*detectors.Second {
				continue // does not fit before the end
			}
			g.eps = append(g.eps, ep)
		}
	}
	// The catalogue's part 1 plans last, from a stream of its own: the episodes above and
	// every account id are as they would be without it (episodes_part1.go).
	g.planCataloguePart1(hours)
	// Pumps and their look-alikes, likewise from a stream of their own (episodes_pump.go).
	g.planPumps(hours)
	// The catalogue's part 2 likewise, last: it keeps clear of the pumps' price swings
	// (episodes_part2.go).
	g.planCataloguePart2(hours)
}

func secs(x float64) detectors.Micros { return detectors.Micros(x * float64(detectors.Second)) }

func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

func randSide(r *rand.Rand) detectors.Side {
	if r.IntN(2) == 0 {
		return detectors.Buy
	}
	return detectors.Sell
}

// whaleFree picks a whale with no episode in the symbol within 30 minutes of t0, so that two
// look-alikes of one account never combine into something else.
func (g *Generator) whaleFree(r *rand.Rand, t0 detectors.Micros, sym int32) int32 {
	for try := 0; try < 20; try++ {
		w := g.roles.whales[r.IntN(len(g.roles.whales))]
		ok := true
		for _, ep := range g.eps {
			if ep.sym == sym && len(ep.accts) > 0 && ep.accts[0] == w && len(ep.steps) > 0 &&
				ep.steps[0].t < t0+30*detectors.Minute && ep.steps[len(ep.steps)-1].t > t0-30*detectors.Minute {
				ok = false
				break
			}
		}
		if ok {
			return w
		}
	}
	return -1
}

// planWash: one account (or two of one owner group) trading with itself n times.
func (g *Generator) planWash(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
	ep := &episode{kind: epWash, label: detectors.WashTrade, sym: sym}
	a := g.addAccount(r, "")
	ep.accts = []int32{a}
	if r.IntN(2) == 0 {
		b := g.addAccount(r, g.accts[a].OwnerGroup)
		ep.accts = append(ep.accts, b)
	} else if r.IntN(2) == 0 {
		g.addAccount(r, g.accts[a].OwnerGroup) // a sibling account that stays idle
	}
	n := g.p.washTradesMin + r.IntN(g.p.washTradesMax-g.p.washTradesMin+1)
	mu := math.Log(g.p.washSize)
	g.planSelfTrades(r, ep, t0, n, g.p.washGapMin, g.p.washGapMax, mu, 0.5)
	// In the hard preset the owner also trades genuinely in between, diluting its self-trade share.
	last := ep.steps[len(ep.steps)-1].t
	for i := 0; i < n*g.p.washOtherTrades; i++ {
		if r.IntN(2) == 0 {
			continue
		}
		acct := ep.accts[r.IntN(len(ep.accts))]
		side := randSide(r)
		ep.steps = append(ep.steps, step{t: t0 + detectors.Micros(r.Float64()*float64(last-t0)), do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			g.marketOrder(s, t, acct, side, g.sizeLots(s, mu, 0.5), true)
		}})
	}
	sortSteps(ep)
	return ep
}

// planSelfTrades adds n steps at random gaps, each a trade between the episode's accounts
// (alternating maker and taker when there are two).
func (g *Generator) planSelfTrades(r *rand.Rand, ep *episode, t0 detectors.Micros, n int, gapLo, gapHi, mu, sigma float64) {
	t := t0
	for i := 0; i < n; i++ {
		maker, taker := ep.accts[0], ep.accts[0]
		if len(ep.accts) == 2 {
			maker, taker = ep.accts[i%2], ep.accts[1-i%2]
		}
		side := randSide(r)
		ep.steps = append(ep.steps, step{t: t, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			g.crossOwn(ep, s, t, maker, taker, side, g.sizeLots(s, mu, sigma))
		}})
		t += secs(uniform(r, gapLo, gapHi))
	}
}

// crossOwn rests the maker's order strictly inside the spread and lifts it with the taker's
// market order of the same size: one trade between the two, nobody else's order touched. When
// the spread is one tick it retries 200 ms later.
func (g *Generator) crossOwn(ep *episode, s *symState, t detectors.Micros, maker, taker int32, makerSide detectors.Side, lots int64) {
	price, ok := g.insidePrice(s)
	if !ok {
		if ep.retries < 50 {
			ep.retries++
			ep.steps = append(ep.steps, step{t: t + 200*detectors.Millisecond, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
				g.crossOwn(ep, s, t, maker, taker, makerSide, lots)
			}})
			g.push(t+200*detectors.Millisecond, actStep, ep.sym, g.epIndex(ep), int32(len(ep.steps)-1))
		}
		return
	}
	if o := g.placeLimit(s, t, maker, makerSide, price, lots); o != nil {
		g.marketOrder(s, t, taker, -makerSide, lots, false)
		ep.mark(t)
		ep.crossed++
	}
}

func (g *Generator) epIndex(ep *episode) int32 {
	for i, e := range g.eps {
		if e == ep {
			return int32(i)
		}
	}
	panic("synth: episode not planned")
}

// planAccidentalSelf: a market maker's own hedge hitting its own quote, once (or, in the hard
// preset, sometimes twice within a minute).
func (g *Generator) planAccidentalSelf(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
	s := g.syms[sym]
	ep := &episode{kind: epAccidentalSelf, sym: sym, accts: []int32{s.mms[r.IntN(mmPerSymbol)]}}
	n := 1
	if g.p.accidentalPairs && r.IntN(3) == 0 {
		n = 2
	}
	g.planSelfTrades(r, ep, t0, n, 10, 60, 0, 0.4)
	return ep
}

// planRelatedPair: two accounts of different owners (same IP) trading with each other a few
// times, one of them buying what the other sells (a position moved, not round-tripped).
func (g *Generator) planRelatedPair(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
	pair := g.roles.related[r.IntN(len(g.roles.related))]
	ep := &episode{kind: epRelatedPair, sym: sym, accts: []int32{pair[0], pair[1]}}
	g.planOneWayTrades(r, ep, t0, 4+r.IntN(7), g.p.washGapMin, g.p.washGapMax)
	return ep
}

// planSpoof: cycles of (optional passive order on the real side, a big order on the other side
// behind the touch, a market order on the real side while it rests, the cancel).
func (g *Generator) planSpoof(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
	p := g.p
	ep := &episode{kind: epSpoof, label: detectors.Spoofing, sym: sym, accts: []int32{g.addAccount(r, "")}}
	spoofer := ep.accts[0]
	spoofSide := randSide(r)
	realSide := -spoofSide
	cycles := p.spoofCyclesMin + r.IntN(p.spoofCyclesMax-p.spoofCyclesMin+1)
	t := t0
	spoofed := false // a spoof order was cancelled (not filled by the market first)
	for c := 0; c < cycles; c++ {
		passive := r.Float64() < 0.6
		if passive {
			ep.steps = append(ep.steps, step{t: t, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
				if px, ok := g.touch(s, realSide); ok {
					if o := g.placeLimit(s, t, spoofer, realSide, px, g.uniformLots(s, 0.5, 1.5)); o != nil {
						ep.orders = append(ep.orders, o.id)
						ep.mark(t)
					}
				}
			}})
		}
		placed := t + secs(uniform(r, 0.2, 0.8))
		life := uniform(r, p.spoofLifeMin, p.spoofLifeMax)
		distBP := uniform(r, 2, 12)
		sizeLo, sizeHi := p.spoofSizeMin, p.spoofSizeMax
		var spoofID int64
		ep.steps = append(ep.steps, step{t: placed, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			px, ok := g.touch(s, spoofSide)
			if !ok {
				return
			}
			behind := max(1, int64(math.Round(s.price(px)*distBP*1e-4*s.pricePow)))
			if o := g.placeLimit(s, t, spoofer, spoofSide, px-int64(spoofSide)*behind, g.uniformLots(s, sizeLo, sizeHi)); o != nil {
				spoofID = o.id
				ep.mark(t)
			}
		}})
		oppLo, oppHi := p.spoofOppMin, p.spoofOppMax
		ep.steps = append(ep.steps, step{t: placed + secs(uniform(r, 0.2, life-0.2)), do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			if spoofID == 0 {
				return
			}
			// A spoofer wants no fill: if the market came to its order, it pulls it before
			// trading the other side (and so never trades with itself).
			if o := s.book.byID[spoofID]; o != nil {
				if best, _ := s.book.best(spoofSide); best == o.price {
					g.cancel(s, t, spoofID)
					// Pulled by the spoofer, not filled by the market: still a spoof, unless the
					// market had taken more than a quarter of it.
					if 4*o.leaves >= 3*o.qty {
						ep.mark(t)
						spoofed = true
					}
				}
			}
			if g.marketOrder(s, t, spoofer, realSide, min(g.uniformLots(s, oppLo, oppHi), lotsAhead(s, realSide, spoofer)), true) > 0 {
				ep.mark(t)
			}
		}})
		ep.steps = append(ep.steps, step{t: placed + secs(life), do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			if spoofID != 0 && s.book.byID[spoofID] != nil {
				g.cancel(s, t, spoofID)
				ep.mark(t)
				spoofed = true
			}
			ep.void = !spoofed
			for _, id := range ep.orders {
				g.cancel(s, t, id)
			}
			ep.orders = ep.orders[:0]
		}})
		t = placed + secs(life) + secs(uniform(r, 10, 40))
	}
	return ep
}

// planWhaleFilled: a big honest order improving the touch, filled by sellers (or buyers) over
// minutes, the rest cancelled long after.
func (g *Generator) planWhaleFilled(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
	w := g.whaleFree(r, t0, sym)
	if w < 0 {
		return nil
	}
	ep := &episode{kind: epWhaleFilled, sym: sym, accts: []int32{w}}
	side := randSide(r)
	size := uniform(r, 6, 20)
	ep.steps = append(ep.steps, step{t: t0, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
		g.placeBig(ep, s, t, w, side, 0, size, true)
	}})
	life := uniform(r, g.p.whaleLifeMin, g.p.whaleLifeMax)
	fills := 3 + r.IntN(6)
	for i := 0; i < fills; i++ {
		at := t0 + secs(uniform(r, 1, life-1))
		ep.steps = append(ep.steps, step{t: at, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			if len(ep.orders) > 0 && s.book.byID[ep.orders[0]] != nil {
				taker := g.roles.retail[g.rng.IntN(len(g.roles.retail))]
				g.marketOrder(s, t, taker, -side, g.uniformLots(s, 1, 4), true)
			}
		}})
	}
	ep.steps = append(ep.steps, step{t: t0 + secs(life), do: g.cancelAll})
	sortSteps(ep)
	return ep
}

// planWhaleQuick: a big order cancelled within seconds. epWhaleCancel: no trading; epSameSide:
// the account also trades the same side; epFarOrder: the order rests 60-150 bp behind the touch
// while the account trades the other side.
func (g *Generator) planWhaleQuick(r *rand.Rand, t0 detectors.Micros, sym int32, kind string) *episode {
	w := g.whaleFree(r, t0, sym)
	if w < 0 {
		return nil
	}
	ep := &episode{kind: kind, sym: sym, accts: []int32{w}}
	side := randSide(r)
	size := uniform(r, 6, 20)
	behindBP := uniform(r, 0, 5)
	if kind == epFarOrder {
		behindBP = uniform(r, 60, 150)
	}
	life := uniform(r, 1, 8)
	ep.steps = append(ep.steps, step{t: t0, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
		g.placeBig(ep, s, t, w, side, behindBP, size, false)
	}})
	if kind != epWhaleCancel {
		tradeSide := side
		if kind == epFarOrder {
			tradeSide = -side
		}
		ep.steps = append(ep.steps, step{t: t0 + secs(uniform(r, 0.2, life-0.1)), do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			if len(ep.orders) > 0 {
				g.marketOrder(s, t, w, tradeSide, g.uniformLots(s, 1, 3), true)
			}
		}})
	}
	ep.steps = append(ep.steps, step{t: t0 + secs(life), do: g.cancelAll})
	return ep
}

// planBigQuoter: big quotes on both sides improving the touch, one side hit by a taker, both
// cancelled within seconds.
func (g *Generator) planBigQuoter(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
	q := g.roles.quoters[r.IntN(len(g.roles.quoters))]
	ep := &episode{kind: epBigQuoter, sym: sym, accts: []int32{q}}
	bidSize, askSize := uniform(r, 6, 12), uniform(r, 6, 12)
	ep.steps = append(ep.steps, step{t: t0, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
		g.placeBig(ep, s, t, q, detectors.Buy, 0, bidSize, true)
		g.placeBig(ep, s, t, q, detectors.Sell, 0, askSize, true)
	}})
	hit := randSide(r)
	life := uniform(r, 2, 8)
	ep.steps = append(ep.steps, step{t: t0 + secs(uniform(r, 0.3, life-0.2)), do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
		taker := g.roles.retail[g.rng.IntN(len(g.roles.retail))]
		g.marketOrder(s, t, taker, hit, g.uniformLots(s, 1, 3), true)
	}})
	ep.steps = append(ep.steps, step{t: t0 + secs(life), do: g.cancelAll})
	return ep
}

// placeBig rests size typical lots of side behindBP behind the touch, or one tick inside the
// spread when improve is set and the spread allows.
func (g *Generator) placeBig(ep *episode, s *symState, t detectors.Micros, acct int32, side detectors.Side, behindBP, size float64, improve bool) {
	px, ok := g.touch(s, side)
	if !ok {
		return
	}
	if improve {
		if _, ok := g.insidePrice(s); ok {
			px += int64(side) // one tick better than the touch, still inside the spread
		}
	} else {
		px -= int64(side) * int64(math.Round(s.price(px)*behindBP*1e-4*s.pricePow))
	}
	if o := g.placeLimit(s, t, acct, side, px, max(1, int64(math.Round(size*s.typicalLots)))); o != nil {
		ep.orders = append(ep.orders, o.id)
		ep.mark(t)
	}
}

func (g *Generator) cancelAll(_ *Generator, ep *episode, s *symState, t detectors.Micros) {
	for _, id := range ep.orders {
		g.cancel(s, t, id)
	}
	ep.orders = ep.orders[:0]
	ep.mark(t)
}

func sortSteps(ep *episode) {
	sort.SliceStable(ep.steps, func(i, j int) bool { return ep.steps[i].t < ep.steps[j].t })
}

// finishLabels turns the labelled episodes that happened into incidents.
func (g *Generator) finishLabels() {
	type rec struct {
		ep  *episode
		inc datasets.Incident
	}
	var recs []rec
	for _, ep := range g.eps {
		if !ep.happen || ep.void || (ep.kind == epWash && ep.crossed < 2) {
			continue
		}
		if ep.label == "" {
			g.sum.LookAlikes[ep.kind]++
			continue
		}
		var accts []string
		for _, a := range ep.accts {
			accts = append(accts, g.accts[a].AccountID)
		}
		recs = append(recs, rec{ep, datasets.Incident{
			Type: ep.label, Symbol: g.syms[ep.sym].spec.Name, Accounts: detectors.SortAccounts(accts),
			Start: ep.first, End: ep.last, Source: "synth",
		}})
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].inc.Start < recs[j].inc.Start })
	n := map[detectors.IncidentType]int{}
	g.labels = nil
	for _, r := range recs {
		n[r.inc.Type]++
		r.inc.ID = fmt.Sprintf("synth-%s-%04d", r.inc.Type, n[r.inc.Type])
		g.labels = append(g.labels, r.inc)
	}
	for t, c := range n {
		g.sum.Incidents[t] = c
	}
}
