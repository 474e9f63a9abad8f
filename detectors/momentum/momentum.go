// Package momentum is the momentum_ignition detector: an account's burst of aggressive orders
// moves the price, then the same account trades the other way into the move it started.
//
// # Definition
//
// Only trades that carry accounts are used. A burst is a run of one account's taker executions
// of one side S in one symbol, each within `burst_gap` seconds of the previous and all within
// `burst_window` seconds of the first; the account's next taker execution of the other side, a
// gap, or the window's end closes it. A closed burst is considered when it holds at least
// `min_burst_orders` aggressive orders and `min_burst_ratio` typical aggressive order sizes; a
// burst of the same account and side that starts within burst_window of a considered burst still
// waiting for its reversal (and having none yet) is added to it (an igniter that pauses is still
// igniting). Prices are taken relative to the index (the last mark's index price; the raw price
// before the first mark), so that a move of the whole market is not taken for the burst's. At the
// burst's first trade the detector notes:
//
//	ref          the symbol's last trade price before the burst
//	position     the account's net position in the symbol (package detectors/internal/positions:
//	             net of its trades, forgotten after `position_horizon` without trading)
//	typical      the symbol's typical aggressive order size (EWMA of log qty over taker orders,
//	             half-life `typical_halflife` orders)
//
// and during the burst its quantity Q, its share of all taker quantity of side S in the symbol
// from its first to its last trade, and the most extreme trade price of the symbol in the
// direction S, E. The reversal is every execution of the account on the other side (as taker or
// maker) from the burst's close until `reversal_window` seconds after its last trade, with
// quantity R; each reversal order is valued at the price where it began to fill (an order
// sweeping the book is not held against the account for the levels it eats), V being their
// quantity-weighted mean. The burst is scored when the reversal reaches Q, or else at the
// symbol's first event after `reversal_window` seconds from its last trade:
//
//	move     = S·(E − ref)/ref in bp                     how far the burst pushed the price
//	size     = 1 − exp(−Q/typical / size_scale)
//	push     = 1 − exp(−move / move_scale_bp)
//	share    = the burst's share of the taker flow of its side while it lasted
//	into     = clamp(1/2 + 1/2·S·(V − ref)/ref / move, 0, 1)   where it traded back: 1 at or
//	           beyond the burst's extreme, ½ at ref, 0 a whole move behind ref (a stop-out)
//	reversal = min(1, R/Q)                               how much it traded back
//	opening  = clamp(1 − max(0, −S·position)/Q, 0, 1)    the share of the burst that opened a
//	           position rather than closed one (a hedger flattening its inventory scores 0)
//	score    = (size · push · share · into)^(1/4) · √reversal · opening
//
// A burst in which the symbol saw at least `cascade_liquidations` liquidations on the burst's
// side between its start and its scoring is left to liquidation_hunt: pushing the price through
// leveraged positions and buying back is that detector's pattern (0 turns this off).
//
// Every burst whose score is above 0 gives one alert at the moment it is scored; min_score only
// filters them (the bursts, their merging and the scoring time do not depend on it). Accounts: the
// account. Window: the burst's first trade to the last reversal execution. Evidence: up to 100
// trade ids and their order ids of the burst and of the reversal; features burst_qty,
// burst_orders, typical_qty, move_bp, market_share, reversal_qty, reversal_fraction, into_bp,
// position_before, opening_fraction, liquidations.
//
// # State
//
// Per symbol: the last trade price and index, the open bursts (accounts with a taker execution in
// the last `burst_gap` seconds), bursts waiting for their reversal (forgotten when scored,
// `reversal_window` after their last trade; at most `max_candidates` in all, further bursts are
// not considered until room frees), the liquidations of the last burst_window + reversal_window
// + burst_gap seconds; the typical order size; the positions tracker (accounts active within
// position_horizon, at most `max_accounts`).
//
// # Groups
//
// A group of configurations (a sweep, detectors.Spec.NewGroup) keeps the state above once per
// distinct value of the parameters it depends on (burst_gap, burst_window, reversal_window,
// position_horizon, typical_halflife, max_accounts): the prices, the open bursts, the
// liquidations, the typical size and the positions. The bursts waiting for their reversal and
// their reversals are kept once per distinct (min_burst_orders, min_burst_ratio,
// max_candidates), the filter that makes them; a scored burst's terms are computed once, and
// only size_scale, move_scale_bp and cascade_liquidations are applied per configuration. A
// single instance is a group of one.
package momentum

import (
	"math"
	"sort"

	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/detectors/internal/positions"
)

// Name is the detector's registry name.
const Name = "momentum_ignition"

// maxEvidence caps the trade ids kept per burst and per reversal.
const maxEvidence = 100

func init() {
	detectors.Register(detectors.Spec{
		Name:    Name,
		Type:    detectors.MomentumIgnition,
		Summary: "an account's burst of aggressive orders moves the price, then it trades the other way into the move",
		Doc: "A burst: one account's taker executions of one side, each within burst_gap of the previous, all within burst_window, " +
			"at least min_burst_orders orders and min_burst_ratio typical order sizes. Reversal: its executions of the other side until " +
			"reversal_window after the burst. Score (size·push·share·into)^(1/4)·√reversal·opening: burst size, the price move it made " +
			"(relative to the index), its share of the taker flow, where it traded back relative to the move, the fraction traded back, " +
			"and the share of the burst that opened (not closed) a position. Bursts with cascade_liquidations liquidations on their " +
			"side are left to liquidation_hunt.",
		Needs:           []detectors.Kind{detectors.KindTrade, detectors.KindLiquidation, detectors.KindMark},
		DefaultMinScore: 0.5,
		Params: []detectors.ParamSpec{
			{Name: "burst_gap", Default: 5, Min: 0.001, Max: 3600, Unit: "s", Doc: "longest pause between two taker executions of one burst"},
			{Name: "burst_window", Default: 30, Min: 0.001, Max: 3600, Unit: "s", Doc: "longest burst, first to last execution"},
			{Name: "reversal_window", Default: 120, Min: 0.001, Max: 86400, Unit: "s", Doc: "opposite executions up to this after the burst's last trade are its reversal"},
			{Name: "min_burst_orders", Default: 3, Min: 1, Max: 1e6, Integer: true, Unit: "count", Doc: "fewest aggressive orders in a burst"},
			{Name: "min_burst_ratio", Default: 3, Min: 0, Max: 1e6, Unit: "ratio", Doc: "smallest burst quantity considered, in typical aggressive order sizes"},
			{Name: "size_scale", Default: 5, Min: 0.01, Max: 1e6, Unit: "ratio", Doc: "burst quantity, in typical aggressive order sizes, at which the size term reaches 1-1/e"},
			{Name: "move_scale_bp", Default: 5, Min: 0.01, Max: 10000, Unit: "bp", Doc: "price move at which the push term reaches 1-1/e"},
			{Name: "cascade_liquidations", Default: 2, Min: 0, Max: 1e6, Integer: true, Unit: "count", Doc: "liquidations on the burst's side that make it a liquidation hunt's, not this detector's (0: never)"},
			{Name: "position_horizon", Default: 3600, Min: 1, Max: 30 * 86400, Unit: "s", Doc: "a position is forgotten after the account has not traded the symbol for this long"},
			{Name: "typical_halflife", Default: 500, Min: 1, Max: 1e7, Unit: "count", Doc: "half-life, in aggressive orders, of the typical aggressive order size's EWMA"},
			{Name: "max_candidates", Default: 100000, Min: 1, Max: 1e8, Integer: true, Unit: "count", Doc: "cap on bursts waiting for their reversal, all symbols"},
			{Name: "max_accounts", Default: 1000000, Min: 1, Max: 1e9, Integer: true, Unit: "count", Doc: "cap on (symbol, account) positions tracked"},
		},
		NewGroup: newGroup,
	})
}

// burst is an open burst (in its layer's state, shared by the layer's filters) or, once closed
// and kept, a filter's own copy waiting for its reversal.
type burst struct {
	account              string
	side                 detectors.Side
	start, last          detectors.Micros
	ref, extreme         float64
	qty                  float64
	market, marketAtLast float64 // the symbol's taker quantity of the burst's side since its start
	orders               int
	lastOrder            int64
	tradeIDs, orderIDs   []int64
	positionBefore       float64
	typical              float64
	deadline             detectors.Micros
	revQty, revNotional  float64
	revLast              detectors.Micros
	revOrder             int64 // the reversal order being filled, by id (and ts)
	revOrderTS           detectors.Micros
	revOrderRel          float64 // the relative price at which it began to fill
	revTrades, revOrders []int64
	done                 bool
}

type liquidation struct {
	ts   detectors.Micros
	side detectors.Side
}

type symbol struct {
	name    string
	index   float64  // the last mark's index price, 0 before the first
	lastRel float64  // the last trade's price relative to the index when it traded
	open    []*burst // at most one per account, in opening order
	liqs    []liquidation
	// expireAt is at most the earliest time an open burst's gap or window is over (a lower
	// bound: a burst's last trade only moves it later): before it, expire has nothing to close.
	expireAt detectors.Micros
	// pending is, per filter of the layer (same index), the symbol's bursts waiting for their
	// reversal.
	pending []pending
}

// pending is one filter's bursts of one symbol waiting for their reversal.
type pending struct {
	waiting []*burst // closed bursts by deadline (non-decreasing: deadline = last + window)
	byAcct  map[string][]*burst
	// scored counts the waiting bursts scored since due last forgot the scored ones.
	scored int
}

// scoring is one configuration's part: the scales of its score and its liquidation cut.
type scoring struct {
	config               int // the configuration's index in the group
	sizeScale, moveScale float64
	cascade              int
}

// filter is the configurations of a layer that keep the same bursts (same min_burst_orders,
// min_burst_ratio and max_candidates): their bursts waiting for a reversal are kept once, and
// scored once for all of them.
type filter struct {
	minRatio                  float64
	minOrders                 int
	maxCandidates, candidates int
	scorings                  []scoring
}

// detector is the state of the configurations sharing the parameters it depends on (a layer of
// a group), and their filters.
type detector struct {
	gap, window, reversal detectors.Micros
	filters               []filter
	symbols               map[string]*symbol
	tracker               *positions.Tracker
	typical               *positions.OrderSizes
	now                   detectors.Micros // the last event's ts
	last                  *symbol          // the last event's symbol: runs of one symbol skip the map
}

// stateKey is the values of the parameters a layer's state depends on.
type stateKey struct {
	gap, window, reversal, horizon detectors.Micros
	halflife                       float64
	maxAccounts                    int
}

// filterKey is the values of the parameters a filter's bursts depend on (within a layer).
type filterKey struct {
	layer                    int
	minRatio                 float64
	minOrders, maxCandidates int
}

// group is the layers of a group of configurations, in the order of their first configuration.
type group = detectors.Layered[*detector]

func newGroup(ps []detectors.Params, _ detectors.Env) (detectors.Group, error) {
	layerOf, n := detectors.Layers(len(ps), func(i int) stateKey {
		p := ps[i]
		return stateKey{
			gap: p.Duration("burst_gap"), window: p.Duration("burst_window"), reversal: p.Duration("reversal_window"),
			horizon: p.Duration("position_horizon"), halflife: p.Get("typical_halflife"), maxAccounts: p.Int("max_accounts"),
		}
	})
	filterOf, _ := detectors.Layers(len(ps), func(i int) filterKey {
		p := ps[i]
		return filterKey{layer: layerOf[i], minRatio: p.Get("min_burst_ratio"), minOrders: p.Int("min_burst_orders"), maxCandidates: p.Int("max_candidates")}
	})
	g := &group{Layers: make([]*detector, n)}
	filterIndex := map[int]int{} // filterOf → index in its layer's filters
	for i, p := range ps {
		d := g.Layers[layerOf[i]]
		if d == nil {
			d = &detector{
				gap: p.Duration("burst_gap"), window: p.Duration("burst_window"), reversal: p.Duration("reversal_window"),
				symbols: map[string]*symbol{},
				tracker: positions.NewTracker(p.Duration("position_horizon"), p.Int("max_accounts")),
				typical: positions.NewOrderSizes(p.Get("typical_halflife")),
			}
			g.Layers[layerOf[i]] = d
		}
		f, ok := filterIndex[filterOf[i]]
		if !ok {
			f = len(d.filters)
			filterIndex[filterOf[i]] = f
			d.filters = append(d.filters, filter{minRatio: p.Get("min_burst_ratio"), minOrders: p.Int("min_burst_orders"), maxCandidates: p.Int("max_candidates")})
		}
		d.filters[f].scorings = append(d.filters[f].scorings, scoring{
			config: i, sizeScale: p.Get("size_scale"), moveScale: p.Get("move_scale_bp"), cascade: p.Int("cascade_liquidations"),
		})
	}
	return g, nil
}

func (d *detector) sym(name string) *symbol {
	if s := d.last; s != nil && s.name == name {
		return s
	}
	s := d.symbols[name]
	if s == nil {
		s = &symbol{name: name, pending: make([]pending, len(d.filters))}
		d.symbols[name] = s
	}
	d.last = s
	return s
}

// known is the symbol's state if it has any (orders alone create none).
func (d *detector) known(name string) *symbol {
	if s := d.last; s != nil && s.name == name {
		return s
	}
	s := d.symbols[name]
	if s != nil {
		d.last = s
	}
	return s
}

func (d *detector) OnEvent(ev *detectors.Event, emit detectors.GroupEmit) {
	d.now = max(d.now, ev.TS)
	switch ev.Kind {
	case detectors.KindTrade:
		s := d.sym(ev.Symbol)
		d.expire(s, ev.TS)
		d.due(ev.Symbol, s, ev.TS-1, emit) // windows that ended before this trade
		d.onTrade(s, ev, emit)
		d.due(ev.Symbol, s, ev.TS, emit)
	case detectors.KindLiquidation:
		s := d.sym(ev.Symbol)
		side := ev.Liquidation.Side
		if side == detectors.Buy || side == detectors.Sell {
			s.liqs = append(s.liqs, liquidation{ev.TS, side})
		}
		d.expire(s, ev.TS)
		d.due(ev.Symbol, s, ev.TS, emit)
	case detectors.KindMark:
		s := d.sym(ev.Symbol)
		if x := ev.Mark.IndexPrice; x > 0 && !math.IsInf(x, 0) {
			s.index = x
		}
		d.expire(s, ev.TS)
		d.due(ev.Symbol, s, ev.TS, emit)
	default:
		if s := d.known(ev.Symbol); s != nil {
			d.expire(s, ev.TS)
			d.due(ev.Symbol, s, ev.TS, emit)
		}
	}
}

// expire closes the open bursts whose gap or window has passed. It is called at every event of
// the symbol (orders too), so it looks at the open bursts only once one may be due.
func (d *detector) expire(s *symbol, now detectors.Micros) {
	if len(s.open) > 0 && now > s.expireAt {
		keep := s.open[:0]
		s.expireAt = math.MaxInt64
		for _, b := range s.open {
			if now-b.last > d.gap || now-b.start > d.window {
				d.close(s, b)
			} else {
				keep = append(keep, b)
				s.expireAt = min(s.expireAt, d.expiry(b))
			}
		}
		clear(s.open[len(keep):])
		s.open = keep
	}
	// Liquidations older than any burst still open or waiting can go.
	cut := 0
	for cut < len(s.liqs) && s.liqs[cut].ts < now-d.window-d.reversal-d.gap {
		cut++
	}
	if cut > 0 {
		s.liqs = append(s.liqs[:0], s.liqs[cut:]...)
	}
}

// expiry is the last instant at which an open burst is still open: after it, its gap or window
// is over.
func (d *detector) expiry(b *burst) detectors.Micros {
	return min(b.last+d.gap, b.start+d.window)
}

// close hands a burst leaving the open ones to every filter. The burst is not changed after: a
// filter keeping it keeps a copy.
func (d *detector) close(s *symbol, b *burst) {
	for i := range d.filters {
		d.closeFor(&d.filters[i], &s.pending[i], b)
	}
}

// closeFor turns a closed burst into one of the filter's candidates waiting for its reversal, or
// merges it into the account's waiting burst of the same side that has no reversal yet.
func (d *detector) closeFor(f *filter, p *pending, b *burst) {
	if b.qty < f.minRatio*b.typical || b.orders < f.minOrders {
		// Too small on its own; but a waiting burst of the account may still grow by it.
		d.merge(p, b)
		return
	}
	if d.merge(p, b) {
		return
	}
	if f.candidates >= f.maxCandidates {
		return
	}
	w := new(burst)
	*w = *b
	// Full slice expressions: appending to the copy's evidence never writes into b's arrays,
	// which other filters copy too.
	w.tradeIDs, w.orderIDs = b.tradeIDs[:len(b.tradeIDs):len(b.tradeIDs)], b.orderIDs[:len(b.orderIDs):len(b.orderIDs)]
	w.deadline = b.last + d.reversal
	p.waiting = append(p.waiting, w)
	if p.byAcct == nil {
		p.byAcct = map[string][]*burst{}
	}
	p.byAcct[w.account] = append(p.byAcct[w.account], w)
	f.candidates++
}

// merge adds a closed burst to the account's waiting burst of the same side that has no
// reversal yet, if there is one.
func (d *detector) merge(p *pending, b *burst) bool {
	for _, w := range p.byAcct[b.account] {
		if !w.done && w.side == b.side && w.revQty == 0 && b.start-w.last <= d.window {
			w.qty += b.qty
			w.marketAtLast += b.marketAtLast
			w.orders += b.orders
			w.last = b.last
			if float64(b.side)*(b.extreme-w.extreme) > 0 {
				w.extreme = b.extreme
			}
			w.tradeIDs = appendCapped(w.tradeIDs, b.tradeIDs...)
			w.orderIDs = appendCapped(w.orderIDs, b.orderIDs...)
			w.deadline = b.last + d.reversal
			// Keep the waiting list ordered by deadline: move w to the end.
			for i, x := range p.waiting {
				if x == w {
					p.waiting = append(p.waiting[:i], p.waiting[i+1:]...)
					break
				}
			}
			p.waiting = append(p.waiting, w)
			return true
		}
	}
	return false
}

func (d *detector) onTrade(s *symbol, ev *detectors.Event, emit detectors.GroupEmit) {
	t := &ev.Trade
	if !positions.Valid(t) {
		return
	}
	side := t.TakerSide
	if a := t.TakerAccount; a != "" && a != t.MakerAccount {
		var b *burst
		for i, x := range s.open {
			if x.account == a {
				if x.side == side {
					b = x
				} else {
					d.close(s, x)
					s.open = append(s.open[:i], s.open[i+1:]...)
				}
				break
			}
		}
		if b == nil {
			// (a taker execution of the other side closed the account's open burst just above, so
			// that the execution below counts as its reversal)
			typical, ok := d.typical.Get(ev.Symbol)
			if !ok {
				typical = t.Qty
			}
			ref := s.lastRel
			if ref <= 0 {
				ref = s.rel(t.Price)
			}
			b = &burst{
				account: a, side: side, start: ev.TS, ref: ref, extreme: ref, typical: typical,
				positionBefore: d.tracker.Position(ev.Symbol, a),
			}
			s.open = append(s.open, b)
		}
		b.last = ev.TS
		s.expireAt = min(s.expireAt, d.expiry(b))
		b.qty += t.Qty
		b.market += t.Qty
		b.marketAtLast = b.market
		if t.TakerOrderID != b.lastOrder || b.orders == 0 {
			b.orders++
			b.lastOrder = t.TakerOrderID
			if t.TakerOrderID != 0 {
				b.orderIDs = appendCapped(b.orderIDs, t.TakerOrderID)
			}
		}
		b.tradeIDs = appendCapped(b.tradeIDs, t.TradeID)
	}
	// Reversal executions: the taker's trades of side −S, the maker's of side −S (its side is
	// the taker's opposite, so the taker side is S). Self-trades reverse nothing.
	if t.TakerAccount != t.MakerAccount {
		rel := s.rel(t.Price)
		for i := range s.pending {
			p := &s.pending[i]
			if len(p.waiting) == 0 {
				continue // (every burst of byAcct is in waiting)
			}
			for _, w := range p.byAcct[t.TakerAccount] {
				if !w.done && w.side == -side {
					d.reverse(w, ev, rel, t.TakerOrderID)
				}
			}
			for _, w := range p.byAcct[t.MakerAccount] {
				if !w.done && w.side == side {
					d.reverse(w, ev, rel, t.MakerOrderID)
				}
			}
		}
	}
	for _, b := range s.open {
		if p := s.rel(t.Price); float64(b.side)*(p-b.extreme) > 0 {
			b.extreme = p
		}
		if b.side == side && b.account != t.TakerAccount {
			b.market += t.Qty
		}
	}
	s.lastRel = s.rel(t.Price)
	d.typical.Add(ev.TS, ev.Symbol, t)
	d.tracker.OnTrade(ev.TS, ev.Symbol, t)
	// A burst traded back in full is scored at once.
	for i := range s.pending {
		p := &s.pending[i]
		for _, w := range p.waiting {
			if !w.done && w.revQty >= w.qty {
				d.score(&d.filters[i], ev.Symbol, s, p, w, ev.TS, emit)
			}
		}
	}
}

// rel is a price relative to the index (the price itself before the first mark): what the
// detector compares, so that a move of the whole market is not taken for the burst's.
func (s *symbol) rel(price float64) float64 {
	if s.index > 0 {
		return price / s.index
	}
	return price
}

func (d *detector) reverse(w *burst, ev *detectors.Event, rel float64, orderID int64) {
	t := &ev.Trade
	// Each reversal order is valued at the price where it began to fill: an order sweeping the
	// book is not held against the account for the levels it eats (without order ids, the
	// trades of one ts are one order).
	if orderID != w.revOrder || (orderID == 0 && ev.TS != w.revOrderTS) || w.revQty == 0 {
		w.revOrder, w.revOrderTS, w.revOrderRel = orderID, ev.TS, rel
	}
	w.revQty += t.Qty
	w.revNotional += t.Qty * w.revOrderRel
	w.revLast = ev.TS
	w.revTrades = appendCapped(w.revTrades, t.TradeID)
	if orderID != 0 && (len(w.revOrders) == 0 || w.revOrders[len(w.revOrders)-1] != orderID) {
		w.revOrders = appendCapped(w.revOrders, orderID)
	}
}

func appendCapped(dst []int64, ids ...int64) []int64 {
	for _, id := range ids {
		if len(dst) >= maxEvidence {
			break
		}
		dst = append(dst, id)
	}
	return dst
}

// due scores the waiting bursts whose reversal window has passed and forgets scored ones.
func (d *detector) due(name string, s *symbol, now detectors.Micros, emit detectors.GroupEmit) {
	for i := range s.pending {
		p := &s.pending[i]
		f := &d.filters[i]
		for _, w := range p.waiting {
			if w.deadline > now {
				break
			}
			if !w.done {
				d.score(f, name, s, p, w, now, emit)
			}
		}
		if p.scored == 0 {
			continue // nothing to forget
		}
		p.scored = 0
		keep := p.waiting[:0]
		for _, w := range p.waiting {
			if w.done {
				forget(f, p, w)
			} else {
				keep = append(keep, w)
			}
		}
		clear(p.waiting[len(keep):])
		p.waiting = keep
	}
}

func forget(f *filter, p *pending, w *burst) {
	list := p.byAcct[w.account]
	for i, x := range list {
		if x == w {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(p.byAcct, w.account)
	} else {
		p.byAcct[w.account] = list
	}
	f.candidates--
}

// score rates a burst and its reversal once, and emits an alert for each configuration of the
// filter under which the score is above 0.
func (d *detector) score(f *filter, name string, s *symbol, p *pending, w *burst, now detectors.Micros, emit detectors.GroupEmit) {
	w.done = true
	p.scored++
	if w.revQty <= 0 || w.ref <= 0 || w.qty <= 0 {
		return
	}
	liqs := 0
	for _, l := range s.liqs {
		if l.side == w.side && l.ts >= w.start && l.ts <= now {
			liqs++
		}
	}
	sgn := float64(w.side)
	moveBP := sgn * (w.extreme - w.ref) / w.ref * 1e4
	vwap := w.revNotional / w.revQty
	intoBP := sgn * (vwap - w.ref) / w.ref * 1e4
	into := 0.0
	if moveBP > 0 {
		into = math.Max(0, math.Min(1, 0.5+0.5*intoBP/moveBP))
	}
	opening := math.Max(0, math.Min(1, 1-math.Max(0, -sgn*w.positionBefore)/w.qty))
	reversal := math.Min(1, w.revQty/w.qty)
	share := math.Min(1, w.qty/w.marketAtLast)
	// The evidence does not depend on the configuration: built for the first that alerts,
	// shared by the others (read-only, detectors.Group).
	var evidence *detectors.Evidence
	for _, c := range f.scorings {
		if c.cascade > 0 && liqs >= c.cascade {
			continue // left to liquidation_hunt
		}
		size := positions.Squash(w.qty/w.typical, c.sizeScale)
		push := positions.Squash(moveBP, c.moveScale)
		sc := math.Pow(size*push*into*share, 0.25) * math.Sqrt(reversal) * opening
		if !(sc > 0) {
			continue
		}
		end := max(w.last, w.revLast)
		if evidence == nil {
			evidence = &detectors.Evidence{
				TradeIDs: append(append([]int64(nil), w.tradeIDs...), w.revTrades...),
				OrderIDs: append(append([]int64(nil), w.orderIDs...), w.revOrders...),
				Features: map[string]float64{
					"burst_qty": w.qty, "burst_orders": float64(w.orders), "typical_qty": w.typical, "move_bp": moveBP,
					"reversal_qty": w.revQty, "reversal_fraction": reversal, "into_bp": intoBP,
					"position_before": w.positionBefore, "opening_fraction": opening, "liquidations": float64(liqs),
					"market_share": share,
				},
			}
		}
		emit(c.config, detectors.Alert{
			Symbol: name, Accounts: []string{w.account}, TS: now, WindowStart: w.start, WindowEnd: end, Score: sc,
			Evidence: *evidence,
		})
	}
}

// Flush scores every burst still waiting: the input ended before its reversal window did.
func (d *detector) Flush(emit detectors.GroupEmit) {
	names := make([]string, 0, len(d.symbols))
	for n := range d.symbols {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := d.symbols[n]
		for _, b := range s.open {
			d.close(s, b)
		}
		s.open = nil
		for i := range s.pending {
			p, f := &s.pending[i], &d.filters[i]
			for _, w := range p.waiting {
				if !w.done {
					d.score(f, n, s, p, w, d.now, emit)
				}
			}
			p.waiting, p.byAcct = nil, nil
			f.candidates = 0
		}
	}
}
