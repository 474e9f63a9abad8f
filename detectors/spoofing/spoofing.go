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
package spoofing

import (
	"math"
	"sort"

	"github.com/fds-dev/fds/detectors"
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
		New: newDetector,
	})
}

type resting struct {
	account string
	side    detectors.Side
	price   float64
	leaves  float64
	placed  detectors.Micros
}

type book struct {
	// orders holds values, not pointers: one heap object per resting order cost more than
	// the rest of the detector's bookkeeping (allocation, collection, page faults).
	orders     map[int64]resting
	logTypical float64
	seen       int
	// lastEvent is the ts of the symbol's last order or trade: the symbol's clock.
	lastEvent detectors.Micros
	// judging are the cancelled candidates awaiting judgement, in cancel order.
	judging []*candidate
	// episodes are the open episodes, in opening order; deadline is their earliest close.
	episodes []*episode
	deadline detectors.Micros
}

type candidate struct {
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

type ageEntry struct {
	placed  detectors.Micros
	book    *book // books are never dropped: the pointer saves a lookup by symbol per eviction
	orderID int64
}

type acctKey struct{ symbol, account string }

type detector struct {
	minSizeRatio, minDepthRatio, bandBP, maxDistBP   float64
	minNotional, maxFilled, minOppRatio, maxTwoSided float64
	sizeScale, alpha                                 float64
	maxLifetime, grace, episodeGap, horizon          detectors.Micros
	warmup, maxOpen, maxCandidates, maxSpoofs        int

	books      map[string]*book
	open       int
	ages       []ageEntry // resting orders by placement, for eviction
	agesHead   int
	candidates map[acctKey][]*candidate
	byOrder    map[int64]*candidate
	nCand      int
	episodes   map[acctKey]*episode
	nextSweep  detectors.Micros
	// scratch holds the quantities summed for a depth, sorted so that the float sum does not
	// depend on map iteration order.
	scratch []float64
}

func newDetector(p detectors.Params, _ detectors.Env) (detectors.Detector, error) {
	return &detector{
		minSizeRatio: p.Get("min_size_ratio"), minDepthRatio: p.Get("min_depth_ratio"),
		bandBP: p.Get("depth_band_bp"), maxDistBP: p.Get("max_distance_bp"),
		minNotional: p.Get("min_order_notional"), maxFilled: p.Get("max_filled_fraction"),
		minOppRatio: p.Get("min_opposite_ratio"), maxTwoSided: p.Get("max_two_sided_ratio"),
		sizeScale: p.Get("size_scale"), alpha: 1 - math.Exp2(-1/p.Get("typical_halflife")),
		maxLifetime: p.Duration("max_lifetime"), grace: p.Duration("grace"), episodeGap: p.Duration("episode_gap"),
		horizon: p.Duration("order_horizon"),
		warmup:  p.Int("warmup_orders"), maxOpen: p.Int("max_open_orders"), maxCandidates: p.Int("max_candidates"),
		maxSpoofs: p.Int("max_episode_spoofs"),
		books:     map[string]*book{}, candidates: map[acctKey][]*candidate{}, byOrder: map[int64]*candidate{},
		episodes: map[acctKey]*episode{},
	}, nil
}

func (d *detector) bookOf(symbol string) *book {
	b := d.books[symbol]
	if b == nil {
		b = &book{orders: map[int64]resting{}}
		d.books[symbol] = b
	}
	return b
}

func (d *detector) OnEvent(ev *detectors.Event, emit detectors.Emit) {
	if ev.Kind != detectors.KindOrder && ev.Kind != detectors.KindTrade {
		return // the clock of a symbol is its orders and trades only
	}
	if ev.TS >= d.nextSweep {
		d.sweep(ev.TS)
	}
	b := d.bookOf(ev.Symbol)
	b.lastEvent = ev.TS
	// Judge the candidates whose grace is over, then close the episodes whose gap is over.
	for len(b.judging) > 0 && b.judging[0].cancelled+d.grace < ev.TS {
		c := b.judging[0]
		b.judging[0] = nil
		b.judging = b.judging[1:]
		d.judge(c, b, c.cancelled+d.grace)
	}
	if len(b.episodes) > 0 && ev.TS >= b.deadline {
		d.closeDue(b, ev.TS, false, emit)
	}
	switch ev.Kind {
	case detectors.KindOrder:
		d.onOrder(ev, b)
	case detectors.KindTrade:
		d.onTrade(ev)
	}
}

func (d *detector) onOrder(ev *detectors.Event, b *book) {
	o := &ev.Order
	d.evictOld(ev.TS)
	rests := o.Type == detectors.Limit || o.Type == detectors.StopLimit
	switch o.Event {
	case detectors.OrderNew:
		if o.Type == detectors.Limit && o.Qty > 0 && !math.IsInf(o.Qty, 0) {
			// A quote on the other side of a live candidate makes its account two-sided.
			for _, c := range d.candidates[acctKey{ev.Symbol, o.Account}] {
				if !c.done && c.cancelled == 0 && c.side == o.Side.Opposite() {
					c.ownOpposite += o.Qty
				}
			}
			d.considerNew(ev, b)
			d.learnSize(b, o.Qty)
		}
		if rests && o.LeavesQty > 0 {
			d.rest(ev.Symbol, b, o, ev.TS)
		}
	case detectors.OrderAmend:
		if r, ok := b.orders[o.OrderID]; ok {
			r.price, r.leaves = o.Price, o.LeavesQty
			if r.leaves <= 0 {
				d.unrest(b, o.OrderID)
			} else {
				b.orders[o.OrderID] = r
			}
		} else if rests && o.LeavesQty > 0 {
			d.rest(ev.Symbol, b, o, ev.TS)
		}
		if c := d.byOrder[o.OrderID]; c != nil && !c.done {
			c.qty, c.price = math.Max(c.qty, o.Qty), o.Price
		}
	case detectors.OrderFill:
		if r, ok := b.orders[o.OrderID]; ok {
			r.leaves = o.LeavesQty
			if r.leaves <= 0 {
				d.unrest(b, o.OrderID)
			} else {
				b.orders[o.OrderID] = r
			}
		}
		if c := d.byOrder[o.OrderID]; c != nil && !c.done {
			c.filled += o.Qty
		}
	case detectors.OrderCancel, detectors.OrderExpire, detectors.OrderReject:
		d.unrest(b, o.OrderID)
		if c := d.byOrder[o.OrderID]; c != nil && !c.done && c.cancelled == 0 && c.symbol == ev.Symbol {
			c.cancelled = ev.TS
			b.judging = append(b.judging, c)
		}
	}
}

func (d *detector) rest(symbol string, b *book, o *detectors.Order, ts detectors.Micros) {
	if _, ok := b.orders[o.OrderID]; !ok {
		d.open++
	}
	b.orders[o.OrderID] = resting{account: o.Account, side: o.Side, price: o.Price, leaves: o.LeavesQty, placed: ts}
	d.ages = append(d.ages, ageEntry{placed: ts, book: b, orderID: o.OrderID})
	for d.open > d.maxOpen && d.agesHead < len(d.ages) {
		d.evictHead()
	}
}

func (d *detector) unrest(b *book, id int64) {
	if _, ok := b.orders[id]; ok {
		delete(b.orders, id)
		d.open--
	}
}

// evictOld forgets resting orders placed more than order_horizon ago.
func (d *detector) evictOld(now detectors.Micros) {
	for d.agesHead < len(d.ages) && d.ages[d.agesHead].placed < now-d.horizon {
		d.evictHead()
	}
	// Compact the queue once its dead head dominates, so memory follows the live entries.
	if d.agesHead > 1024 && d.agesHead*2 > len(d.ages) {
		d.ages = append(d.ages[:0], d.ages[d.agesHead:]...)
		d.agesHead = 0
	}
}

func (d *detector) evictHead() {
	e := d.ages[d.agesHead]
	d.agesHead++
	// Only if it is still the same placement (an amend re-queues the order).
	if r, ok := e.book.orders[e.orderID]; ok && r.placed == e.placed {
		d.unrest(e.book, e.orderID)
	}
}

func (d *detector) learnSize(b *book, qty float64) {
	x := math.Log(qty)
	if b.seen == 0 {
		b.logTypical = x
	} else {
		// Clip at the candidate threshold so the orders we look for do not become typical.
		x = math.Min(x, b.logTypical+math.Log(d.minSizeRatio))
		b.logTypical += d.alpha * (x - b.logTypical)
	}
	b.seen++
}

// sorted sums the quantities in d.scratch in ascending order: the same float whatever the
// order in which the book's map was walked.
func (d *detector) sortedSum() float64 {
	sort.Float64s(d.scratch)
	var sum float64
	for _, q := range d.scratch {
		sum += q
	}
	d.scratch = d.scratch[:0]
	return sum
}

// considerNew checks a new limit order against the book as it was just before it.
func (d *detector) considerNew(ev *detectors.Event, b *book) {
	o := &ev.Order
	if b.seen < d.warmup || b.seen == 0 {
		return
	}
	typical := math.Exp(b.logTypical)
	sizeRatio := o.Qty / typical
	if sizeRatio < d.minSizeRatio || o.Qty*o.Price < d.minNotional || !(o.Price > 0) {
		return
	}
	if d.nCand >= d.maxCandidates {
		return
	}
	// Best prices: side S is the order's side, O the other.
	var bestS, bestO float64
	hasS, hasO := false, false
	for _, r := range b.orders {
		if r.side == o.Side {
			if !hasS || better(o.Side, r.price, bestS) {
				bestS, hasS = r.price, true
			}
		} else if !hasO || better(r.side, r.price, bestO) {
			bestO, hasO = r.price, true
		}
	}
	if hasO && crosses(o.Side, o.Price, bestO) {
		return // marketable: it trades, it does not rest
	}
	touch := bestS
	if !hasS {
		if !hasO {
			return // no book to spoof
		}
		touch = bestO
	}
	// Distance behind the touch, in bp of the touch (0 when the order improves it).
	distance := math.Max(0, float64(o.Side)*(touch-o.Price)/touch*1e4)
	if distance > d.maxDistBP {
		return
	}
	for _, r := range b.orders {
		if r.side == o.Side && float64(o.Side)*(touch-r.price)/touch*1e4 <= d.bandBP {
			d.scratch = append(d.scratch, r.leaves)
		}
	}
	depth := d.sortedSum()
	for _, r := range b.orders {
		if r.side != o.Side && r.account == o.Account && hasO && float64(r.side)*(bestO-r.price)/bestO*1e4 <= d.bandBP {
			d.scratch = append(d.scratch, r.leaves)
		}
	}
	ownOpposite := d.sortedSum()
	depthRatio := math.Inf(1)
	if depth > 0 {
		depthRatio = o.Qty / depth
	}
	if depthRatio < d.minDepthRatio || ownOpposite >= d.maxTwoSided*o.Qty {
		return
	}
	c := &candidate{
		symbol: ev.Symbol, account: o.Account, orderID: o.OrderID, side: o.Side, qty: o.Qty, price: o.Price,
		typical: typical, placed: ev.TS, sizeRatio: sizeRatio, depthRatio: depthRatio, distanceBP: distance,
		ownOpposite: ownOpposite,
	}
	if old := d.byOrder[o.OrderID]; old != nil {
		old.done = true
	}
	k := acctKey{ev.Symbol, o.Account}
	d.candidates[k] = append(d.candidates[k], c)
	d.byOrder[o.OrderID] = c
	d.nCand++
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

func (d *detector) onTrade(ev *detectors.Event) {
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
		for _, c := range d.candidates[acctKey{ev.Symbol, side.account}] {
			if c.done || side.side != c.side.Opposite() || ev.TS < c.placed {
				continue
			}
			if c.cancelled != 0 && ev.TS > c.cancelled+d.grace {
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

// Score is a spoof's score from its size ratio, lifetime and opposite-side quantity in typical
// sizes (see the package doc).
func (d *detector) Score(sizeRatio float64, lifetime detectors.Micros, oppositeTypicals float64) float64 {
	size := 1 - math.Exp(-sizeRatio/d.sizeScale)
	life := 1 - float64(lifetime)/(2*float64(d.maxLifetime))
	opposite := 1 - math.Exp(-oppositeTypicals)
	return math.Cbrt(size * life * opposite)
}

// judge decides at time at whether a cancelled candidate is a spoof, and if so adds it to its
// account's episode in the symbol.
func (d *detector) judge(c *candidate, b *book, at detectors.Micros) {
	if c.done {
		return
	}
	c.done = true
	lifetime := c.cancelled - c.placed
	if lifetime > d.maxLifetime || c.filled > d.maxFilled*c.qty || c.ownOpposite >= d.maxTwoSided*c.qty ||
		!(c.oppositeQty > 0) || c.oppositeQty < d.minOppRatio*c.typical {
		return
	}
	sp := spoof{c: c, score: d.Score(c.sizeRatio, lifetime, c.oppositeQty/c.typical), judgedAt: at}
	k := acctKey{c.symbol, c.account}
	e := d.episodes[k]
	if e == nil {
		e = &episode{k: k, first: c.placed}
		d.episodes[k] = e
		b.episodes = append(b.episodes, e)
	}
	e.first = min(e.first, c.placed)
	e.last = at
	e.count++
	if e.count == 1 || sp.score > e.best.score {
		e.best = sp
	}
	// Evidence: keep the best and the latest spoofs within the cap.
	if len(e.spoofs) >= d.maxSpoofs {
		drop := 0
		if e.spoofs[0].c == e.best.c && len(e.spoofs) > 1 {
			drop = 1
		}
		e.spoofs = append(e.spoofs[:drop], e.spoofs[drop+1:]...)
	}
	e.spoofs = append(e.spoofs, sp)
	if len(b.episodes) == 1 || at+d.episodeGap < b.deadline {
		b.deadline = at + d.episodeGap
	}
}

// closeDue emits the symbol's episodes whose gap is over at now (all of them at the end of the
// input), in opening order, and recomputes the symbol's deadline.
func (d *detector) closeDue(b *book, now detectors.Micros, all bool, emit detectors.Emit) {
	kept := b.episodes[:0]
	b.deadline = math.MaxInt64
	for _, e := range b.episodes {
		if all || now-e.last >= d.episodeGap {
			d.emitEpisode(e, now, emit)
			delete(d.episodes, e.k)
			continue
		}
		kept = append(kept, e)
		b.deadline = min(b.deadline, e.last+d.episodeGap)
	}
	clear(b.episodes[len(kept):])
	b.episodes = kept
}

func (d *detector) emitEpisode(e *episode, now detectors.Micros, emit detectors.Emit) {
	var orderIDs, tradeIDs []int64
	for _, sp := range e.spoofs {
		orderIDs = append(orderIDs, sp.c.orderID)
		orderIDs = append(orderIDs, sp.c.orderIDs...)
		tradeIDs = append(tradeIDs, sp.c.tradeIDs...)
	}
	c := e.best.c
	emit(detectors.Alert{
		Symbol: c.symbol, Accounts: []string{c.account}, TS: now, WindowStart: e.first, WindowEnd: e.last, Score: e.best.score,
		Evidence: detectors.Evidence{
			OrderIDs: uniqueIDs(orderIDs), TradeIDs: uniqueIDs(tradeIDs),
			Features: map[string]float64{
				"size_ratio": c.sizeRatio, "depth_ratio": c.depthRatio, "distance_bp": c.distanceBP,
				"lifetime_s": float64(c.cancelled-c.placed) / float64(detectors.Second), "filled_fraction": c.filled / c.qty,
				"opposite_qty": c.oppositeQty, "typical_qty": c.typical, "spoofs": float64(e.count),
			},
		},
	})
}

func uniqueIDs(ids []int64) []int64 {
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out := ids[:0]
	for i, x := range ids {
		if i == 0 || x != ids[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// sweep drops judged candidates and live ones past max_lifetime (they can no longer be spoofs),
// every second of event time. Each map is rebuilt by deletion only, so iteration order does not
// change the state.
func (d *detector) sweep(now detectors.Micros) {
	for k, list := range d.candidates {
		kept := list[:0]
		for _, c := range list {
			if c.cancelled == 0 && now > c.placed+d.maxLifetime {
				c.done = true
			}
			if c.done {
				if d.byOrder[c.orderID] == c {
					delete(d.byOrder, c.orderID)
				}
				d.nCand--
				continue
			}
			kept = append(kept, c)
		}
		if len(kept) == 0 {
			delete(d.candidates, k)
		} else {
			d.candidates[k] = kept
		}
	}
	d.nextSweep = now + detectors.Second
}

// Flush judges the cancelled candidates and closes every open episode at its symbol's last
// event, symbols in name order: no time beyond the last event is invented.
func (d *detector) Flush(emit detectors.Emit) {
	names := make([]string, 0, len(d.books))
	for n := range d.books {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b := d.books[n]
		for _, c := range b.judging {
			if c.cancelled+d.grace < b.lastEvent {
				d.judge(c, b, c.cancelled+d.grace)
			} else {
				d.judge(c, b, b.lastEvent)
			}
		}
		b.judging = nil
		d.closeDue(b, b.lastEvent, true, emit)
	}
}
