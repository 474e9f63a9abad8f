package synth

import (
	"math"
	"math/rand/v2"

	"github.com/fds-dev/fds/detectors"
)

// Episode kinds of the first part of the detector catalogue. The labelled ones carry an incident
// type; the others are benign look-alikes (docs/generator.md lists what each should teach).
const (
	epLinkedWash     = "linked_wash"             // two linked accounts round-tripping (wash_trade)
	epCollusion      = "collusion"               // matched trades between two unlinked accounts
	epLayering       = "layering"                // one-sided layers cancelled together, opposite execution
	epStuffing       = "quote_stuffing"          // bursts of fleeting orders
	epFrontRun       = "front_running"           // trading ahead of a big order and unwinding
	epPersistent     = "persistent_counterparty" // one taker filling a whale's resting order again and again
	epSniper         = "quick_sniper"            // an arbitrageur taking fresh inside-spread orders at once
	epLadder         = "ladder"                  // an honest one-sided ladder resting for minutes
	epSidePull       = "hedger_pull"             // a ladder pulled within seconds while trading the same side
	epTwoSidedLadder = "two_sided_ladder"        // ladders on both sides pulled together, one side hit
	epReprice        = "mm_reprice"              // a market maker re-quoting every slot several times at once
	epBusyTaker      = "busy_taker"              // an execution algo firing many market orders
	epBigTaker       = "big_taker"               // an honest big market order
	epChaser         = "momentum_chaser"         // buys right after a big order, sells later
	epScalper        = "scalper"                 // round trips every few seconds around a big order
)

// part1 holds what a preset decides for these episodes: rates per hour of market (all symbols
// together) and the shapes of the labelled episodes.
type part1 struct {
	linkedWash, collusion, layering, stuffing, frontRun float64
	persistent, sniper, ladder, sidePull, twoSided      float64
	reprice, busyTaker, bigTaker, chaser, scalper       float64

	// Linked wash: round trips (two trades each), size multiplier, second-leg size jitter.
	linkedRTMin, linkedRTMax int
	linkedSize, linkedJitter float64
	// Collusion: trades, gap between them, the taker's delay after the maker's order, size, the
	// share of taker orders of exactly the maker's size, genuine trades per collusive trade.
	collTradesMin, collTradesMax int
	collGapMin, collGapMax       float64
	collDelayMin, collDelayMax   float64
	collSize, collExact          float64
	collOther                    int
	// Layering: cycles, levels, size per level, lifetime, opposite execution.
	layerCyclesMin, layerCyclesMax int
	layerLevelsMin, layerLevelsMax int
	layerSizeMin, layerSizeMax     float64
	layerLifeMin, layerLifeMax     float64
	layerOppMin, layerOppMax       float64
	// Quote stuffing: bursts, messages per burst, burst length, order life (ms), market orders.
	stuffBurstsMin, stuffBurstsMax int
	stuffMsgsMin, stuffMsgsMax     int
	stuffSecMin, stuffSecMax       float64
	stuffLifeMin, stuffLifeMax     float64
	stuffTrades                    int
	// Front running: the victim's big orders, their size, the front-runner's size, lead, time to
	// unwind and unwound fraction.
	frOrdersMin, frOrdersMax        int
	frVictimMin, frVictimMax        float64
	frSizeMin, frSizeMax            float64
	frLeadMin, frLeadMax            float64
	frUnwindMin, frUnwindMax        float64
	frUnwindFrac                    float64
	frGapMin, frGapMax              float64 // seconds between one unwind and the next front-run
	repriceSweepsMin, repriceSweeps int
}

func part1Of(name string) part1 {
	base := part1{
		linkedWash: 6, collusion: 15, layering: 15, stuffing: 15, frontRun: 15,
		persistent: 10, sniper: 10, ladder: 10, sidePull: 0, twoSided: 0,
		reprice: 10, busyTaker: 10, bigTaker: 15, chaser: 10, scalper: 0,
		linkedRTMin: 2, linkedRTMax: 5, linkedSize: 1, linkedJitter: 0,
		collTradesMin: 4, collTradesMax: 10, collGapMin: 10, collGapMax: 60, collDelayMin: 0.02, collDelayMax: 0.4,
		collSize: 1, collExact: 1, collOther: 0,
		layerCyclesMin: 1, layerCyclesMax: 3, layerLevelsMin: 3, layerLevelsMax: 5,
		layerSizeMin: 1, layerSizeMax: 3, layerLifeMin: 2, layerLifeMax: 8, layerOppMin: 1, layerOppMax: 3,
		stuffBurstsMin: 1, stuffBurstsMax: 3, stuffMsgsMin: 150, stuffMsgsMax: 400, stuffSecMin: 0.5, stuffSecMax: 2,
		stuffLifeMin: 1, stuffLifeMax: 30, stuffTrades: 0,
		frOrdersMin: 2, frOrdersMax: 4, frVictimMin: 8, frVictimMax: 20, frSizeMin: 1, frSizeMax: 3,
		frLeadMin: 0.3, frLeadMax: 3, frUnwindMin: 2, frUnwindMax: 20, frUnwindFrac: 1, frGapMin: 10, frGapMax: 60,
		repriceSweepsMin: 2, repriceSweeps: 3,
	}
	switch name {
	case "hard":
		p := base
		p.persistent, p.sniper, p.ladder, p.sidePull, p.twoSided = 20, 20, 20, 15, 15
		p.reprice, p.busyTaker, p.bigTaker, p.chaser, p.scalper = 20, 20, 25, 15, 15
		p.linkedRTMin, p.linkedRTMax, p.linkedSize, p.linkedJitter = 2, 3, 0.6, 0.15
		p.collTradesMin, p.collTradesMax, p.collGapMin, p.collGapMax = 4, 7, 20, 90
		p.collDelayMin, p.collDelayMax, p.collSize, p.collExact, p.collOther = 0.1, 1, 0.6, 0.7, 1
		p.layerCyclesMin, p.layerCyclesMax, p.layerLevelsMin, p.layerLevelsMax = 1, 2, 3, 4
		p.layerSizeMin, p.layerSizeMax, p.layerLifeMin, p.layerLifeMax = 0.8, 1.8, 3, 10
		p.layerOppMin, p.layerOppMax = 0.6, 1.5
		p.stuffBurstsMin, p.stuffBurstsMax, p.stuffMsgsMin, p.stuffMsgsMax = 1, 2, 60, 150
		p.stuffSecMin, p.stuffSecMax, p.stuffLifeMin, p.stuffLifeMax, p.stuffTrades = 1, 3, 5, 80, 2
		p.frOrdersMin, p.frOrdersMax, p.frVictimMin, p.frVictimMax = 1, 3, 8, 14
		p.frSizeMin, p.frSizeMax, p.frLeadMin, p.frLeadMax = 0.8, 2, 0.5, 4
		p.frUnwindMin, p.frUnwindMax, p.frUnwindFrac = 5, 60, 0.8
		p.repriceSweepsMin, p.repriceSweeps = 3, 5
		return p
	case "small":
		p := base
		p.linkedWash, p.collusion, p.layering, p.stuffing, p.frontRun = 20, 40, 40, 40, 40
		p.persistent, p.sniper, p.ladder, p.reprice, p.busyTaker, p.bigTaker, p.chaser = 20, 20, 20, 20, 20, 30, 20
		// The small market lasts minutes: shorter episodes, so that they fit.
		p.collTradesMin, p.collTradesMax, p.collGapMin, p.collGapMax = 3, 6, 3, 15
		p.frOrdersMin, p.frOrdersMax, p.frUnwindMin, p.frUnwindMax, p.frGapMin, p.frGapMax = 2, 3, 2, 10, 5, 20
		return p
	}
	return base
}

// planCataloguePart1 plans the episodes of the first part of the detector catalogue (collusion,
// layering, quote stuffing, front running, linked-account wash trades) and their look-alikes, for
// a market of this many hours. It runs after the other planners and draws from a random stream of
// its own, so the episodes planned before it (and every account id) are as they would be without
// it. Symbols and start times are drawn as planEpisodes draws them.
func (g *Generator) planCataloguePart1(hours float64) {
	r := rand.New(rand.NewPCG(g.cfg.Seed, 0xca7a1061))
	count := func(perHour float64) int {
		x := perHour * hours
		n := int(x)
		if r.Float64() < x-float64(n) {
			n++
		}
		return n
	}
	k := g.knobs1()
	planners := []episodePlanner{
		{count(k.linkedWash), g.planLinkedWash},
		{count(k.collusion), g.planCollusion},
		{count(k.layering), g.planLayering},
		{count(k.stuffing), g.planStuffing},
		{count(k.frontRun), g.planFrontRun},
		{count(k.persistent), g.planPersistent},
		{count(k.sniper), g.planSniper},
		{count(k.ladder), func(r *rand.Rand, t0 detectors.Micros, sym int32) *episode { return g.planLadder(r, t0, sym, epLadder) }},
		{count(k.sidePull), func(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
			return g.planLadder(r, t0, sym, epSidePull)
		}},
		{count(k.twoSided), func(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
			return g.planLadder(r, t0, sym, epTwoSidedLadder)
		}},
		{count(k.reprice), g.planReprice},
		{count(k.busyTaker), g.planBusyTaker},
		{count(k.bigTaker), func(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
			return g.planBigTaker(r, t0, sym, epBigTaker)
		}},
		{count(k.chaser), func(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
			return g.planBigTaker(r, t0, sym, epChaser)
		}},
		{count(k.scalper), func(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
			return g.planBigTaker(r, t0, sym, epScalper)
		}},
	}
	var weights []float64
	total := 0.0
	for _, s := range g.syms {
		w := math.Sqrt(s.spec.Activity)
		weights = append(weights, w)
		total += w
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

// knobs1 returns the preset's settings of these episodes.
func (g *Generator) knobs1() part1 { return part1Of(g.p.name) }

// planOneWayTrades adds n trades between the episode's two accounts in which the second always
// buys from the first (alternating maker and taker): a position moved from one to the other.
func (g *Generator) planOneWayTrades(r *rand.Rand, ep *episode, t0 detectors.Micros, n int, gapLo, gapHi float64) {
	seller, buyer := ep.accts[0], ep.accts[1]
	t := t0
	for i := 0; i < n; i++ {
		maker, taker, makerSide := seller, buyer, detectors.Sell
		if i%2 == 1 {
			maker, taker, makerSide = buyer, seller, detectors.Buy
		}
		ep.steps = append(ep.steps, step{t: t, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			g.crossOwn(ep, s, t, maker, taker, makerSide, g.sizeLots(s, 0, 0.5))
		}})
		t += secs(uniform(r, gapLo, gapHi))
	}
}

// sizeInLots returns mul typical sizes in lots, at least one.
func sizeInLots(s *symState, mul float64) int64 { return max(1, int64(math.Round(mul*s.typicalLots))) }

// moveFair shifts the fair price by bp basis points: the lasting impact of a big order, which
// the market makers' next quotes follow.
func moveFair(s *symState, bp float64) { s.fair *= 1 + bp*1e-4 }

// genuineTrades adds up to n market orders of the accounts, at random times in [from, to]: the
// honest trading that dilutes an abuser's share of its own volume.
func genuineTrades(r *rand.Rand, ep *episode, accts []int32, n int, from, to detectors.Micros, mu float64) {
	for i := 0; i < n; i++ {
		acct := accts[r.IntN(len(accts))]
		side := randSide(r)
		ep.steps = append(ep.steps, step{t: from + detectors.Micros(r.Float64()*float64(max(to-from, 1))), do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			g.marketOrder(s, t, acct, side, g.sizeLots(s, mu, 0.5), true)
		}})
	}
}
