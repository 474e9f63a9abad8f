package synth

import (
	"math"
	"math/rand/v2"

	"github.com/fds-dev/fds/detectors"
)

// Episode kinds of the second part of the detector catalogue. The labelled ones carry an
// incident type; the others are benign look-alikes (docs/generator.md says what each teaches).
const (
	ep2Ignition      = "momentum_ignition"
	ep2Hunt          = "liquidation_hunt"
	ep2Funding       = "funding_manipulation"
	ep2AlgoBurst     = "algo_burst"         // an execution algo's burst of market orders, never reversed
	ep2Hedger        = "inventory_hedger"   // a burst that flattens a position, then trading on as before
	ep2HonestCascade = "honest_cascade"     // a whale closing a big long triggers liquidations; a lucky short covers
	ep2FundFlat      = "prefunding_flat"    // a flat trader's round trip around a settlement
	ep2FundWrongSide = "prefunding_against" // a push before settlement that costs the account's own position
	ep2FundCloser    = "prefunding_closer"  // a position closed in the minutes before a settlement
	ep2FundHedger    = "prefunding_reducer" // a position reduced before a settlement and left so
)

// part2Preset holds what a preset decides for these mechanics and episodes.
type part2Preset struct {
	// fundingInterval: settlements every this much UTC time, aligned to the epoch. The default
	// market lasts about 2 hours, so the preset compresses the venue's clock: 10 minutes.
	fundingInterval detectors.Micros
	// impactDecay is the time constant (s) of the perpetual's temporary price impact.
	impactDecay float64
	// Leveraged traders: pool size, opens per second at activity 1, mean holding time (s),
	// leverage range (log-uniform).
	levPool                    int
	levOpensPerSecond          float64
	levHoldSeconds             float64
	levMin, levMax             float64
	ignition, hunt, funding    float64 // labelled episodes per hour of market, all symbols
	algoBurst, hedger          float64 // look-alikes per hour
	honestCascade              float64
	fundFlat, fundWrongSide    float64
	fundCloser, fundHedger     float64
	igOrdersMin, igOrdersMax   int     // momentum ignition: market orders in the burst
	igSizeMin, igSizeMax       float64 // size of each, typical sizes
	igGapMin, igGapMax         float64 // seconds between them
	igDelayMin, igDelayMax     float64 // seconds from the burst to the reversal
	igRevMin, igRevMax         float64 // reversed fraction of the burst
	igPassive                  float64 // share of reversal orders resting passively
	huntVictimsMin             int     // liquidation hunt: leveraged positions in the cluster
	huntVictimsMax             int
	huntVictimSizeMin          float64 // their size, typical sizes
	huntVictimSizeMax          float64
	huntChunkMin, huntChunkMax float64 // the hunter's market orders, typical sizes
	huntGapMin, huntGapMax     float64 // seconds between them
	huntCoverMin, huntCoverMax float64 // covered fraction of what it sold
	fundBuildMin, fundBuildMax float64 // funding: seconds before the settlement the position build starts
	fundBuildEnd               float64 // and ends
	fundPosMin, fundPosMax     float64 // position, typical sizes
	fundPushMin, fundPushMax   float64 // push, as a fraction of the position built
	fundSpanMin, fundSpanMax   float64 // seconds before the settlement the push starts
	fundUnwindMin              float64 // unwound fraction of the push after the settlement
	fundUnwindMax              float64
}

func part2PresetFor(name string) part2Preset {
	p := part2Preset{
		fundingInterval: 10 * detectors.Minute, impactDecay: 60,
		levPool: 80, levOpensPerSecond: 0.02, levHoldSeconds: 900, levMin: 5, levMax: 100,
		ignition: 14, hunt: 7, funding: 8,
		algoBurst: 10, hedger: 6, honestCascade: 4, fundFlat: 3, fundWrongSide: 2, fundCloser: 2,
		igOrdersMin: 5, igOrdersMax: 8, igSizeMin: 2, igSizeMax: 4, igGapMin: 0.3, igGapMax: 1.5,
		igDelayMin: 1, igDelayMax: 6, igRevMin: 0.8, igRevMax: 1.1,
		huntVictimsMin: 5, huntVictimsMax: 9, huntVictimSizeMin: 2, huntVictimSizeMax: 5,
		huntChunkMin: 4, huntChunkMax: 8, huntGapMin: 0.5, huntGapMax: 1.2, huntCoverMin: 0.8, huntCoverMax: 1,
		fundBuildMin: 240, fundBuildMax: 420, fundBuildEnd: 150, fundPosMin: 20, fundPosMax: 35, fundPushMin: 0.5, fundPushMax: 0.8,
		fundSpanMin: 20, fundSpanMax: 60, fundUnwindMin: 0.8, fundUnwindMax: 1.1,
	}
	switch name {
	case "hard":
		p.algoBurst, p.hedger, p.honestCascade = 20, 12, 6
		p.fundFlat, p.fundWrongSide, p.fundCloser, p.fundHedger = 3, 2, 2, 3
		p.igOrdersMin, p.igOrdersMax, p.igSizeMin, p.igSizeMax = 4, 6, 1.5, 3
		p.igDelayMin, p.igDelayMax, p.igRevMin, p.igRevMax, p.igPassive = 3, 20, 0.6, 0.9, 0.3
		p.huntVictimsMin, p.huntVictimsMax, p.huntVictimSizeMin, p.huntVictimSizeMax = 4, 6, 1.5, 3
		p.huntChunkMin, p.huntChunkMax, p.huntGapMin, p.huntGapMax = 3, 6, 0.8, 2
		p.huntCoverMin, p.huntCoverMax = 0.5, 0.9
		p.fundPosMin, p.fundPosMax, p.fundPushMin, p.fundPushMax = 18, 30, 0.45, 0.7
		p.fundSpanMin, p.fundSpanMax, p.fundUnwindMin, p.fundUnwindMax = 30, 80, 0.6, 1
	case "small":
		p.fundingInterval = 3 * detectors.Minute
		p.levPool, p.levHoldSeconds = 30, 120
		// Six minutes hold one settlement (3:00) and room for about one episode per symbol.
		p.ignition, p.hunt, p.funding = 20, 10, 20
		p.algoBurst, p.hedger, p.honestCascade = 10, 0, 0
		p.fundFlat, p.fundWrongSide, p.fundCloser = 0, 0, 0
		p.fundBuildMin, p.fundBuildMax, p.fundBuildEnd = 125, 135, 122
		p.fundSpanMin, p.fundSpanMax = 10, 30
	}
	return p
}

// window is a stretch of one symbol's time an episode of this file occupies.
type window struct{ from, to detectors.Micros }

// plan2 is planning state: per symbol, the windows taken by episodes that must stand alone
// (hunts, honest cascades, the last minutes around a funding episode's settlement: hot) and by
// bursts (ignitions and their look-alikes, which may overlap each other but not a hot window:
// flow); the funding slots (symbol, settlement) taken.
type plan2 struct {
	hot, flow [][]window
	slots     map[[2]int64]bool
}

// planCataloguePart2 creates the leveraged traders and plans the episodes of the second part of
// the catalogue and their look-alikes, from a random stream of its own (the episodes planned
// before and their accounts do not depend on it). Funding episodes come first (they need a
// settlement), then hunts, ignitions and the look-alikes, each in a stretch of its symbol no
// other episode of this file occupies, so that every labelled episode is one clean pattern.
func (g *Generator) planCataloguePart2(hours float64) {
	r := rand.New(rand.NewPCG(g.cfg.Seed, 0xca7a1062))
	count := func(perHour float64) int {
		x := perHour * hours
		n := int(x)
		if r.Float64() < x-float64(n) {
			n++
		}
		return n
	}
	p := g.p2
	g.m2.levPool = g.pool(r, p.levPool)
	g.pl2 = plan2{hot: make([][]window, len(g.syms)), flow: make([][]window, len(g.syms)), slots: map[[2]int64]bool{}}
	// The pumps' bursts and decays, the rallies and the whales' buying move prices by percents:
	// an episode of this file inside one would be a different pattern. (A pump's earlier steps
	// are its organisers' quiet accumulation, harmless.)
	for _, ep := range g.eps {
		if len(ep.steps) == 0 {
			continue
		}
		first, last := ep.steps[0].t, ep.steps[len(ep.steps)-1].t
		for _, st := range ep.steps {
			first, last = min(first, st.t), max(last, st.t)
		}
		switch ep.kind {
		case epPump:
			g.reserve(ep.sym, last-6*detectors.Minute, last+2*detectors.Minute, true)
		case epRally, epWhaleBuys:
			g.reserve(ep.sym, first-detectors.Minute, last+2*detectors.Minute, true)
		}
	}
	fund := func(kind string) func(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
		return func(r *rand.Rand, t0 detectors.Micros, sym int32) *episode { return g.planFunding(r, t0, sym, kind) }
	}
	planners := []episodePlanner{
		{count(p.funding), fund(ep2Funding)},
		{count(p.fundFlat), fund(ep2FundFlat)},
		{count(p.fundWrongSide), fund(ep2FundWrongSide)},
		{count(p.fundCloser), fund(ep2FundCloser)},
		{count(p.fundHedger), fund(ep2FundHedger)},
		{count(p.hunt), func(r *rand.Rand, t0 detectors.Micros, sym int32) *episode { return g.planHunt(r, t0, sym, ep2Hunt) }},
		{count(p.honestCascade), func(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
			return g.planHunt(r, t0, sym, ep2HonestCascade)
		}},
		{count(p.ignition), func(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
			return g.planIgnition(r, t0, sym, ep2Ignition)
		}},
		{count(p.algoBurst), func(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
			return g.planIgnition(r, t0, sym, ep2AlgoBurst)
		}},
		{count(p.hedger), func(r *rand.Rand, t0 detectors.Micros, sym int32) *episode { return g.planHedger(r, t0, sym) }},
	}
	// Symbols weighted by the square root of activity, as for the other episodes.
	var weights []float64
	total := 0.0
	for _, s := range g.syms {
		weights = append(weights, math.Sqrt(s.spec.Activity))
		total += weights[len(weights)-1]
	}
	margin := detectors.Micros(episodeMarginSeconds) * detectors.Second
	for _, pl := range planners {
		for i := 0; i < pl.n; i++ {
			x := r.Float64() * total
			sym := int32(len(weights) - 1)
			for j, w := range weights {
				if x < w {
					sym = int32(j)
					break
				}
				x -= w
			}
			t0 := g.start + margin + detectors.Micros(r.Float64()*float64(g.end-g.start-2*margin))
			ep := pl.plan(r, t0, sym)
			if ep == nil || len(ep.steps) == 0 || ep.steps[len(ep.steps)-1].t > g.end-5*detectors.Second {
				continue // does not fit before the end
			}
			g.eps = append(g.eps, ep)
		}
	}
}

// claim finds a start near t0 whose [start-before, start+after] is free in the symbol (of hot
// windows, and of flow windows too when hot is set), trying random starts; it reserves and
// returns it, or returns false.
func (g *Generator) claim(r *rand.Rand, t0 detectors.Micros, sym int32, before, after detectors.Micros, hot bool) (detectors.Micros, bool) {
	for try := 0; try < 40; try++ {
		if try > 0 {
			t0 = g.start + detectors.Micros(r.Float64()*float64(g.end-g.start))
		}
		from, to := t0-before, t0+after
		if from < g.start+episodeMarginSeconds*detectors.Second || to > g.end-10*detectors.Second {
			continue
		}
		if g.free(sym, from, to, hot) {
			g.reserve(sym, from, to, hot)
			return t0, true
		}
	}
	return 0, false
}

func (g *Generator) reserve(sym int32, from, to detectors.Micros, hot bool) {
	if hot {
		g.pl2.hot[sym] = append(g.pl2.hot[sym], window{from, to})
	} else {
		g.pl2.flow[sym] = append(g.pl2.flow[sym], window{from, to})
	}
}

func (g *Generator) free(sym int32, from, to detectors.Micros, hot bool) bool {
	lists := [][]window{g.pl2.hot[sym]}
	if hot {
		lists = append(lists, g.pl2.flow[sym])
	}
	for _, l := range lists {
		for _, w := range l {
			if from < w.to && w.from < to {
				return false
			}
		}
	}
	return true
}

// typLots converts typical sizes to lots, at least one.
func typLots(s *symState, typical float64) int64 {
	return max(1, int64(math.Round(typical*s.typicalLots)))
}

// planIgnition: a burst of market orders on one side, then (ep2Ignition) the same account
// trading the other way into the move. ep2AlgoBurst is the burst alone: an execution algo.
func (g *Generator) planIgnition(r *rand.Rand, t0 detectors.Micros, sym int32, kind string) *episode {
	p := g.p2
	after := 2*detectors.Minute + 30*detectors.Second
	if kind != ep2Ignition {
		after = 90 * detectors.Second
	}
	// An ignition stands alone (hot); its look-alike bursts may overlap each other (flow).
	t0, ok := g.claim(r, t0, sym, 30*detectors.Second, after, kind == ep2Ignition)
	if !ok {
		return nil
	}
	ep := &episode{kind: kind, sym: sym, accts: []int32{g.addAccount(r, "")}}
	if kind == ep2Ignition {
		ep.label = detectors.MomentumIgnition
	}
	acct := ep.accts[0]
	side := randSide(r)
	var burst, reversed int64
	n := p.igOrdersMin + r.IntN(p.igOrdersMax-p.igOrdersMin+1)
	t := t0
	for i := 0; i < n; i++ {
		size := uniform(r, p.igSizeMin, p.igSizeMax)
		ep.steps = append(ep.steps, step{t: t, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			if f := g.marketOrder(s, t, acct, side, typLots(s, size), false); f > 0 {
				burst += f
				ep.mark(t)
			}
		}})
		t += secs(uniform(r, p.igGapMin, p.igGapMax))
	}
	// Momentum traders join any burst they see (they cannot tell an igniter from an algo): a few
	// market orders on the burst's side in the seconds after it.
	ft := t
	for i := 0; i < 3+r.IntN(4); i++ {
		ft += secs(uniform(r, 0.3, 2))
		follower := g.roles.trend[r.IntN(len(g.roles.trend))]
		size := uniform(r, 1.5, 3)
		ep.steps = append(ep.steps, step{t: ft, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			g.marketOrder(s, t, follower, side, typLots(s, size), true)
		}})
	}
	if kind != ep2Ignition {
		return ep
	}
	t = ft + secs(uniform(r, p.igDelayMin, p.igDelayMax))
	frac := uniform(r, p.igRevMin, p.igRevMax)
	m := 3 + r.IntN(4)
	for j := 0; j < m; j++ {
		left := m - j
		passive := r.Float64() < p.igPassive
		life := secs(uniform(r, 20, 60))
		ep.steps = append(ep.steps, step{t: t, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			want := int64(math.Round(float64(burst)*frac)) - reversed
			if want <= 0 {
				return
			}
			lots := max(1, want/int64(left))
			if passive {
				// Rest at the best price of the reversal side, one tick inside the spread when
				// it allows: the market's own momentum lifts it.
				px, ok := g.touch(s, -side)
				if !ok {
					return
				}
				if _, inside := g.insidePrice(s); inside {
					px += int64(-side)
				}
				if o := g.placeLimit(s, t, acct, -side, px, lots); o != nil {
					reversed += lots
					ep.mark(t)
					id := o.id
					g.later(ep, t+life, func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
						if s.book.byID[id] != nil {
							g.cancel(s, t, id)
						}
					})
				}
				return
			}
			if f := g.marketOrder(s, t, acct, -side, lots, false); f > 0 {
				reversed += f
				ep.mark(t)
			}
		}})
		t += secs(uniform(r, 1, 6))
	}
	return ep
}

// later schedules an extra step of a running episode.
func (g *Generator) later(ep *episode, t detectors.Micros, do func(g *Generator, ep *episode, s *symState, t detectors.Micros)) {
	if t > g.end {
		return
	}
	ep.steps = append(ep.steps, step{t: t, do: do})
	g.push(t, actStep, ep.sym, g.epIndex(ep), int32(len(ep.steps)-1))
}

// planHedger: an account builds a position with market orders a minute apart, flattens it with a
// burst on the other side (a hedge), then goes on building on the first side: the burst closes
// a position, it does not open one.
func (g *Generator) planHedger(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
	t0, ok := g.claim(r, t0, sym, detectors.Minute, 150*detectors.Second, false)
	if !ok {
		return nil
	}
	ep := &episode{kind: ep2Hedger, sym: sym, accts: []int32{g.addAccount(r, "")}}
	acct := ep.accts[0]
	side := randSide(r) // the side the hedger's flow builds
	var pos int64
	k := 4 + r.IntN(4)
	for i := 0; i < k; i++ {
		at := t0 - secs(uniform(r, 20, 280))
		size := uniform(r, 1.5, 3)
		ep.steps = append(ep.steps, step{t: at, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			pos += g.marketOrder(s, t, acct, side, typLots(s, size), true)
			ep.mark(t)
		}})
	}
	n := 3 + r.IntN(4)
	t := t0
	for i := 0; i < n; i++ {
		left := n - i
		ep.steps = append(ep.steps, step{t: t, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			if pos > 0 {
				pos -= g.marketOrder(s, t, acct, -side, max(1, pos/int64(left)), false)
				ep.mark(t)
			}
		}})
		t += secs(uniform(r, 0.3, 1.5))
	}
	for i := 0; i < 3; i++ {
		t += secs(uniform(r, 5, 40))
		size := uniform(r, 1.5, 3)
		ep.steps = append(ep.steps, step{t: t, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			g.marketOrder(s, t, acct, side, typLots(s, size), true)
			ep.mark(t)
		}})
	}
	sortSteps(ep)
	return ep
}

// huntState is a running hunt's (or honest cascade's) state machine.
type huntState struct {
	phase                    int // 0 push, 1 wait for the cascade to settle, 2 cover, 3 done
	victims, liquidated      int
	lastLiq                  detectors.Micros
	nextPush, nextCover      detectors.Micros
	waitFrom                 detectors.Micros
	chunks                   int
	sold, covered, long      int64
	first, last              detectors.Micros
	liqsAtStart              int
	luckyShort, luckyCovered int64
}

// planHunt: a cluster of high-leverage positions opened in the minutes before t0; from t0 an
// account pushes the price through their liquidation prices with market orders until most are
// liquidated, waits for the cascade to settle and (ep2Hunt) buys back what it sold, below where
// it sold. ep2HonestCascade: a whale holding a big long since before the market's start sells all
// of it from t0 (no short, no buying back), and a lucky short opened minutes earlier covers into
// the cascade. A hunt is labelled only if it set off at least two liquidations; a failed hunter
// keeps its short.
func (g *Generator) planHunt(r *rand.Rand, t0 detectors.Micros, sym int32, kind string) *episode {
	p := g.p2
	// The victims open in the two minutes before t0; the push, the cascade and the cover take
	// at most 150 s (the whale's long and the lucky short are built earlier, among other flow).
	t0, ok := g.claim(r, t0, sym, 2*detectors.Minute, 150*detectors.Second, true)
	if !ok {
		return nil
	}
	ep := &episode{kind: kind, sym: sym, accts: []int32{g.addAccount(r, "")}}
	if kind == ep2Hunt {
		ep.label = detectors.LiquidationHunt
	}
	pusher := ep.accts[0]
	push := randSide(r) // a sell push hunts long positions
	st := &huntState{}
	// The cluster: leverage 100-125x puts liquidation prices 30-50 bp from entry.
	nv := p.huntVictimsMin + r.IntN(p.huntVictimsMax-p.huntVictimsMin+1)
	for i := 0; i < nv; i++ {
		at := t0 - secs(uniform(r, 20, 110))
		size := uniform(r, p.huntVictimSizeMin, p.huntVictimSizeMax)
		lev := uniform(r, 100, 125)
		ep.steps = append(ep.steps, step{t: at, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			for try := 0; try < 10; try++ {
				acct := g.m2.levPool[g.rng.IntN(len(g.m2.levPool))]
				if lp := g.openLeveraged(s, t, acct, -push, typLots(s, size), lev); lp != nil {
					st.victims++
					lp.onLiq = func(t detectors.Micros) { st.liquidated++; st.lastLiq = t }
					// A gambler that survives closes within minutes.
					hold := detectors.Micros(uniform(rngOf(g), 240, 420) * float64(detectors.Second))
					g.push(t+hold, actLevClose, s.idx, lp.id, 0)
					return
				}
			}
		}})
	}
	var lucky int32 = -1
	if kind == ep2HonestCascade {
		// The whale's long (short, for a buy push) was bought before the market's start: what it
		// sells from t0 closes it.
		long := uniform(r, 80, 160)
		ep.steps = append(ep.steps, step{t: t0 - detectors.Second, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			st.long = typLots(s, long)
			g.addPosition(s, pusher, -push, st.long)
		}})
		lucky = g.addAccount(r, "")
		ep.accts = append(ep.accts, lucky)
		for i := 0; i < 2+r.IntN(2); i++ {
			at := t0 - secs(uniform(r, 120, 500))
			size := uniform(r, 2, 4)
			ep.steps = append(ep.steps, step{t: at, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
				st.luckyShort += g.marketOrder(s, t, lucky, push, typLots(s, size), true)
			}})
		}
	}
	chunkLo, chunkHi := p.huntChunkMin, p.huntChunkMax
	gapLo, gapHi := p.huntGapMin, p.huntGapMax
	coverFrac := uniform(r, p.huntCoverMin, p.huntCoverMax)
	luckyDelay := secs(uniform(r, 1, 5))
	const tick = 250 * detectors.Millisecond
	for at := t0; at <= t0+150*detectors.Second; at += tick {
		ep.steps = append(ep.steps, step{t: at, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			rng := rngOf(g)
			if st.chunks == 0 && st.phase == 0 {
				st.liqsAtStart = g.m2.liqs[s.idx]
			}
			if lucky >= 0 && st.luckyShort > 0 && st.luckyCovered == 0 && st.liquidated > 0 && t >= st.lastLiq+luckyDelay {
				st.luckyCovered = g.marketOrder(s, t, lucky, -push, st.luckyShort, true)
			}
			switch st.phase {
			case 0:
				if t < st.nextPush {
					return
				}
				enough := st.victims > 0 && st.liquidated*10 >= st.victims*7
				if kind == ep2HonestCascade {
					enough = st.sold >= st.long // the whale sells its whole long, no more
				}
				if enough || st.chunks >= 40 {
					st.phase, st.waitFrom = 1, t
					return
				}
				lots := typLots(s, uniform(rng, chunkLo, chunkHi))
				if kind == ep2HonestCascade {
					lots = min(lots, st.long-st.sold)
				}
				if f := g.marketOrder(s, t, pusher, push, lots, false); f > 0 {
					st.sold += f
					if st.first == 0 {
						st.first = t
					}
					st.last = t
				}
				st.chunks++
				st.nextPush = t + secs(uniform(rng, gapLo, gapHi))
			case 1:
				if (st.liquidated > 0 && t >= st.lastLiq+2*detectors.Second) || t >= st.waitFrom+8*detectors.Second {
					st.phase = 2
					// No cascade (fewer than two liquidations): the hunt failed; the hunter keeps
					// its short rather than trading it back at once (and is not labelled).
					if kind == ep2HonestCascade || g.m2.liqs[s.idx]-st.liqsAtStart < 2 {
						st.phase = 3
					}
				}
			case 2:
				if t < st.nextCover {
					return
				}
				want := int64(math.Round(float64(st.sold)*coverFrac)) - st.covered
				if want <= 0 {
					st.phase = 3
					return
				}
				lots := min(want, typLots(s, uniform(rng, chunkLo, chunkHi)))
				if f := g.marketOrder(s, t, pusher, -push, lots, false); f > 0 {
					st.covered += f
					st.last = t
				}
				st.nextCover = t + secs(uniform(rng, 1, 3))
			case 3:
				if !ep.happen && st.first > 0 && g.m2.liqs[s.idx]-st.liqsAtStart >= 2 {
					ep.mark(st.first)
					ep.mark(st.last)
				}
				st.phase = 4
			}
		}})
	}
	sortSteps(ep)
	return ep
}

// rngOf is the flow's random stream: draws made while the market runs.
func rngOf(g *Generator) *rand.Rand { return g.rng }

// planFunding: an account builds a position minutes before a settlement, then in its last
// seconds (the push) trades against it, moving the mark and so the funding its position receives
// (a short gains from a higher rate), and after the settlement trades the push back. The
// look-alikes, none of which trades back after the settlement: ep2FundFlat has no position and
// opens one before the settlement; ep2FundWrongSide adds to its position (which pays the more
// funding for it); ep2FundCloser closes its whole position before the settlement;
// ep2FundHedger reduces it and keeps it so.
func (g *Generator) planFunding(r *rand.Rand, t0 detectors.Micros, sym int32, kind string) *episode {
	p := g.p2
	iv := p.fundingInterval
	lead := secs(p.fundBuildMax) + 5*detectors.Second
	// Only the push and the trading back must stand alone; the build may overlap other flow.
	hotBefore := secs(p.fundSpanMax) + 20*detectors.Second
	var T detectors.Micros
	found := false
	for try := 0; try < 30 && !found; try++ {
		if try > 0 {
			t0 = g.start + detectors.Micros(r.Float64()*float64(g.end-g.start))
		}
		T = ((t0+lead)/iv + 1) * iv
		if T-lead < g.start+episodeMarginSeconds*detectors.Second || T+2*detectors.Minute > g.end-10*detectors.Second {
			continue
		}
		if g.pl2.slots[[2]int64{int64(sym), T}] || !g.free(sym, T-hotBefore, T+2*detectors.Minute, true) {
			continue
		}
		found = true
	}
	if !found {
		return nil
	}
	g.pl2.slots[[2]int64{int64(sym), T}] = true
	g.reserve(sym, T-hotBefore, T+2*detectors.Minute, true)
	ep := &episode{kind: kind, sym: sym, accts: []int32{g.addAccount(r, "")}}
	if kind == ep2Funding {
		ep.label = detectors.FundingManipulation
	}
	acct := ep.accts[0]
	posSide := randSide(r)
	var pos, pushed int64
	if kind != ep2FundFlat {
		k := 4 + r.IntN(3)
		total := uniform(r, p.fundPosMin, p.fundPosMax)
		from := uniform(r, p.fundBuildMin, p.fundBuildMax)
		to := p.fundBuildEnd
		for i := 0; i < k; i++ {
			at := T - secs(from-(from-to)*float64(i)/float64(k-1))
			ep.steps = append(ep.steps, step{t: at, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
				pos += g.marketOrder(s, t, acct, posSide, typLots(s, total/float64(k)), true)
				ep.mark(t)
			}})
		}
	}
	// The push: against the position (it receives more funding), with it for the wrong-side
	// look-alike, at random for the flat one; the closer's push is its whole position.
	pushSide := -posSide
	switch kind {
	case ep2FundWrongSide:
		pushSide = posSide
	case ep2FundFlat:
		pushSide = randSide(r)
	}
	m := 3 + r.IntN(4)
	frac := uniform(r, p.fundPushMin, p.fundPushMax)
	flatPush := uniform(r, 6, 12) // typical sizes, for the flat look-alike
	span := uniform(r, p.fundSpanMin, p.fundSpanMax)
	reduce := uniform(r, 0.4, 0.7)
	for i := 0; i < m; i++ {
		// The last push order lands 0.3-2 s before the settlement: marking the close.
		at := T - secs(span-(span-uniform(r, 0.3, 2))*float64(i)/float64(m-1))
		left := m - i
		ep.steps = append(ep.steps, step{t: at, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			lots := max(1, int64(float64(pos)*frac)/int64(m))
			switch kind {
			case ep2FundFlat:
				lots = typLots(s, flatPush/float64(m))
			case ep2FundCloser:
				lots = (pos - pushed) / int64(left)
			case ep2FundHedger:
				lots = (int64(float64(pos)*reduce) - pushed) / int64(left)
			}
			if lots <= 0 {
				return
			}
			pushed += g.marketOrder(s, t, acct, pushSide, lots, false)
			ep.mark(t)
		}})
	}
	if kind != ep2Funding {
		return ep // the look-alikes keep what they bought or sold: no round trip
	}
	back := uniform(r, p.fundUnwindMin, p.fundUnwindMax)
	n := 1 + r.IntN(3)
	at := T + secs(uniform(r, 2, 15))
	var done int64
	for i := 0; i < n; i++ {
		left := n - i
		ep.steps = append(ep.steps, step{t: at, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			want := int64(math.Round(float64(pushed)*back)) - done
			if want <= 0 {
				return
			}
			f := g.marketOrder(s, t, acct, -pushSide, max(1, want/int64(left)), false)
			done += f
			ep.mark(t)
		}})
		at += secs(uniform(r, 2, 15))
	}
	return ep
}
