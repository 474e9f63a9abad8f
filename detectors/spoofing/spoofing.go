// Package spoofing is the spoofing detector: a large resting limit order, placed near the touch
// to move other traders, cancelled soon after placement while the same account executes on the
// opposite side.
//
// # Definition
//
// The detector rebuilds each symbol's resting limit orders from the orders table (new, amend,
// fill, cancel, expire, reject and leaves_qty) and keeps, per symbol, the typical order size:
// exp of an EWMA (half-life `typical_halflife` orders) of log(qty) over new limit orders, each
// value clipped at min_size_ratio·typical so that the large orders it looks for do not inflate it.
// A new limit order of side S, quantity q and price p becomes a candidate when, with the book as
// it was just before it (touch = best price on side S; when S's side is empty, the opposite best):
//
//   - at least `warmup_orders` limit orders of the symbol have been seen;
//   - size_ratio  = q / typical ≥ min_size_ratio, and q·p ≥ min_order_notional;
//   - depth_ratio = q / (quantity resting on side S within depth_band_bp of the touch) ≥
//     min_depth_ratio (an empty band counts as infinitely deep in q's favour);
//   - it does not cross the spread, and it rests at most max_distance_bp behind the touch;
//   - the account does not quote two-sided: its own quantity resting on the other side within
//     depth_band_bp of that side's touch is below max_two_sided_ratio·q. Limit orders it places
//     on the other side while the candidate rests are added to that quantity, and the candidate
//     is dropped once the sum reaches max_two_sided_ratio·q (a market maker posting its bid a
//     moment before its ask is still two-sided).
//
// A candidate is judged at the symbol's first event more than grace seconds after it was
// cancelled (cancel or expire). It is a spoof when it was cancelled within max_lifetime seconds
// of placement with at most max_filled_fraction of q filled, and the account executed (as maker or
// taker, from the trades table) on the opposite side between placement and grace seconds after
// the cancel, at least min_opposite_ratio·typical in quantity. Its score is
//
//	size     = 1 − exp(−size_ratio / size_scale)
//	life     = 1 − lifetime / (2·max_lifetime)            (1 at once, 0.5 at max_lifetime)
//	opposite = 1 − exp(−opposite_qty / typical)
//	score    = (size · life · opposite)^(1/3)
//
// The spoofs of one account and symbol judged less than `episode_gap` seconds apart are one
// episode. The episode is judged when it closes, at the symbol's first event at least
// episode_gap seconds after its last spoof (or at the end of the input, at the symbol's last
// event): one alert, scoring the episode's best spoof. Episodes and scores never depend on
// min_score, which only filters. The alert's accounts are the spoofer's; its window runs from
// the first spoof's placement to the last one's judgement; its evidence lists the spoof order
// ids and the opposite trades' ids and order ids (of at most max_episode_spoofs spoofs, the
// best and the latest), with the best spoof's features size_ratio, depth_ratio, distance_bp,
// lifetime_s, filled_fraction, opposite_qty and typical_qty, and spoofs (the episode's count).
//
// The detector's clock is its input of the symbol: orders and trades of that symbol only, so
// sharding the input by symbol changes nothing.
//
// # State
//
// Resting limit orders per symbol, forgotten order_horizon seconds after placement (an order that
// rests longer no longer counts in the depth) and capped at max_open_orders in all (the oldest
// go first); one float per symbol; candidates, forgotten max_lifetime after placement or judged
// grace after cancel, capped at max_candidates; open episodes, closed episode_gap after their
// last spoof.
//
// A group of configurations (a sweep, detectors.Group) keeps the resting orders once per
// (order_horizon, max_open_orders), the typical sizes once per (typical_halflife,
// min_size_ratio) and one index of every configuration's candidates; the single detector is a
// group of one.
package spoofing

import (
	"math"
	"sort"

	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/detectors/internal/episodes"
	"github.com/fds-dev/fds/detectors/internal/ring"
	"github.com/fds-dev/fds/detectors/internal/symbols"
)

// Name is the detector's registry name.
const Name = "spoofing"

func init() {
	detectors.Register(detectors.Spec{
		Name:    Name,
		Type:    detectors.Spoofing,
		Summary: "large one-sided orders near the touch cancelled soon after placement while the account trades the other side",
		Doc: "A new limit order at least min_size_ratio times the typical order size and min_depth_ratio times the depth " +
			"within depth_band_bp of the touch, at most max_distance_bp behind it, from an account not quoting the other side, " +
			"cancelled within max_lifetime with at most max_filled_fraction filled while the account executed at least " +
			"min_opposite_ratio typical sizes on the opposite side. Score: cube root of size, lifetime and opposite-execution terms; " +
			"spoofs of one account less than episode_gap apart are one episode, judged when it closes (its best spoof's score).",
		Needs:           []detectors.Kind{detectors.KindOrder, detectors.KindTrade},
		DefaultMinScore: 0.5,
		Params: []detectors.ParamSpec{
			{Name: "min_size_ratio", Default: 5, Min: 1, Max: 1e6, Unit: "ratio", Doc: "order qty / typical order qty"},
			{Name: "min_depth_ratio", Default: 0.3, Min: 0, Max: 1e6, Unit: "ratio", Doc: "order qty / same-side qty within depth_band_bp of the touch"},
			{Name: "depth_band_bp", Default: 20, Min: 0, Max: 10000, Unit: "bp", Doc: "band behind the touch whose resting qty is the visible depth"},
			{Name: "max_distance_bp", Default: 30, Min: 0, Max: 10000, Unit: "bp", Doc: "farthest behind the touch a candidate may rest"},
			{Name: "min_order_notional", Default: 0, Min: 0, Max: 1e12, Unit: "quote", Doc: "smallest candidate notional (price·qty)"},
			{Name: "max_lifetime", Default: 10, Min: 0.001, Max: 86400, Unit: "s", Doc: "a spoof is cancelled within this after placement"},
			{Name: "max_filled_fraction", Default: 0.25, Min: 0, Max: 1, Unit: "ratio", Doc: "a spoof has at most this fraction filled"},
			{Name: "min_opposite_ratio", Default: 0.5, Min: 0, Max: 1e6, Unit: "ratio", Doc: "opposite-side executed qty / typical order qty"},
			{Name: "max_two_sided_ratio", Default: 0.5, Min: 0, Max: 1e6, Unit: "ratio", Doc: "own opposite-side qty (resting at placement or placed during the life) / order qty at or above which the account is quoting, not spoofing"},
			{Name: "grace", Default: 1, Min: 0, Max: 3600, Unit: "s", Doc: "opposite executions up to this after the cancel still count"},
			{Name: "size_scale", Default: 10, Min: 0.1, Max: 1e6, Unit: "ratio", Doc: "size ratio at which the size term reaches 1-1/e"},
			{Name: "episode_gap", Default: 120, Min: 0, Max: 7 * 86400, Unit: "s", Doc: "spoofs of one account and symbol less than this apart are one episode; it is judged this long after its last spoof"},
			{Name: "max_episode_spoofs", Default: 100, Min: 1, Max: 1e6, Integer: true, Unit: "count", Doc: "cap on the spoofs kept as an episode's evidence"},
			{Name: "typical_halflife", Default: 1000, Min: 1, Max: 1e7, Unit: "count", Doc: "half-life, in new limit orders, of the typical order size's EWMA"},
			{Name: "warmup_orders", Default: 100, Min: 0, Max: 1e7, Integer: true, Unit: "count", Doc: "limit orders of a symbol seen before any candidate"},
			{Name: "order_horizon", Default: 3600, Min: 1, Max: 30 * 86400, Unit: "s", Doc: "resting orders are forgotten this long after placement"},
			{Name: "max_open_orders", Default: 1000000, Min: 1, Max: 1e9, Integer: true, Unit: "count", Doc: "cap on resting orders tracked, all symbols"},
			{Name: "max_candidates", Default: 10000, Min: 1, Max: 1e8, Integer: true, Unit: "count", Doc: "cap on candidates tracked at once"},
		},
		NewGroup: newGroup,
	})
}

type resting struct {
	account string
	side    detectors.Side
	price   float64
	leaves  float64
	placed  detectors.Micros
}

// book is one symbol's resting limit orders.
type book struct {
	// orders holds values, not pointers: one heap object per resting order cost more than
	// the rest of the detector's bookkeeping (allocation, collection, page faults).
	orders map[int64]resting
}

type ageEntry struct {
	placed  detectors.Micros
	book    *book // books are never dropped: the pointer saves a lookup by symbol per eviction
	orderID int64
}

// bookLayer is the resting orders of every symbol as the configurations with one
// (order_horizon, max_open_orders) see them: the state a sweep shares most.
type bookLayer struct {
	horizon detectors.Micros
	maxOpen int
	books   []*book // by symbol index
	open    int
	ages    ring.Queue[ageEntry] // resting orders by placement, for eviction

	// The touch and depths of the new limit order being considered, computed once for every
	// configuration of the layer: seq is the event they belong to.
	seq          int64
	bestS, bestO float64
	hasS, hasO   bool
	depths       []depthEntry
}

// depthEntry is the depth and the account's own opposite quantity within one depth band.
type depthEntry struct {
	bandBP, depth, ownOpposite float64
}

// typicalLayer is every symbol's typical order size as the configurations with one
// (typical_halflife, min_size_ratio) learn it (the clip depends on min_size_ratio).
type typicalLayer struct {
	alpha, minSizeRatio float64
	logTypical          []float64 // by symbol index
	seen                []int
	// Of the new limit order being considered, computed once for the layer's configurations:
	// the typical size and whether the order is large enough for a candidate (size ratio at
	// least min_size_ratio, which every configuration of the layer shares).
	typical   float64
	sizeRatio float64
	large     bool
}

type candidate struct {
	cfg             *config
	symbol, account string
	orderID         int64
	side            detectors.Side
	qty, price      float64
	typical         float64
	placed          detectors.Micros
	cancelled       detectors.Micros // 0 while live
	filled          float64
	oppositeQty     float64
	tradeIDs        []int64
	orderIDs        []int64
	ownOpposite     float64 // own opposite-side qty resting at placement plus placed during the life
	sizeRatio       float64
	depthRatio      float64
	distanceBP      float64
	done            bool
}

// spoof is a judged candidate that met every condition.
type spoof struct {
	c        *candidate
	score    float64
	judgedAt detectors.Micros
}

// episode is the spoofs of one account in one symbol less than episode_gap apart.
type episode struct {
	k          acctKey
	first      detectors.Micros // the first spoof's placement
	last       detectors.Micros // the last spoof's judgement
	best       spoof
	count      int
	spoofs     []spoof // evidence: the best and the latest, at most max_episode_spoofs
	bestInList bool
}

type acctKey struct{ symbol, account string }

// configSymbol is one configuration's state in one symbol.
type configSymbol struct {
	// judging are the cancelled candidates awaiting judgement, in cancel order.
	judging []*candidate
	// episodes are the open episodes, in opening order; deadline is their earliest close.
	episodes []*episode
	deadline detectors.Micros
}

// config is one configuration: its parameters, its layers and its own candidates' verdicts.
type config struct {
	index                                            int
	minSizeRatio, minDepthRatio, bandBP, maxDistBP   float64
	minNotional, maxFilled, minOppRatio, maxTwoSided float64
	sizeScale                                        float64
	maxLifetime, grace, episodeGap                   detectors.Micros
	warmup, maxCandidates, maxSpoofs                 int

	book     *bookLayer
	typical  *typicalLayer
	nCand    int
	symbols  []configSymbol // by symbol index
	episodes map[acctKey]*episode
}

// group is the detector: one or many configurations fed the same events. The books and typical
// sizes are kept once per layer; candidates of every configuration share one index by account
// and one by order id, so that an event costs one lookup whatever the number of configurations.
type group struct {
	configs  []*config
	books    []*bookLayer
	typicals []*typicalLayer

	symbols   symbols.Index
	lastEvent []detectors.Micros // by symbol index: the ts of its last order or trade, its clock
	// due is, by symbol index, the earliest ts at which some configuration has a candidate to
	// judge or an episode to close there: events before it skip the loop over configurations.
	due []detectors.Micros

	candidates map[acctKey][]*candidate
	byOrder    map[int64][]*candidate
	nextSweep  detectors.Micros
	seq        int64
	// scratch holds the quantities summed for a depth, sorted so that the float sum does not
	// depend on map iteration order.
	scratch []float64
}

func newGroup(ps []detectors.Params, _ detectors.Env) (detectors.Group, error) {
	g := &group{candidates: map[acctKey][]*candidate{}, byOrder: map[int64][]*candidate{}}
	type bookKey struct {
		horizon detectors.Micros
		maxOpen int
	}
	type typicalKey struct{ halflife, minSizeRatio float64 }
	bookOf, nBooks := detectors.Layers(len(ps), func(i int) bookKey {
		return bookKey{ps[i].Duration("order_horizon"), ps[i].Int("max_open_orders")}
	})
	typicalOf, nTypicals := detectors.Layers(len(ps), func(i int) typicalKey {
		return typicalKey{ps[i].Get("typical_halflife"), ps[i].Get("min_size_ratio")}
	})
	g.books = make([]*bookLayer, nBooks)
	g.typicals = make([]*typicalLayer, nTypicals)
	for i, p := range ps {
		if g.books[bookOf[i]] == nil {
			g.books[bookOf[i]] = &bookLayer{horizon: p.Duration("order_horizon"), maxOpen: p.Int("max_open_orders"), seq: -1}
		}
		if g.typicals[typicalOf[i]] == nil {
			g.typicals[typicalOf[i]] = &typicalLayer{alpha: 1 - math.Exp2(-1/p.Get("typical_halflife")),
				minSizeRatio: p.Get("min_size_ratio")}
		}
		g.configs = append(g.configs, &config{
			index:        i,
			minSizeRatio: p.Get("min_size_ratio"), minDepthRatio: p.Get("min_depth_ratio"),
			bandBP: p.Get("depth_band_bp"), maxDistBP: p.Get("max_distance_bp"),
			minNotional: p.Get("min_order_notional"), maxFilled: p.Get("max_filled_fraction"),
			minOppRatio: p.Get("min_opposite_ratio"), maxTwoSided: p.Get("max_two_sided_ratio"),
			sizeScale:   p.Get("size_scale"),
			maxLifetime: p.Duration("max_lifetime"), grace: p.Duration("grace"), episodeGap: p.Duration("episode_gap"),
			warmup: p.Int("warmup_orders"), maxCandidates: p.Int("max_candidates"), maxSpoofs: p.Int("max_episode_spoofs"),
			book: g.books[bookOf[i]], typical: g.typicals[typicalOf[i]], episodes: map[acctKey]*episode{},
		})
	}
	return g, nil
}

// symbol returns the index of a symbol, adding it to every layer and configuration when new.
func (g *group) symbol(name string) int {
	i, added := g.symbols.ID(name)
	if !added {
		return i
	}
	g.lastEvent = append(g.lastEvent, 0)
	g.due = append(g.due, math.MaxInt64)
	for _, l := range g.books {
		l.books = append(l.books, &book{orders: map[int64]resting{}})
	}
	for _, l := range g.typicals {
		l.logTypical = append(l.logTypical, 0)
		l.seen = append(l.seen, 0)
	}
	for _, c := range g.configs {
		c.symbols = append(c.symbols, configSymbol{})
	}
	return i
}

func (g *group) OnEvent(ev *detectors.Event, emit detectors.GroupEmit) {
	if ev.Kind != detectors.KindOrder && ev.Kind != detectors.KindTrade {
		return // the clock of a symbol is its orders and trades only
	}
	g.seq++
	if ev.TS >= g.nextSweep {
		g.sweep(ev.TS)
	}
	si := g.symbol(ev.Symbol)
	g.lastEvent[si] = ev.TS
	// Judge the candidates whose grace is over, then close the episodes whose gap is over.
	if ev.TS >= g.due[si] {
		due := detectors.Micros(math.MaxInt64)
		for _, c := range g.configs {
			cs := &c.symbols[si]
			for len(cs.judging) > 0 && cs.judging[0].cancelled+c.grace < ev.TS {
				cand := cs.judging[0]
				cs.judging[0] = nil
				cs.judging = cs.judging[1:]
				c.judge(cand, cs, cand.cancelled+c.grace)
			}
			if len(cs.episodes) > 0 && ev.TS >= cs.deadline {
				c.closeDue(cs, ev.TS, false, emit)
			}
			due = min(due, c.due(cs))
		}
		g.due[si] = due
	}
	switch ev.Kind {
	case detectors.KindOrder:
		g.onOrder(ev, si)
	case detectors.KindTrade:
		g.onTrade(ev)
	}
}

func (g *group) onOrder(ev *detectors.Event, si int) {
	o := &ev.Order
	for _, l := range g.books {
		l.evictOld(ev.TS)
	}
	rests := o.Type == detectors.Limit || o.Type == detectors.StopLimit
	switch o.Event {
	case detectors.OrderNew:
		if o.Type == detectors.Limit && o.Qty > 0 && !math.IsInf(o.Qty, 0) {
			// A quote on the other side of a live candidate makes its account two-sided.
			for _, c := range g.candidates[acctKey{ev.Symbol, o.Account}] {
				if !c.done && c.cancelled == 0 && c.side == o.Side.Opposite() {
					c.ownOpposite += o.Qty
				}
			}
			for _, l := range g.typicals {
				l.size(si, o.Qty)
			}
			for _, c := range g.configs {
				g.considerNew(c, ev, si)
			}
			for _, l := range g.typicals {
				l.learn(si, o.Qty)
			}
		}
		if rests && o.LeavesQty > 0 {
			for _, l := range g.books {
				l.rest(si, o, ev.TS)
			}
		}
	case detectors.OrderAmend:
		for _, l := range g.books {
			b := l.books[si]
			if r, ok := b.orders[o.OrderID]; ok {
				r.price, r.leaves = o.Price, o.LeavesQty
				if r.leaves <= 0 {
					l.unrest(b, o.OrderID)
				} else {
					b.orders[o.OrderID] = r
				}
			} else if rests && o.LeavesQty > 0 {
				l.rest(si, o, ev.TS)
			}
		}
		// A configuration's live candidate of an order id is its only one not done.
		for _, c := range g.byOrder[o.OrderID] {
			if !c.done {
				c.qty, c.price = math.Max(c.qty, o.Qty), o.Price
			}
		}
	case detectors.OrderFill:
		for _, l := range g.books {
			b := l.books[si]
			if r, ok := b.orders[o.OrderID]; ok {
				r.leaves = o.LeavesQty
				if r.leaves <= 0 {
					l.unrest(b, o.OrderID)
				} else {
					b.orders[o.OrderID] = r
				}
			}
		}
		for _, c := range g.byOrder[o.OrderID] {
			if !c.done {
				c.filled += o.Qty
			}
		}
	case detectors.OrderCancel, detectors.OrderExpire, detectors.OrderReject:
		for _, l := range g.books {
			l.unrest(l.books[si], o.OrderID)
		}
		for _, c := range g.byOrder[o.OrderID] {
			if !c.done && c.cancelled == 0 && c.symbol == ev.Symbol {
				c.cancelled = ev.TS
				cs := &c.cfg.symbols[si]
				cs.judging = append(cs.judging, c)
				g.due[si] = min(g.due[si], c.cfg.due(cs))
			}
		}
	}
}

func (l *bookLayer) rest(si int, o *detectors.Order, ts detectors.Micros) {
	b := l.books[si]
	if _, ok := b.orders[o.OrderID]; !ok {
		l.open++
	}
	b.orders[o.OrderID] = resting{account: o.Account, side: o.Side, price: o.Price, leaves: o.LeavesQty, placed: ts}
	l.ages.Push(ageEntry{placed: ts, book: b, orderID: o.OrderID})
	for l.open > l.maxOpen && l.ages.Len() > 0 {
		l.evictHead()
	}
}

func (l *bookLayer) unrest(b *book, id int64) {
	if _, ok := b.orders[id]; ok {
		delete(b.orders, id)
		l.open--
	}
}

// evictOld forgets resting orders placed more than order_horizon ago.
func (l *bookLayer) evictOld(now detectors.Micros) {
	for l.ages.Len() > 0 && l.ages.Front().placed < now-l.horizon {
		l.evictHead()
	}
}

func (l *bookLayer) evictHead() {
	e := l.ages.Pop()
	// Only if it is still the same placement (an amend re-queues the order).
	if r, ok := e.book.orders[e.orderID]; ok && r.placed == e.placed {
		l.unrest(e.book, e.orderID)
	}
}

func (l *typicalLayer) learn(si int, qty float64) {
	x := math.Log(qty)
	if l.seen[si] == 0 {
		l.logTypical[si] = x
	} else {
		// Clip at the candidate threshold so the orders we look for do not become typical.
		x = math.Min(x, l.logTypical[si]+math.Log(l.minSizeRatio))
		l.logTypical[si] += l.alpha * (x - l.logTypical[si])
	}
	l.seen[si]++
}

// size computes the typical size of the symbol before the order is learnt and whether the order
// is large against it.
func (l *typicalLayer) size(si int, qty float64) {
	l.large = false
	if l.seen[si] == 0 {
		return
	}
	l.typical = math.Exp(l.logTypical[si])
	l.sizeRatio = qty / l.typical
	l.large = !(l.sizeRatio < l.minSizeRatio)
}

// sortedSum sums the quantities in g.scratch in ascending order: the same float whatever the
// order in which the book's map was walked.
func (g *group) sortedSum() float64 {
	sort.Float64s(g.scratch)
	var sum float64
	for _, q := range g.scratch {
		sum += q
	}
	g.scratch = g.scratch[:0]
	return sum
}

// touch returns the best prices of the symbol's book on the order's side (S) and the other
// (O), once per event.
func (g *group) touch(l *bookLayer, si int, side detectors.Side) {
	if l.seq == g.seq {
		return
	}
	l.seq, l.depths = g.seq, l.depths[:0]
	l.bestS, l.bestO, l.hasS, l.hasO = 0, 0, false, false
	for _, r := range l.books[si].orders {
		if r.side == side {
			if !l.hasS || better(side, r.price, l.bestS) {
				l.bestS, l.hasS = r.price, true
			}
		} else if !l.hasO || better(r.side, r.price, l.bestO) {
			l.bestO, l.hasO = r.price, true
		}
	}
}

// depth returns the quantity resting on the order's side within bandBP of the touch and the
// account's own quantity within bandBP of the other side's touch, once per event and band.
func (g *group) depth(l *bookLayer, si int, o *detectors.Order, touch, bandBP float64) (depth, ownOpposite float64) {
	for _, d := range l.depths {
		if d.bandBP == bandBP {
			return d.depth, d.ownOpposite
		}
	}
	orders := l.books[si].orders
	for _, r := range orders {
		if r.side == o.Side && float64(o.Side)*(touch-r.price)/touch*1e4 <= bandBP {
			g.scratch = append(g.scratch, r.leaves)
		}
	}
	depth = g.sortedSum()
	for _, r := range orders {
		if r.side != o.Side && r.account == o.Account && l.hasO && float64(r.side)*(l.bestO-r.price)/l.bestO*1e4 <= bandBP {
			g.scratch = append(g.scratch, r.leaves)
		}
	}
	ownOpposite = g.sortedSum()
	l.depths = append(l.depths, depthEntry{bandBP: bandBP, depth: depth, ownOpposite: ownOpposite})
	return depth, ownOpposite
}

// considerNew checks a new limit order against the book as it was just before it, for one
// configuration.
func (g *group) considerNew(c *config, ev *detectors.Event, si int) {
	o := &ev.Order
	tl := c.typical
	if !tl.large || tl.seen[si] < c.warmup {
		return
	}
	typical, sizeRatio := tl.typical, tl.sizeRatio
	if o.Qty*o.Price < c.minNotional || !(o.Price > 0) {
		return
	}
	if c.nCand >= c.maxCandidates {
		return
	}
	l := c.book
	g.touch(l, si, o.Side)
	if l.hasO && crosses(o.Side, o.Price, l.bestO) {
		return // marketable: it trades, it does not rest
	}
	touch := l.bestS
	if !l.hasS {
		if !l.hasO {
			return // no book to spoof
		}
		touch = l.bestO
	}
	// Distance behind the touch, in bp of the touch (0 when the order improves it).
	distance := math.Max(0, float64(o.Side)*(touch-o.Price)/touch*1e4)
	if distance > c.maxDistBP {
		return
	}
	depth, ownOpposite := g.depth(l, si, o, touch, c.bandBP)
	depthRatio := math.Inf(1)
	if depth > 0 {
		depthRatio = o.Qty / depth
	}
	if depthRatio < c.minDepthRatio || ownOpposite >= c.maxTwoSided*o.Qty {
		return
	}
	cand := &candidate{
		cfg: c, symbol: ev.Symbol, account: o.Account, orderID: o.OrderID, side: o.Side, qty: o.Qty, price: o.Price,
		typical: typical, placed: ev.TS, sizeRatio: sizeRatio, depthRatio: depthRatio, distanceBP: distance,
		ownOpposite: ownOpposite,
	}
	// The configuration's earlier candidate of the same order id is over.
	for _, old := range g.byOrder[o.OrderID] {
		if old.cfg == c {
			old.done = true
		}
	}
	k := acctKey{ev.Symbol, o.Account}
	g.candidates[k] = append(g.candidates[k], cand)
	g.byOrder[o.OrderID] = append(g.byOrder[o.OrderID], cand)
	c.nCand++
}

// better reports whether price a is better than b for side s (higher bid, lower ask).
func better(s detectors.Side, a, b float64) bool {
	if s == detectors.Buy {
		return a > b
	}
	return a < b
}

// crosses reports whether an order of side s at price p would trade against opposite best o.
func crosses(s detectors.Side, p, o float64) bool {
	if s == detectors.Buy {
		return p >= o
	}
	return p <= o
}

func (g *group) onTrade(ev *detectors.Event) {
	t := &ev.Trade
	if t.MakerAccount == t.TakerAccount {
		return // a self-trade moves no position
	}
	for _, side := range [2]struct {
		account string
		side    detectors.Side
		orderID int64
	}{{t.TakerAccount, t.TakerSide, t.TakerOrderID}, {t.MakerAccount, t.TakerSide.Opposite(), t.MakerOrderID}} {
		if side.account == "" {
			continue
		}
		for _, c := range g.candidates[acctKey{ev.Symbol, side.account}] {
			if c.done || side.side != c.side.Opposite() || ev.TS < c.placed {
				continue
			}
			if c.cancelled != 0 && ev.TS > c.cancelled+c.cfg.grace {
				continue
			}
			c.oppositeQty += t.Qty
			c.tradeIDs = append(c.tradeIDs, t.TradeID)
			if side.orderID != 0 {
				c.orderIDs = append(c.orderIDs, side.orderID)
			}
		}
	}
}

// due is the earliest ts at which the configuration has work in the symbol: the first event
// after its first cancelled candidate's grace, or its episodes' deadline.
func (c *config) due(cs *configSymbol) detectors.Micros {
	due := detectors.Micros(math.MaxInt64)
	if len(cs.judging) > 0 {
		due = cs.judging[0].cancelled + c.grace + 1
	}
	if len(cs.episodes) > 0 {
		due = min(due, cs.deadline)
	}
	return due
}

// Score is a spoof's score from its size ratio, lifetime and opposite-side quantity in typical
// sizes (see the package doc).
func (c *config) Score(sizeRatio float64, lifetime detectors.Micros, oppositeTypicals float64) float64 {
	size := 1 - math.Exp(-sizeRatio/c.sizeScale)
	life := 1 - float64(lifetime)/(2*float64(c.maxLifetime))
	opposite := 1 - math.Exp(-oppositeTypicals)
	return math.Cbrt(size * life * opposite)
}

// judge decides at time at whether a cancelled candidate is a spoof, and if so adds it to its
// account's episode in the symbol.
func (c *config) judge(cand *candidate, cs *configSymbol, at detectors.Micros) {
	if cand.done {
		return
	}
	cand.done = true
	lifetime := cand.cancelled - cand.placed
	if lifetime > c.maxLifetime || cand.filled > c.maxFilled*cand.qty || cand.ownOpposite >= c.maxTwoSided*cand.qty ||
		!(cand.oppositeQty > 0) || cand.oppositeQty < c.minOppRatio*cand.typical {
		return
	}
	sp := spoof{c: cand, score: c.Score(cand.sizeRatio, lifetime, cand.oppositeQty/cand.typical), judgedAt: at}
	k := acctKey{cand.symbol, cand.account}
	e := c.episodes[k]
	if e == nil {
		e = &episode{k: k, first: cand.placed}
		c.episodes[k] = e
		cs.episodes = append(cs.episodes, e)
	}
	e.first = min(e.first, cand.placed)
	e.last = at
	e.count++
	if e.count == 1 || sp.score > e.best.score {
		e.best = sp
	}
	// Evidence: keep the best and the latest spoofs within the cap.
	if len(e.spoofs) >= c.maxSpoofs {
		drop := 0
		if e.spoofs[0].c == e.best.c && len(e.spoofs) > 1 {
			drop = 1
		}
		e.spoofs = append(e.spoofs[:drop], e.spoofs[drop+1:]...)
	}
	e.spoofs = append(e.spoofs, sp)
	if len(cs.episodes) == 1 || at+c.episodeGap < cs.deadline {
		cs.deadline = at + c.episodeGap
	}
}

// closeDue emits the symbol's episodes whose gap is over at now (all of them at the end of the
// input), in opening order, and recomputes the symbol's deadline.
func (c *config) closeDue(cs *configSymbol, now detectors.Micros, all bool, emit detectors.GroupEmit) {
	cs.episodes, cs.deadline = episodes.CloseDue(cs.episodes, now, c.episodeGap, all, lastSpoof, func(e *episode) {
		c.emitEpisode(e, now, emit)
		delete(c.episodes, e.k)
	})
}

func lastSpoof(e *episode) detectors.Micros { return e.last }

func (c *config) emitEpisode(e *episode, now detectors.Micros, emit detectors.GroupEmit) {
	var orderIDs, tradeIDs []int64
	for _, sp := range e.spoofs {
		orderIDs = append(orderIDs, sp.c.orderID)
		orderIDs = append(orderIDs, sp.c.orderIDs...)
		tradeIDs = append(tradeIDs, sp.c.tradeIDs...)
	}
	b := e.best.c
	emit(c.index, detectors.Alert{
		Symbol: b.symbol, Accounts: []string{b.account}, TS: now, WindowStart: e.first, WindowEnd: e.last, Score: e.best.score,
		Evidence: detectors.Evidence{
			OrderIDs: detectors.SortedUnique(orderIDs), TradeIDs: detectors.SortedUnique(tradeIDs),
			Features: map[string]float64{
				"size_ratio": b.sizeRatio, "depth_ratio": b.depthRatio, "distance_bp": b.distanceBP,
				"lifetime_s": float64(b.cancelled-b.placed) / float64(detectors.Second), "filled_fraction": b.filled / b.qty,
				"opposite_qty": b.oppositeQty, "typical_qty": b.typical, "spoofs": float64(e.count),
			},
		},
	})
}

// sweep drops judged candidates and live ones past their max_lifetime (they can no longer be
// spoofs), every second of event time. Each map is rebuilt by deletion only, so iteration order
// does not change the state.
func (g *group) sweep(now detectors.Micros) {
	for k, list := range g.candidates {
		kept := list[:0]
		for _, c := range list {
			if c.cancelled == 0 && now > c.placed+c.cfg.maxLifetime {
				c.done = true
			}
			if c.done {
				g.forgetOrder(c)
				c.cfg.nCand--
				continue
			}
			kept = append(kept, c)
		}
		if len(kept) == 0 {
			delete(g.candidates, k)
		} else {
			clear(list[len(kept):])
			g.candidates[k] = kept
		}
	}
	g.nextSweep = now + detectors.Second
}

// forgetOrder removes a candidate from the index by order id.
func (g *group) forgetOrder(c *candidate) {
	list := g.byOrder[c.orderID]
	for i, x := range list {
		if x == c {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(g.byOrder, c.orderID)
	} else {
		g.byOrder[c.orderID] = list
	}
}

// Flush judges the cancelled candidates and closes every open episode at its symbol's last
// event, symbols in name order: no time beyond the last event is invented.
func (g *group) Flush(emit detectors.GroupEmit) {
	for _, si := range g.symbols.ByName() {
		last := g.lastEvent[si]
		for _, c := range g.configs {
			cs := &c.symbols[si]
			for _, cand := range cs.judging {
				if cand.cancelled+c.grace < last {
					c.judge(cand, cs, cand.cancelled+c.grace)
				} else {
					c.judge(cand, cs, last)
				}
			}
			cs.judging = nil
			c.closeDue(cs, last, true, emit)
		}
	}
}
