package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// Summary describes a generated market.
type Summary struct {
	Preset   string
	Seed     uint64
	Start    detectors.Micros
	End      detectors.Micros
	Symbols  []string
	Events   int64
	Orders   int64
	Trades   int64
	Marks    int64
	Accounts int

	// Liquidations counts rows of the liquidations table (each also an order and its trades).
	Liquidations int64
	// Incidents counts labelled episodes by type; LookAlikes counts unlabelled look-alike episodes
	// by kind.
	Incidents  map[detectors.IncidentType]int
	LookAlikes map[string]int
	// MakerCancelRatio is cancels / new orders of the market makers.
	MakerCancelRatio float64
}

// Generator is a synthetic market ready to run. Accounts are known before Run (a detector needs
// them before the first event); labels after.
type Generator struct {
	cfg    Config
	p      preset
	start  detectors.Micros
	end    detectors.Micros
	rng    *rand.Rand
	syms   []*symState
	accts  []detectors.Account
	roles  roles
	heap   actionHeap
	seq    uint64
	eps    []*episode
	ran    bool
	labels []datasets.Incident

	// referrals are (referrer, referred) accounts: the referred account's Referrer is set to the
	// referrer's id once ids are assigned.
	referrals [][2]int32

	// p2, m2 and pl2: funding, impact, leverage and the episodes of the catalogue's second part
	// (market_part2.go, episodes_part2.go).
	p2  part2Preset
	m2  market2
	pl2 plan2

	nextOrderID, nextTradeID int64
	ev                       detectors.Event
	sink                     func(*detectors.Event) error
	err                      error
	sum                      Summary
	mmNew, mmCancel          int64
}

type roles struct {
	mm, retail, trend, whales, quoters []int32
	related                            [][2]int32
	isMM                               []bool
}

type symState struct {
	spec         SymbolSpec
	idx          int32
	pricePow     float64 // ticks per unit of price
	qtyPow       float64 // lots per unit of quantity
	fair         float64
	prem         float64 // perp premium over the index, as a fraction
	lastFair     detectors.Micros
	book         *book
	typicalLots  float64
	mms          [mmPerSymbol]int32
	slots        [mmPerSymbol][2][mmLevels]int64
	pos          []int64 // lots per account
	oi           int64
	baseOI       int64
	fairRing     [60]float64
	ringN        int
	premSum      float64
	premN        int
	rateMM       float64
	rateNoise    float64
	rateTrend    float64
	lastFunding  float64
	fundingKnown bool
	impact       float64 // log price impact of recent taker flow on the perpetual (market_part2.go)
	lastTrade    int64   // ticks of the last trade, 0 before the first
}

// New prepares a market: it checks the config, creates the accounts and plans the episodes.
func New(cfg Config) (*Generator, error) {
	p, err := presetByName(cfg.Preset)
	if err != nil {
		return nil, err
	}
	if cfg.Events < 0 {
		return nil, fmt.Errorf("events must be positive, got %d", cfg.Events)
	}
	if cfg.Events == 0 {
		cfg.Events = p.events
	}
	if cfg.Start.IsZero() {
		cfg.Start = DefaultStart
	}
	specs := KnownSymbols
	if len(cfg.Symbols) > 0 {
		specs = nil
		seen := map[string]bool{}
		for _, name := range cfg.Symbols {
			found := false
			for _, s := range KnownSymbols {
				if s.Name == name {
					specs, found = append(specs, s), true
				}
			}
			if !found {
				return nil, fmt.Errorf("unknown symbol %q (known: %s)", name, knownNames())
			}
			if seen[name] {
				return nil, fmt.Errorf("symbol %q listed twice", name)
			}
			seen[name] = true
		}
	}
	g := &Generator{
		cfg: cfg, p: p, p2: part2PresetFor(p.name), start: cfg.Start.UnixMicro(),
		rng:         rand.New(rand.NewPCG(cfg.Seed, 0x5eed0f5e7)),
		nextOrderID: 1, nextTradeID: 1,
	}
	activity := 0.0
	for _, s := range specs {
		activity += s.Activity
	}
	seconds := float64(cfg.Events) / (eventsPerActivitySec * activity)
	g.end = g.start + detectors.Micros(seconds*float64(detectors.Second))
	// Accounts and episodes come from their own random stream, so the plan does not depend on
	// the flow and the flow does not depend on the plan's draws.
	planRNG := rand.New(rand.NewPCG(cfg.Seed, 0x91a2b3c4))
	g.makeAccounts(planRNG)
	for i, spec := range specs {
		s := &symState{
			spec: spec, idx: int32(i), pricePow: pow10(spec.PriceDecimals), qtyPow: pow10(spec.QtyDecimals),
			fair: spec.Price, lastFair: g.start, book: newBook(),
			rateMM: mmRequotesPerSecond * spec.Activity, rateNoise: noiseOrdersPerSecond * spec.Activity,
			rateTrend: trendOrdersPerSecond * spec.Activity,
		}
		s.typicalLots = spec.TypicalQty * s.qtyPow
		s.baseOI = int64(s.typicalLots * 20000)
		// Each symbol gets mmPerSymbol of the market makers, rotating.
		for m := range s.mms {
			s.mms[m] = g.roles.mm[(i+m)%len(g.roles.mm)]
		}
		g.syms = append(g.syms, s)
	}
	g.planEpisodes(planRNG)
	g.assignIDs(planRNG)
	for _, s := range g.syms {
		s.pos = make([]int64, len(g.accts))
	}
	return g, nil
}

func knownNames() string {
	var s string
	for i, k := range KnownSymbols {
		if i > 0 {
			s += ", "
		}
		s += k.Name
	}
	return s
}

// Accounts returns the accounts table, sorted by account id.
func (g *Generator) Accounts() []detectors.Account {
	out := append([]detectors.Account(nil), g.accts...)
	sort.Slice(out, func(i, j int) bool { return out[i].AccountID < out[j].AccountID })
	return out
}

// AccountMap returns the accounts by id, as detectors.Env wants them.
func (g *Generator) AccountMap() map[string]detectors.Account {
	m := make(map[string]detectors.Account, len(g.accts))
	for _, a := range g.accts {
		m[a.AccountID] = a
	}
	return m
}

// Labels returns the labelled episodes, sorted by start then id; valid after Run.
func (g *Generator) Labels() []datasets.Incident { return g.labels }

// Start and End return the market's first and last instants.
func (g *Generator) Start() detectors.Micros { return g.start }
func (g *Generator) End() detectors.Micros   { return g.end }

// Run generates every event in order (non-decreasing ts; at one ts, in the order a matching
// engine would publish them) and passes each to sink, which must copy what it keeps: the event
// is reused. It stops at the first sink error. A Generator runs once.
func (g *Generator) Run(sink func(*detectors.Event) error) (Summary, error) {
	if g.ran {
		return Summary{}, fmt.Errorf("synth: Generator.Run called twice")
	}
	g.ran = true
	g.sink = sink
	g.sum = Summary{Preset: g.p.name, Seed: g.cfg.Seed, Start: g.start, End: g.end, Accounts: len(g.accts),
		Incidents: map[detectors.IncidentType]int{}, LookAlikes: map[string]int{}}
	for _, s := range g.syms {
		g.sum.Symbols = append(g.sum.Symbols, s.spec.Name)
		g.push(g.start, actMark, s.idx, 0, 0)
		g.push(g.start, actOpen, s.idx, 0, 0)
		g.push(g.start+g.expDelay(s.rateMM), actRequote, s.idx, 0, 0)
		g.push(g.start+g.expDelay(s.rateNoise), actNoise, s.idx, 0, 0)
		g.push(g.start+g.expDelay(s.rateTrend), actTrend, s.idx, 0, 0)
		g.startMarket2(s)
	}
	for i, ep := range g.eps {
		for j := range ep.steps {
			g.push(ep.steps[j].t, actStep, ep.sym, int32(i), int32(j))
		}
	}
	for g.heap.Len() > 0 && g.err == nil {
		a := g.heap.pop()
		if a.t > g.end {
			break
		}
		g.do(a)
	}
	if g.err != nil {
		return g.sum, g.err
	}
	g.finishLabels()
	if g.mmNew > 0 {
		g.sum.MakerCancelRatio = float64(g.mmCancel) / float64(g.mmNew)
	}
	return g.sum, nil
}

// ---------------------------------------------------------------------------------------------
// Scheduling

const (
	actMark uint8 = iota
	actOpen
	actRequote
	actNoise
	actTrend
	actStep
)

type action struct {
	t    detectors.Micros
	seq  uint64
	kind uint8
	sym  int32
	ep   int32
	step int32
}

// actionHeap is a binary min-heap by (t, seq): seq keeps equal times in scheduling order, so the
// run does not depend on the heap's internal layout.
type actionHeap []action

func (h actionHeap) Len() int { return len(h) }

func (h actionHeap) less(i, j int) bool {
	if h[i].t != h[j].t {
		return h[i].t < h[j].t
	}
	return h[i].seq < h[j].seq
}

func (h *actionHeap) push(a action) {
	*h = append(*h, a)
	i := len(*h) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			break
		}
		(*h)[i], (*h)[parent] = (*h)[parent], (*h)[i]
		i = parent
	}
}

func (h *actionHeap) pop() action {
	old := *h
	top := old[0]
	n := len(old) - 1
	old[0] = old[n]
	*h = old[:n]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h.less(l, m) {
			m = l
		}
		if r < n && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		(*h)[i], (*h)[m] = (*h)[m], (*h)[i]
		i = m
	}
	return top
}

func (g *Generator) push(t detectors.Micros, kind uint8, sym, ep, step int32) {
	g.seq++
	g.heap.push(action{t: t, seq: g.seq, kind: kind, sym: sym, ep: ep, step: step})
}

// expDelay draws a Poisson process's next gap for a rate per second, at least 1 µs.
func (g *Generator) expDelay(rate float64) detectors.Micros {
	d := detectors.Micros(g.rng.ExpFloat64() / rate * float64(detectors.Second))
	if d < 1 {
		d = 1
	}
	return d
}

func (g *Generator) do(a action) {
	s := g.syms[a.sym]
	g.updateFair(s, a.t)
	switch a.kind {
	case actMark:
		g.mark(s, a.t)
		g.push(a.t+markInterval, actMark, a.sym, 0, 0)
	case actOpen:
		for m := range s.mms {
			for side := 0; side < 2; side++ {
				for k := 0; k < mmLevels; k++ {
					g.requoteSlot(s, a.t, m, side, k)
				}
			}
		}
	case actRequote:
		g.requoteSlot(s, a.t, g.rng.IntN(mmPerSymbol), g.rng.IntN(2), g.rng.IntN(mmLevels))
		g.push(a.t+g.expDelay(s.rateMM), actRequote, a.sym, 0, 0)
	case actNoise:
		side := detectors.Buy
		if g.rng.IntN(2) == 0 {
			side = detectors.Sell
		}
		acct := g.roles.retail[g.rng.IntN(len(g.roles.retail))]
		g.marketOrder(s, a.t, acct, side, g.sizeLots(s, -0.3, 0.8), true)
		g.push(a.t+g.expDelay(s.rateNoise), actNoise, a.sym, 0, 0)
	case actTrend:
		side := g.trendSide(s)
		acct := g.roles.trend[g.rng.IntN(len(g.roles.trend))]
		g.marketOrder(s, a.t, acct, side, g.sizeLots(s, 0.3, 0.5), true)
		g.push(a.t+g.expDelay(s.rateTrend), actTrend, a.sym, 0, 0)
	case actStep:
		ep := g.eps[a.ep]
		ep.steps[a.step].do(g, ep, s, a.t)
	default:
		g.doMarket2(a, s)
	}
}

// ---------------------------------------------------------------------------------------------
// Prices

// updateFair moves the fair price (geometric random walk) and the premium (mean-reverting) to t.
func (g *Generator) updateFair(s *symState, t detectors.Micros) {
	dt := float64(t-s.lastFair) / float64(detectors.Second)
	if dt <= 0 {
		return
	}
	s.lastFair = t
	sigma := s.spec.VolBPPerSqrtSecond * 1e-4
	s.fair *= math.Exp(sigma * math.Sqrt(dt) * g.rng.NormFloat64())
	// Ornstein-Uhlenbeck premium: 10-minute mean reversion, about 3 bp stationary deviation.
	const theta, sd = 1.0 / 600, 3e-4
	decay := math.Exp(-theta * dt)
	s.prem = s.prem*decay + sd*math.Sqrt(1-decay*decay)*g.rng.NormFloat64()
	g.decayImpact(s, dt)
}

func (s *symState) ticks(price float64) int64 { return int64(math.Round(price * s.pricePow)) }
func (s *symState) price(ticks int64) float64 { return float64(ticks) / s.pricePow }
func (s *symState) qty(lots int64) float64    { return float64(lots) / s.qtyPow }

// sizeLots draws a log-normal size in lots: typical · exp(mu + sigma·N), at least one lot.
func (g *Generator) sizeLots(s *symState, mu, sigma float64) int64 {
	l := int64(math.Round(s.typicalLots * math.Exp(mu+sigma*g.rng.NormFloat64())))
	if l < 1 {
		l = 1
	}
	return l
}

// uniformLots draws typical · U(lo, hi) lots, at least one.
func (g *Generator) uniformLots(s *symState, lo, hi float64) int64 {
	l := int64(math.Round(s.typicalLots * (lo + (hi-lo)*g.rng.Float64())))
	if l < 1 {
		l = 1
	}
	return l
}

func (g *Generator) trendSide(s *symState) detectors.Side {
	side := detectors.Buy
	if s.ringN >= len(s.fairRing) {
		past := s.fairRing[s.ringN%len(s.fairRing)]
		if s.fair < past {
			side = detectors.Sell
		}
		if g.rng.Float64() < 0.3 {
			side = -side
		}
	} else if g.rng.IntN(2) == 0 {
		side = detectors.Sell
	}
	return side
}

func (g *Generator) mark(s *symState, t detectors.Micros) {
	s.fairRing[s.ringN%len(s.fairRing)] = s.fair
	s.ringN++
	markTicks, index := g.markAndIndex(s)
	s.premSum += s.price(markTicks)/index - 1
	s.premN++
	ev := g.event(s, t, detectors.KindMark)
	ev.Mark = detectors.Mark{
		MarkPrice: s.price(markTicks), IndexPrice: index,
		OpenInterest: s.qty(s.baseOI + s.oi), HasOpenInterest: true,
	}
	// Funding settles every preset interval of UTC: the rate is the period's mean premium plus
	// the interest component, clamped as venues do.
	if g.isSettlement(t) {
		rate := 1e-4
		if s.premN > 0 {
			rate += s.premSum / float64(s.premN)
		}
		rate = math.Max(-0.0075, math.Min(0.0075, rate))
		ev.Mark.FundingRate, ev.Mark.HasFunding = math.Round(rate*1e8)/1e8, true
		s.premSum, s.premN = 0, 0
	}
	g.send()
	g.sum.Marks++
	g.checkLiquidations(s, t, markTicks)
}

// ---------------------------------------------------------------------------------------------
// Orders and matching

func (g *Generator) event(s *symState, t detectors.Micros, k detectors.Kind) *detectors.Event {
	g.ev = detectors.Event{TS: t, Symbol: s.spec.Name, Kind: k}
	return &g.ev
}

func (g *Generator) send() {
	if g.err != nil {
		return
	}
	g.sum.Events++
	if err := g.sink(&g.ev); err != nil {
		g.err = err
	}
}

func (g *Generator) orderEvent(s *symState, t detectors.Micros, acct int32, id int64, e detectors.OrderEvent,
	side detectors.Side, typ detectors.OrderType, priceTicks, qtyLots, leavesLots int64, postOnly bool) {
	ev := g.event(s, t, detectors.KindOrder)
	ev.Order = detectors.Order{
		Account: g.accts[acct].AccountID, OrderID: id, Event: e, Side: side, Type: typ,
		Price: s.price(priceTicks), Qty: s.qty(qtyLots), LeavesQty: s.qty(leavesLots), PostOnly: postOnly,
		ReduceOnly: g.m2.forced && typ == detectors.Market, // a liquidation order
	}
	g.send()
	g.sum.Orders++
	if g.roles.isMM[acct] {
		switch e {
		case detectors.OrderNew:
			g.mmNew++
		case detectors.OrderCancel:
			g.mmCancel++
		}
	}
}

// placeLimit rests a limit order. A price that would cross the book is moved one tick behind the
// opposite best (the venue's post-only slide), so a placed order never trades on arrival.
func (g *Generator) placeLimit(s *symState, t detectors.Micros, acct int32, side detectors.Side, price, lots int64) *bookOrder {
	if opp, ok := s.book.best(-side); ok && !ahead(side, opp, price) {
		price = opp - int64(side)
	}
	if price <= 0 || lots <= 0 {
		return nil
	}
	o := &bookOrder{id: g.nextOrderID, acct: acct, side: side, price: price, qty: lots, leaves: lots}
	g.nextOrderID++
	g.orderEvent(s, t, acct, o.id, detectors.OrderNew, side, detectors.Limit, price, lots, lots, true)
	s.book.insert(o)
	return o
}

// cancel cancels a resting order; it does nothing if the order has gone (filled or cancelled).
func (g *Generator) cancel(s *symState, t detectors.Micros, id int64) {
	o := s.book.byID[id]
	if o == nil {
		return
	}
	s.book.remove(o)
	g.orderEvent(s, t, o.acct, o.id, detectors.OrderCancel, o.side, detectors.Limit, o.price, o.qty, 0, true)
}

// marketOrder sends a market order of lots and matches it against the book, best price first,
// first in first out. With capDepth the size is capped at 80% of the opposite side's depth, so
// ordinary flow never empties a side. It returns the lots filled.
func (g *Generator) marketOrder(s *symState, t detectors.Micros, acct int32, side detectors.Side, lots int64, capDepth bool) int64 {
	if capDepth {
		if max := s.book.depth(-side) * 8 / 10; lots > max {
			lots = max
		}
	}
	if lots <= 0 {
		return 0
	}
	id := g.nextOrderID
	g.nextOrderID++
	g.orderEvent(s, t, acct, id, detectors.OrderNew, side, detectors.Market, 0, lots, lots, false)
	leaves := lots
	opp := s.book.side(-side)
	for leaves > 0 && len(*opp) > 0 {
		m := (*opp)[0]
		q := min(leaves, m.leaves)
		m.leaves -= q
		leaves -= q
		g.orderEvent(s, t, m.acct, m.id, detectors.OrderFill, m.side, detectors.Limit, m.price, q, m.leaves, true)
		g.orderEvent(s, t, acct, id, detectors.OrderFill, side, detectors.Market, m.price, q, leaves, false)
		g.onFill(s, side, m.price, q)
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
		g.orderEvent(s, t, acct, id, detectors.OrderExpire, side, detectors.Market, 0, lots, 0, false)
	}
	return lots - leaves
}

// move changes an account's position and the open interest (the sum of long positions).
func (g *Generator) move(s *symState, acct int32, delta int64) {
	before := max(s.pos[acct], 0)
	s.pos[acct] += delta
	s.oi += max(s.pos[acct], 0) - before
}

// requoteSlot cancels a market maker's quote at one level and places a fresh one around the
// current fair price.
func (g *Generator) requoteSlot(s *symState, t detectors.Micros, m, sideIdx, level int) {
	side := detectors.Buy
	if sideIdx == 1 {
		side = detectors.Sell
	}
	if id := s.slots[m][sideIdx][level]; id != 0 {
		g.cancel(s, t, id)
	}
	bp := (mmHalfSpreadBP + float64(level)*mmLevelGapBP + 0.3*g.rng.Float64()) * 1e-4
	var price int64
	if side == detectors.Buy {
		price = int64(math.Floor(s.fair * (1 - bp) * s.pricePow))
	} else {
		price = int64(math.Ceil(s.fair * (1 + bp) * s.pricePow))
	}
	o := g.placeLimit(s, t, s.mms[m], side, price, g.sizeLots(s, 0, 0.4))
	s.slots[m][sideIdx][level] = 0
	if o != nil {
		s.slots[m][sideIdx][level] = o.id
	}
}

// insidePrice returns a price strictly inside the spread, if the spread is at least two ticks.
func (g *Generator) insidePrice(s *symState) (int64, bool) {
	bid, okB := s.book.best(detectors.Buy)
	ask, okA := s.book.best(detectors.Sell)
	if !okB || !okA || ask-bid < 2 {
		return 0, false
	}
	return bid + 1 + g.rng.Int64N(ask-bid-1), true
}

// touch returns the best price of a side, or one tick off the opposite best if the side is empty.
func (g *Generator) touch(s *symState, side detectors.Side) (int64, bool) {
	if p, ok := s.book.best(side); ok {
		return p, true
	}
	if p, ok := s.book.best(-side); ok {
		return p - int64(side), true
	}
	return 0, false
}
