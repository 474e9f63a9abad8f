// Package funding is the funding_manipulation detector: trades concentrated in the minutes
// before a funding (or settlement) timestamp that move the mark price, and so the funding rate,
// in favour of the account's position — marking the close.
//
// # Definition
//
// A settlement T of a symbol is a mark that carries a funding rate (with `settlement_interval`
// 0, the default), or every multiple of `settlement_interval` seconds since the epoch. The push
// window is P = (T − `pre_window`, T], the trade-back window A = (T, T + `post_window`]. For each
// owner (owner_group from the accounts table, or the account) and side d with taker executions
// in P:
//
//	q         its taker quantity of side d in P; typical = the symbol's typical aggressive order
//	          size (EWMA of log qty over taker orders, half-life `typical_halflife` orders)
//	position  its net position (package detectors/internal/positions: net of its trades,
//	          forgotten after `position_horizon` without trading) at the start of P and at T
//	favour    funding (mark_to_market 0): a push up (d = buy) raises the mark, the premium over
//	          the index and so the funding rate, which shorts receive: the position must be short
//	          (opposite to d) by at least `min_position_ratio` typical sizes at the start of P and
//	          at T. Mark to market (mark_to_market 1): the push marks the position up, so it must
//	          be on side d at both times. Otherwise the owner and side are not scored.
//	impact    the push's effect on the mark, in bp in the direction d: for every instant the owner
//	          traded in P, the first mark after it against the last mark before it (marks come
//	          about once a second, so each difference holds little besides the order itself),
//	          summed
//	market    q / all taker quantity of side d in P
//	activity  q / all the owner's executions in (T − `activity_window`, T]: trading concentrated
//	          just before T rather than spread over the half hour
//	back      min(1, its executions of side −d in A / q): the push traded back afterwards
//
// and the score is
//
//	score = (size · share · held · push · conc)^(1/5) · (1 − unwind_weight + unwind_weight · back)
//	size  = 1 − exp(−q/typical / size_scale)          share = 1 − exp(−market / share_scale)
//	held  = 1 − exp(−|position at T|/typical / position_scale)
//	push  = 1 − exp(−impact / move_scale_bp)          conc  = 1 − exp(−activity / activity_scale)
//
// A trader with no position, or whose push costs its own position, or who closed its position
// before T, is not scored; a busy trader is held back by its small share and concentration; a
// hedger who reduces its position before T and keeps it so, by the trade-back term.
//
// The settlement is scored at the symbol's first event at or after T + post_window (or at the
// end of the input); every owner and side above 0 gives one alert; min_score only filters them.
// Accounts: the owner's accounts that pushed. Window: the owner's first push trade to its last
// trade-back (or T). Evidence: up to 100 trade ids and order ids of the push; features push_qty,
// typical_qty, position, position_before, mark_impact_bp, premium_move_bp (the premium's change
// from just before the push to T), market_share, activity_share, traded_back, mark, funding_rate.
//
// # State
//
// Per symbol: the trades and marks of the last max(pre_window, activity_window) + post_window
// seconds (at most `max_window_trades` trades, the oldest dropped beyond), the settlements waiting
// to be scored; the typical order size; the positions tracker (accounts active within
// position_horizon, at most `max_accounts`).
//
// # Groups
//
// A group of configurations (a sweep, detectors.Spec.NewGroup) keeps all of that state once per
// distinct value of the parameters it depends on (pre_window, post_window, activity_window,
// settlement_interval, position_horizon, typical_halflife, max_window_trades, max_accounts), and
// gathers a settlement's pushes, positions and mark impacts once for them; mark_to_market,
// min_position_ratio and the scales and weights of the score are per configuration. A single
// instance is a group of one.
package funding

import (
	"math"
	"slices"
	"sort"

	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/detectors/internal/positions"
)

// Name is the detector's registry name.
const Name = "funding_manipulation"

// maxEvidence caps the trade ids kept per alert.
const maxEvidence = 100

func init() {
	detectors.Register(detectors.Spec{
		Name:    Name,
		Type:    detectors.FundingManipulation,
		Summary: "trades concentrated before a funding or settlement timestamp that move the mark in favour of the account's position",
		Doc: "At each settlement T (a mark carrying a funding rate, or multiples of settlement_interval): owners with taker " +
			"executions of one side in the pre_window before T whose position before and at T gains from that push (funding: " +
			"opposite side; mark_to_market: same side). Score (size·share·held·push·conc)^(1/5)·(1−w+w·back): push size, share of " +
			"the window's taker flow, position held at T, the push's impact on the mark, concentration of the owner's trading just " +
			"before T, and the share traded back within post_window.",
		Needs:           []detectors.Kind{detectors.KindTrade, detectors.KindMark},
		NeedsAccounts:   true,
		DefaultMinScore: 0.5,
		Params: []detectors.ParamSpec{
			{Name: "pre_window", Default: 120, Min: 1, Max: 86400, Unit: "s", Doc: "trades this long before a settlement are the push"},
			{Name: "post_window", Default: 120, Min: 0, Max: 86400, Unit: "s", Doc: "trading back up to this after the settlement counts; the settlement is scored then"},
			{Name: "activity_window", Default: 1800, Min: 1, Max: 86400, Unit: "s", Doc: "the owner's trading over this long before a settlement is what its push is compared with"},
			{Name: "settlement_interval", Default: 0, Min: 0, Max: 30 * 86400, Unit: "s", Doc: "settlements every multiple of this since the epoch (0: the marks that carry a funding rate)"},
			{Name: "mark_to_market", Default: 0, Min: 0, Max: 1, Bool: true, Unit: "bool", Doc: "0: funding (the push raises the funding the position receives); 1: a settlement price (the push marks the position up)"},
			{Name: "size_scale", Default: 10, Min: 0.01, Max: 1e6, Unit: "ratio", Doc: "push, in typical aggressive order sizes, at which the size term reaches 1-1/e"},
			{Name: "activity_scale", Default: 0.2, Min: 0.0001, Max: 1, Unit: "ratio", Doc: "the push's share of the owner's own trading in the activity window at which the concentration term reaches 1-1/e"},
			{Name: "share_scale", Default: 0.05, Min: 0.0001, Max: 1, Unit: "ratio", Doc: "the push's share of all taker flow of its side in the window at which the share term reaches 1-1/e"},
			{Name: "move_scale_bp", Default: 10, Min: 0.01, Max: 10000, Unit: "bp", Doc: "mark impact of the push at which the push term reaches 1-1/e"},
			{Name: "position_scale", Default: 10, Min: 0.01, Max: 1e6, Unit: "ratio", Doc: "position at the settlement, in typical aggressive order sizes, at which the held term reaches 1-1/e"},
			{Name: "min_position_ratio", Default: 1, Min: 0, Max: 1e6, Unit: "ratio", Doc: "smallest position, in typical aggressive order sizes, that counts as held (before the push and at the settlement)"},
			{Name: "unwind_weight", Default: 0.5, Min: 0, Max: 1, Unit: "ratio", Doc: "weight of trading the push back after the settlement (0: ignore it)"},
			{Name: "position_horizon", Default: 3600, Min: 1, Max: 30 * 86400, Unit: "s", Doc: "a position is forgotten after the account has not traded the symbol for this long"},
			{Name: "typical_halflife", Default: 500, Min: 1, Max: 1e7, Unit: "count", Doc: "half-life, in aggressive orders, of the typical aggressive order size's EWMA"},
			{Name: "max_window_trades", Default: 200000, Min: 1, Max: 1e8, Integer: true, Unit: "count", Doc: "cap on the trades kept per symbol"},
			{Name: "max_accounts", Default: 1000000, Min: 1, Max: 1e9, Integer: true, Unit: "count", Doc: "cap on (symbol, account) positions tracked"},
		},
		NewGroup: newGroup,
	})
}

type trade struct {
	ts           detectors.Micros
	id           int64
	taker, maker string
	takerOrd     int64
	side         detectors.Side
	qty          float64
}

type mark struct {
	ts                       detectors.Micros
	price, index, rate       float64
	hasRate                  bool
	premium                  float64
	validPremium, settlement bool
}

type settlement struct {
	t    detectors.Micros
	mark mark
}

type symbol struct {
	trades  []trade
	head    int
	marks   []mark
	mhead   int
	pending []settlement
	next    detectors.Micros // next interval settlement (settlement_interval > 0)
}

// scoring is the part of a configuration that only decides and shapes the score of a
// settlement's pushes: it is kept per configuration of a group.
type scoring struct {
	config                    int // index in the group
	mtm                       bool
	sizeScale, moveScale      float64
	shareScale, activityScale float64
	posScale, unwindWeight    float64
	minPosition               float64
}

// detector is the state of the configurations sharing the parameters it depends on (a layer of
// a group), and their scorings.
type detector struct {
	pre, post, interval, span detectors.Micros
	activity                  detectors.Micros
	scorings                  []scoring
	maxTrades                 int
	owner                     map[string]string
	symbols                   map[string]*symbol
	tracker                   *positions.Tracker
	typical                   *positions.OrderSizes
	now                       detectors.Micros
	droppedTrades             int64
}

// stateKey is the values of the parameters a layer's state depends on.
type stateKey struct {
	pre, post, interval, activity, horizon detectors.Micros
	halflife                               float64
	maxTrades, maxAccounts                 int
}

// group is the layers of a group of configurations, in the order of their first configuration.
type group = detectors.Layered[*detector]

func newGroup(ps []detectors.Params, env detectors.Env) (detectors.Group, error) {
	owner := map[string]string{}
	for id, a := range env.Accounts {
		if a.OwnerGroup != "" {
			owner[id] = a.OwnerGroup
		}
	}
	layerOf, n := detectors.Layers(len(ps), func(i int) stateKey {
		p := ps[i]
		return stateKey{
			pre: p.Duration("pre_window"), post: p.Duration("post_window"), interval: p.Duration("settlement_interval"),
			activity: p.Duration("activity_window"), horizon: p.Duration("position_horizon"),
			halflife: p.Get("typical_halflife"), maxTrades: p.Int("max_window_trades"), maxAccounts: p.Int("max_accounts"),
		}
	})
	g := &group{Layers: make([]*detector, n)}
	for i, p := range ps {
		d := g.Layers[layerOf[i]]
		if d == nil {
			d = &detector{
				pre: p.Duration("pre_window"), post: p.Duration("post_window"), interval: p.Duration("settlement_interval"),
				activity: p.Duration("activity_window"), maxTrades: p.Int("max_window_trades"),
				owner: owner, symbols: map[string]*symbol{},
				tracker: positions.NewTracker(p.Duration("position_horizon"), p.Int("max_accounts")),
				typical: positions.NewOrderSizes(p.Get("typical_halflife")),
			}
			d.span = max(d.pre, d.activity) + d.post + detectors.Second
			g.Layers[layerOf[i]] = d
		}
		d.scorings = append(d.scorings, scoring{
			config: i, mtm: p.Bool("mark_to_market"), sizeScale: p.Get("size_scale"), moveScale: p.Get("move_scale_bp"),
			shareScale: p.Get("share_scale"), activityScale: p.Get("activity_scale"),
			posScale: p.Get("position_scale"), unwindWeight: p.Get("unwind_weight"),
			minPosition: p.Get("min_position_ratio"),
		})
	}
	return g, nil
}

func (d *detector) ownerOf(account string) string {
	if g := d.owner[account]; g != "" {
		return g
	}
	return account
}

func (d *detector) sym(name string) *symbol {
	s := d.symbols[name]
	if s == nil {
		s = &symbol{}
		d.symbols[name] = s
	}
	return s
}

func (d *detector) OnEvent(ev *detectors.Event, emit detectors.GroupEmit) {
	d.now = max(d.now, ev.TS)
	if ev.Kind != detectors.KindTrade && ev.Kind != detectors.KindMark {
		if s := d.symbols[ev.Symbol]; s != nil {
			d.due(ev.Symbol, s, ev.TS, emit)
		}
		return
	}
	s := d.sym(ev.Symbol)
	if d.interval > 0 {
		if s.next == 0 {
			s.next = (ev.TS/d.interval + 1) * d.interval
		}
		for ev.TS >= s.next {
			// The settlement's mark is the last one at or before it.
			st := settlement{t: s.next}
			if n := len(s.marks); n > s.mhead {
				st.mark = s.marks[n-1]
			}
			s.pending = append(s.pending, st)
			s.next += d.interval
		}
	}
	d.due(ev.Symbol, s, ev.TS-1, emit)
	switch ev.Kind {
	case detectors.KindTrade:
		t := &ev.Trade
		if positions.Valid(t) {
			d.typical.Add(ev.TS, ev.Symbol, t)
			d.tracker.OnTrade(ev.TS, ev.Symbol, t)
			s.trades = append(s.trades, trade{ts: ev.TS, id: t.TradeID, taker: t.TakerAccount, maker: t.MakerAccount,
				takerOrd: t.TakerOrderID, side: t.TakerSide, qty: t.Qty})
		}
	case detectors.KindMark:
		m := &ev.Mark
		mk := mark{ts: ev.TS, price: m.MarkPrice, index: m.IndexPrice, rate: m.FundingRate, hasRate: m.HasFunding}
		if mk.price > 0 && mk.index > 0 && !math.IsInf(mk.price, 0) && !math.IsInf(mk.index, 0) {
			mk.premium, mk.validPremium = mk.price/mk.index-1, true
		}
		s.marks = append(s.marks, mk)
		if d.interval == 0 && m.HasFunding {
			s.pending = append(s.pending, settlement{t: ev.TS, mark: mk})
		}
	}
	d.trim(s, ev.TS)
	d.due(ev.Symbol, s, ev.TS, emit)
}

// trim forgets trades and marks older than every window a settlement still to come or waiting
// may need, and the oldest trades beyond max_window_trades.
func (d *detector) trim(s *symbol, now detectors.Micros) {
	keep := now - d.span
	for _, st := range s.pending {
		keep = min(keep, st.t-max(d.pre, d.activity)-detectors.Second)
	}
	for s.head < len(s.trades) && (s.trades[s.head].ts < keep || len(s.trades)-s.head > d.maxTrades) {
		if s.trades[s.head].ts >= keep {
			d.droppedTrades++
		}
		s.head++
	}
	// Keep one mark at or before the horizon: it is the premium at the start of a window.
	for s.mhead+1 < len(s.marks) && s.marks[s.mhead+1].ts <= keep {
		s.mhead++
	}
	if s.head > 1024 && s.head*2 > len(s.trades) {
		s.trades = append(s.trades[:0], s.trades[s.head:]...)
		s.head = 0
	}
	if s.mhead > 1024 && s.mhead*2 > len(s.marks) {
		s.marks = append(s.marks[:0], s.marks[s.mhead:]...)
		s.mhead = 0
	}
}

// due scores the settlements whose trade-back window ended at or before now.
func (d *detector) due(name string, s *symbol, now detectors.Micros, emit detectors.GroupEmit) {
	n := 0
	for n < len(s.pending) && s.pending[n].t+d.post <= now {
		d.score(name, s, s.pending[n], now, emit)
		n++
	}
	if n > 0 {
		s.pending = append(s.pending[:0], s.pending[n:]...)
	}
}

// premiumAt returns the premium of the last mark at or before t.
func (s *symbol) premiumAt(t detectors.Micros) (float64, bool) {
	for i := len(s.marks) - 1; i >= s.mhead; i-- {
		if s.marks[i].ts <= t {
			return s.marks[i].premium, s.marks[i].validPremium
		}
	}
	return 0, false
}

type push struct {
	owner              string
	side               detectors.Side
	accounts           []string
	q, back            float64
	volume             float64 // all the owner's executions in the activity window
	first, lastBack    detectors.Micros
	tradeIDs, orderIDs []int64
	orderTS            []detectors.Micros // ts of each push order (first trade), for the mark impact
}

func (d *detector) score(name string, s *symbol, st settlement, now detectors.Micros, emit detectors.GroupEmit) {
	T := st.t
	typical, ok := d.typical.Get(name)
	if !ok || !(typical > 0) {
		return
	}
	premT, okT := st.mark.premium, st.mark.validPremium
	if !okT {
		premT, okT = s.premiumAt(T)
	}
	if !okT {
		return
	}
	type key struct {
		owner string
		side  detectors.Side
	}
	pushes := map[key]*push{}
	var keys []key
	var flow [3]float64 // all taker quantity in P by side (index side+1)
	for i := s.head; i < len(s.trades); i++ {
		t := &s.trades[i]
		if t.ts <= T-d.pre || t.ts > T {
			continue
		}
		flow[t.side+1] += t.qty
		if t.taker == "" || t.taker == t.maker {
			continue
		}
		k := key{d.ownerOf(t.taker), t.side}
		p := pushes[k]
		if p == nil {
			p = &push{owner: k.owner, side: k.side, first: t.ts}
			pushes[k] = p
			keys = append(keys, k)
		}
		p.q += t.qty
		p.accounts = append(p.accounts, t.taker)
		if n := len(p.orderTS); n == 0 || p.orderTS[n-1] != t.ts {
			p.orderTS = append(p.orderTS, t.ts)
		}
		if len(p.tradeIDs) < maxEvidence {
			p.tradeIDs = append(p.tradeIDs, t.id)
			if t.takerOrd != 0 && (len(p.orderIDs) == 0 || p.orderIDs[len(p.orderIDs)-1] != t.takerOrd) {
				p.orderIDs = append(p.orderIDs, t.takerOrd)
			}
		}
	}
	if len(keys) == 0 {
		return
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].owner != keys[j].owner {
			return keys[i].owner < keys[j].owner
		}
		return keys[i].side < keys[j].side
	})
	// One pass over the window for every account that pushed: its trading in the activity
	// window, its net trades after T − pre_window and after T (to take its current position back
	// to those times) and what it traded after T, by side.
	type tally struct {
		volume, afterP, afterT float64
		backBuy, backSell      float64
		lastBuy, lastSell      detectors.Micros
	}
	tallies := map[string]*tally{}
	for _, k := range keys {
		p := pushes[k]
		p.accounts = uniqueStrings(p.accounts)
		for _, a := range p.accounts {
			if tallies[a] == nil {
				tallies[a] = &tally{}
			}
		}
	}
	for i := s.head; i < len(s.trades); i++ {
		t := &s.trades[i]
		if t.taker == t.maker {
			continue
		}
		for _, leg := range [2]struct {
			account string
			side    detectors.Side
		}{{t.taker, t.side}, {t.maker, -t.side}} {
			c := tallies[leg.account]
			if c == nil {
				continue
			}
			signed := float64(leg.side) * t.qty
			if t.ts > T-d.activity && t.ts <= T {
				c.volume += t.qty
			}
			if t.ts > T-d.pre {
				c.afterP += signed
			}
			if t.ts > T {
				c.afterT += signed
				if t.ts <= T+d.post {
					if leg.side == detectors.Buy {
						c.backBuy += t.qty
						c.lastBuy = t.ts
					} else {
						c.backSell += t.qty
						c.lastSell = t.ts
					}
				}
			}
		}
	}
	for _, k := range keys {
		p := pushes[k]
		// Positions at T and when P opened: the current ones less what was traded since.
		var posT, pos0 float64
		for _, a := range p.accounts {
			c := tallies[a]
			now := d.tracker.Position(name, a)
			posT += now - c.afterT
			pos0 += now - c.afterP
			p.volume += c.volume
			if p.side == detectors.Buy {
				p.back += c.backSell
				p.lastBack = max(p.lastBack, c.lastSell)
			} else {
				p.back += c.backBuy
				p.lastBack = max(p.lastBack, c.lastBuy)
			}
		}
		// The premium's move over the owner's own push: from just before its first push trade to T.
		moveBP := math.NaN()
		if prem0, ok := s.premiumAt(p.first - 1); ok {
			moveBP = (premT - prem0) * 1e4
		}
		market := p.q / flow[p.side+1]
		activity := p.q / math.Max(p.volume, p.q)
		back := math.Min(1, p.back/p.q)
		end := max(T, p.lastBack)
		impactBP, impactKnown := 0.0, false
		// The evidence does not depend on the configuration: built for the first that alerts,
		// shared by the others (read-only, detectors.Group).
		var evidence *detectors.Evidence
		for _, sc := range d.scorings {
			gaining := -float64(p.side) // funding: the position gains from a push against it
			if sc.mtm {
				gaining = float64(p.side)
			}
			if floor := math.Max(sc.minPosition*typical, 1e-9); !(gaining*posT >= floor && gaining*pos0 >= floor) {
				continue
			}
			if !impactKnown {
				impactBP, impactKnown = d.markImpact(s, p), true
			}
			held := positions.Squash(math.Abs(posT)/typical, sc.posScale)
			size := positions.Squash(p.q/typical, sc.sizeScale)
			pushTerm := positions.Squash(impactBP, sc.moveScale)
			score := math.Pow(size*positions.Squash(market, sc.shareScale)*held*pushTerm*positions.Squash(activity, sc.activityScale), 0.2) * (1 - sc.unwindWeight + sc.unwindWeight*back)
			if !(score > 0) {
				continue
			}
			if evidence == nil {
				evidence = &detectors.Evidence{
					TradeIDs: slices.Clip(p.tradeIDs), OrderIDs: slices.Clip(p.orderIDs),
					Features: map[string]float64{
						"push_qty": p.q, "typical_qty": typical, "position": posT, "position_before": pos0,
						"premium_move_bp": moveBP, "mark_impact_bp": impactBP, "traded_back": back,
						"mark": st.mark.price, "funding_rate": st.mark.rate, "activity_share": activity, "market_share": market,
					},
				}
			}
			// Each alert has its own accounts: the gate sorts them in place.
			emit(sc.config, detectors.Alert{
				Symbol: name, Accounts: append([]string(nil), p.accounts...), TS: now, WindowStart: p.first, WindowEnd: end, Score: score,
				Evidence: *evidence,
			})
		}
	}
}

// markImpact is what the owner's push orders did to the mark, in bp in the push's direction:
// for each instant it traded, the mark just after it against the mark just before it, summed.
// Marks come about once a second, so each difference holds little besides the order itself.
func (d *detector) markImpact(s *symbol, p *push) float64 {
	var sum float64
	j := s.mhead
	for _, ts := range p.orderTS {
		for j < len(s.marks) && s.marks[j].ts <= ts {
			j++
		}
		if j == s.mhead || j >= len(s.marks) {
			continue
		}
		before, after := s.marks[j-1].price, s.marks[j].price
		if before > 0 && after > 0 && !math.IsInf(before, 0) && !math.IsInf(after, 0) {
			sum += float64(p.side) * (after - before) / before * 1e4
		}
	}
	return sum
}

func uniqueStrings(xs []string) []string {
	sort.Strings(xs)
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// Flush scores the settlements still waiting, at the last event seen.
func (d *detector) Flush(emit detectors.GroupEmit) {
	names := make([]string, 0, len(d.symbols))
	for n := range d.symbols {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := d.symbols[n]
		for _, st := range s.pending {
			d.score(n, s, st, d.now, emit)
		}
		s.pending = nil
	}
}
