package synth

import (
	"math"
	"math/rand/v2"
	"sort"

	"github.com/fds-dev/fds/detectors"
)

// Pump-and-dump episodes and their look-alikes.
//
// A pump (labelled pump_and_dump, accounts = the organisers, start/end = the burst and the
// organisers' selling): the organisers accumulate quietly with small market buys over the
// preceding 30-90 minutes (no label there: it is the set-up, not the pump); then the group's
// members fire many small market buys within seconds, several of them often in the same
// millisecond (rush orders), while the market makers re-quote up with the price, which climbs
// by pumpRise; the organisers sell their stock into the rush and the price decays back.
//
// The pump_and_dump detector compares 25 s chunks with a 4 h baseline and alerts only after 30
// minutes of a symbol's history, and at most once an hour per symbol (docs/detectors.md). So a
// pump starts no earlier than pumpEarliest after the market's start, at most one per symbol in
// any pumpSpacing, and its burst size is scaled to the symbol's own flow: a z-score of the buy
// rush orders drawn from the preset, on the thin alt as on BTCUSDT.
//
// Look-alikes: an honest rally (news: many buyers over minutes, the same price rise spread so
// that no 25 s chunk rises much, no accumulation before) and a whale buying a lot in a few big
// orders (a steep rise, but few rush orders).
const (
	epPump      = "pump_and_dump"
	epRally     = "honest_rally"
	epWhaleBuys = "whale_buys"
)

const (
	pumpEarliest = 45 * detectors.Minute // warm-up of the detector (30 min) plus margin
	pumpSpacing  = 70 * detectors.Minute // the detector's cooldown (1 h) plus margin
	pumpChunkSec = 25.0                  // the detector's chunk, to size bursts against the flow
	// pumpTypicalPerChunk is the background's traded volume per chunk in typical sizes for a
	// symbol of activity 1: measured, 727 k USDT per chunk on BTCUSDT (typical 0.2 × 42 000).
	pumpTypicalPerChunk = 87.0
)

// pumpKnobs are a preset's settings of these episodes.
type pumpKnobs struct {
	pumps, rallies, whaleBuys    float64 // per hour of market
	organisersMin, organisersMax int
	accumMinMin, accumMinMax     float64 // minutes of accumulation
	// zRushMin..zRushMax: the burst's buy rush orders per chunk, as z-scores of the symbol's
	// normal buy orders per chunk (mean + z·(sd+1), the detector's floor).
	zRushMin, zRushMax float64
	// zNotionalMin..zNotionalMax: the burst's notional per chunk as the detector's z-score of
	// notional (whose floor is the mean: z ≈ V/mean − 1), which sets the members' order size.
	zNotionalMin, zNotionalMax float64
	burstSecMin, burstSecMax   float64
	riseMin, riseMax           float64 // price rise of the pump (fraction)
	decaySecMin, decaySecMax   float64
	rallyMinMin, rallyMinMax   float64 // minutes a rally lasts
	rallyRiseMin, rallyRiseMax float64
}

func pumpKnobsOf(preset string) pumpKnobs {
	k := pumpKnobs{
		pumps: 2, rallies: 1, whaleBuys: 1,
		organisersMin: 1, organisersMax: 3, accumMinMin: 30, accumMinMax: 90,
		zRushMin: 35, zRushMax: 60, zNotionalMin: 15, zNotionalMax: 30, burstSecMin: 6, burstSecMax: 15,
		riseMin: 0.05, riseMax: 0.12, decaySecMin: 60, decaySecMax: 240,
		rallyMinMin: 4, rallyMinMax: 12, rallyRiseMin: 0.02, rallyRiseMax: 0.05,
	}
	switch preset {
	case "hard":
		// Subtler: fewer buyers spread over 1-2 chunks, a smaller rise, more look-alikes. The
		// drawn z of rush orders and notional are what the flow would show against a Poisson
		// baseline; against the hard market's own (noisier: other episodes, twice the
		// look-alikes) and split by a chunk boundary, the detector measures about half: rush z
		// 9-27, notional z 7-20 (seeds 1-4; default: 19-46 and 18-21): rush orders like the
		// subtlest labelled real pumps (NULS 2020-01-30 11.5, POA 2020-03-12 15.6), notional
		// below every real pump the detector finds (30 and more; docs/detectors.md).
		k.rallies, k.whaleBuys = 2, 2
		k.zRushMin, k.zRushMax = 25, 45
		k.zNotionalMin, k.zNotionalMax = 12, 24
		k.burstSecMin, k.burstSecMax = 10, 30
		k.riseMin, k.riseMax = 0.03, 0.08
		k.rallyMinMin, k.rallyMinMax = 2, 6
	case "small":
		// The small market lasts minutes: no room for the detector's warm-up, so no pumps.
		k.pumps, k.rallies, k.whaleBuys = 0, 0, 0
	}
	return k
}

// planPumps plans the pumps and their look-alikes. Like planCataloguePart1 it draws from a
// random stream of its own, after the other planners, so the episodes planned before it are as
// they would be without it.
func (g *Generator) planPumps(hours float64) {
	r := rand.New(rand.NewPCG(g.cfg.Seed, 0x9a3bd0e5))
	k := pumpKnobsOf(g.p.name)
	count := func(perHour float64) int {
		x := perHour * hours
		n := int(x)
		if r.Float64() < x-float64(n) {
			n++
		}
		return n
	}
	nPump, nRally, nWhale := count(k.pumps), count(k.rallies), count(k.whaleBuys)
	// busy[sym] holds the [from, to] spans taken by these episodes, to keep them apart.
	busy := make([][][2]detectors.Micros, len(g.syms))
	free := func(sym int32, from, to, gap detectors.Micros) bool {
		for _, b := range busy[sym] {
			if from < b[1]+gap && to+gap > b[0] {
				return false
			}
		}
		return true
	}
	earliest, latest := g.start+pumpEarliest, g.end-10*detectors.Minute
	if latest <= earliest {
		return
	}
	place := func(n int, gap detectors.Micros, plan func(t0 detectors.Micros, sym int32) *episode) {
		for i := 0; i < n; i++ {
			for try := 0; try < 30; try++ {
				sym := int32(r.IntN(len(g.syms)))
				t0 := earliest + detectors.Micros(r.Float64()*float64(latest-earliest))
				if !free(sym, t0, t0+5*detectors.Minute, gap) {
					continue
				}
				ep := plan(t0, sym)
				if ep == nil || len(ep.steps) == 0 || ep.steps[len(ep.steps)-1].t > g.end-5*detectors.Second {
					continue
				}
				busy[sym] = append(busy[sym], [2]detectors.Micros{t0, ep.steps[len(ep.steps)-1].t})
				g.eps = append(g.eps, ep)
				break
			}
		}
	}
	place(nPump, pumpSpacing, func(t0 detectors.Micros, sym int32) *episode { return g.planPump(r, k, t0, sym) })
	place(nRally, 15*detectors.Minute, func(t0 detectors.Micros, sym int32) *episode { return g.planRally(r, k, t0, sym) })
	place(nWhale, 15*detectors.Minute, func(t0 detectors.Micros, sym int32) *episode { return g.planWhaleBuys(r, t0, sym) })
}

// pumpBuysPerChunk returns the mean and standard deviation of a symbol's market buy orders per
// detector chunk in the background flow (Poisson: sd = √mean).
func (g *Generator) pumpBuysPerChunk(sym int32) (mean, sd float64) {
	a := g.syms[sym].spec.Activity
	mean = (noiseOrdersPerSecond + trendOrdersPerSecond) * a * pumpChunkSec / 2
	return mean, math.Sqrt(mean)
}

// pumpLift multiplies the fair price by ratio and re-quotes every market-maker slot around it:
// the market makers follow a violent move at once rather than be run over.
func (g *Generator) pumpLift(s *symState, t detectors.Micros, ratio float64) {
	s.fair *= ratio
	for m := range s.mms {
		for side := 0; side < 2; side++ {
			for level := 0; level < mmLevels; level++ {
				g.requoteSlot(s, t, m, side, level)
			}
		}
	}
}

// pumpLots is a lognormal size around mul typical sizes, at least one lot.
func (g *Generator) pumpLots(s *symState, mul float64) int64 {
	return max(1, int64(math.Round(mul*s.typicalLots*math.Exp(0.4*g.rng.NormFloat64()))))
}

// planPump plans one pump-and-dump (see the top of this file).
func (g *Generator) planPump(r *rand.Rand, k pumpKnobs, t0 detectors.Micros, sym int32) *episode {
	ep := &episode{kind: epPump, label: detectors.PumpAndDump, sym: sym}
	nOrg := k.organisersMin + r.IntN(k.organisersMax-k.organisersMin+1)
	group := g.newGroup(r)
	for i := 0; i < nOrg; i++ {
		ep.accts = append(ep.accts, g.addAccount(r, group))
	}
	// The group's members: fresh accounts, each buying once or twice.
	mean, sd := g.pumpBuysPerChunk(sym)
	burst := uniform(r, k.burstSecMin, k.burstSecMax)
	chunks := math.Max(1, burst/pumpChunkSec)
	rush := int(math.Round((mean + uniform(r, k.zRushMin, k.zRushMax)*(sd+1)) * chunks))
	crowd := g.pool(r, max(10, rush*2/3))
	rise := uniform(r, k.riseMin, k.riseMax)
	// Member order size in typical sizes: the chunk's notional at the drawn z over the expected
	// member orders (two per rush order on average).
	memberMul := math.Max(0.2, uniform(r, k.zNotionalMin, k.zNotionalMax)*
		pumpTypicalPerChunk*g.syms[sym].spec.Activity*chunks/(2*float64(rush)))

	// Accumulation: each organiser's market buys of one to two and a half typical sizes (times
	// 0.5 + 2·activity) every 15-45 s (a few percent of the symbol's flow, but a position large among the net buyers,
	// which is what the detector names accounts by), unlabelled (no mark).
	accum := secs(60 * uniform(r, k.accumMinMin, k.accumMinMax))
	if t0-accum < g.start+detectors.Minute {
		return nil
	}
	held := make([]int64, nOrg) // lots bought, sold back in the dump
	for o := 0; o < nOrg; o++ {
		for t := t0 - accum + secs(uniform(r, 0, 30)); t < t0-detectors.Minute; t += secs(uniform(r, 15, 45)) {
			// Busier symbols have more net buyers to stand out from: larger buys.
			o, mul := o, uniform(r, 1, 2.5)*(0.5+2*g.syms[sym].spec.Activity)
			ep.steps = append(ep.steps, step{t: t, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
				held[o] += g.marketOrder(s, t, ep.accts[o], detectors.Buy, g.pumpLots(s, mul), true)
			}})
		}
	}

	// The burst: rush orders at distinct milliseconds, each of one to three members, the price
	// climbing along a concave path as the market makers re-quote.
	level := 1.0
	ms := make([]int64, 0, rush)
	seen := map[int64]bool{}
	for len(ms) < rush {
		x := int64(r.Float64() * burst * 1000)
		if !seen[x] {
			seen[x] = true
			ms = append(ms, x)
		}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i] < ms[j] })
	for i, x := range ms {
		target := 1 + rise*math.Sqrt(float64(i+1)/float64(rush))
		ratio := target / level
		level = target
		buyers := make([]int32, 1+r.IntN(3))
		for j := range buyers {
			buyers[j] = crowd[r.IntN(len(crowd))]
		}
		ep.steps = append(ep.steps, step{t: t0 + detectors.Micros(x)*detectors.Millisecond, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			g.pumpLift(s, t, ratio)
			for _, b := range buyers {
				if g.marketOrder(s, t, b, detectors.Buy, g.pumpLots(s, memberMul), true) > 0 {
					ep.mark(t)
				}
			}
		}})
	}
	peak := t0 + secs(burst)

	// The dump: the organisers sell what they hold in a few orders, the first ones into the
	// rush itself (the detector names who sold in the burst's best chunk), the rest in the
	// following seconds; the price decays towards where it started (most of the rise given back).
	for o := 0; o < nOrg; o++ {
		parts := 4 + r.IntN(4)
		for p := 0; p < parts; p++ {
			o, last := o, p == parts-1
			at := t0 + secs(burst*(0.3+0.7*float64(p)/float64(parts))) // spread over the burst
			if p >= parts/2 {
				at = peak + secs(uniform(r, 0, 20)) // and the seconds after it
			}
			ep.steps = append(ep.steps, step{t: at, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
				lots := held[o] / int64(parts)
				if last {
					lots = held[o]
				}
				sold := g.marketOrder(s, t, ep.accts[o], detectors.Sell, lots, true)
				held[o] -= sold
				if sold > 0 {
					ep.mark(t)
				}
			}})
		}
	}
	decay := uniform(r, k.decaySecMin, k.decaySecMax)
	keep := uniform(r, 0.1, 0.3) // share of the rise left when the decay ends
	const decaySteps = 24
	for i := 1; i <= decaySteps; i++ {
		target := 1 + rise*(keep+(1-keep)*math.Exp(-4*float64(i)/decaySteps))
		at := peak + secs(decay*float64(i)/decaySteps)
		ep.steps = append(ep.steps, step{t: at, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			g.pumpLift(s, t, target/level)
			level = target
			// Late members panic out.
			b := crowd[g.rng.IntN(len(crowd))]
			g.marketOrder(s, t, b, detectors.Sell, g.pumpLots(s, 0.5), true)
		}})
	}
	sortSteps(ep)
	return ep
}

// planRally plans an honest, news-driven rally: many buyers over minutes, each order moving the
// price a little, no accumulation before and no dump after.
func (g *Generator) planRally(r *rand.Rand, k pumpKnobs, t0 detectors.Micros, sym int32) *episode {
	ep := &episode{kind: epRally, sym: sym}
	dur := 60 * uniform(r, k.rallyMinMin, k.rallyMinMax)
	rise := uniform(r, k.rallyRiseMin, k.rallyRiseMax)
	mean, _ := g.pumpBuysPerChunk(sym)
	// Extra buyers: one to three times the normal buy flow, for the whole rally.
	n := int(mean * uniform(r, 1, 3) * dur / pumpChunkSec)
	level := 1.0
	for i := 0; i < n; i++ {
		target := 1 + rise*float64(i+1)/float64(n)
		at := t0 + secs(dur*(float64(i)+r.Float64())/float64(n))
		buyer := g.roles.retail[r.IntN(len(g.roles.retail))]
		ep.steps = append(ep.steps, step{t: at, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			s.fair *= target / level
			level = target
			if g.marketOrder(s, t, buyer, detectors.Buy, g.pumpLots(s, 0.5), true) > 0 {
				ep.mark(t)
			}
		}})
	}
	return ep
}

// planWhaleBuys plans a whale buying a lot in three to five big market orders a few seconds
// apart, each lifting the price (the market makers re-quote higher): a steep rise with few rush
// orders.
func (g *Generator) planWhaleBuys(r *rand.Rand, t0 detectors.Micros, sym int32) *episode {
	w := g.whaleFree(r, t0, sym)
	if w < 0 {
		return nil
	}
	ep := &episode{kind: epWhaleBuys, sym: sym, accts: []int32{w}}
	n := 3 + r.IntN(3)
	t := t0
	for i := 0; i < n; i++ {
		lift := 1 + uniform(r, 0.003, 0.008)
		ep.steps = append(ep.steps, step{t: t, do: func(g *Generator, ep *episode, s *symState, t detectors.Micros) {
			if g.marketOrder(s, t, w, detectors.Buy, g.pumpLots(s, 8), true) > 0 {
				ep.mark(t)
			}
			g.pumpLift(s, t, lift)
		}})
		t += secs(uniform(r, 1, 6))
	}
	return ep
}
