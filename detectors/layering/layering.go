// Package layering is the layering detector: several limit orders of one account at several price
// levels on one side of the book, resting together, cancelled together, while the account
// executes on the other side — a false impression of depth that moves other traders, which the
// layerer trades against.
//
// # Definition
//
// The detector follows each account's limit orders in each symbol (new, amend, fill, cancel,
// expire) and keeps the symbol's typical order size: exp of an EWMA (half-life `typical_halflife`
// new limit orders) of log(qty), each value clipped at 5 times the typical so that big orders do
// not become typical. Cancels (and expiries) of one account's orders on one side less than
// `cancel_window` seconds apart form a cluster; the layer is the cluster's orders placed before
// its first cancel (so every one of them was resting at that instant: orders placed and pulled one
// by one within milliseconds, as a quote stuffer's, never make a layer). A layer is judged at the
// symbol's first event more than max(cancel_window, grace) seconds after its last cancel. It is
// layering when:
//
//   - at least `warmup_orders` limit orders of the symbol have been seen;
//   - it holds orders at at least `min_levels` distinct prices, every one cancelled within
//     `max_lifetime` seconds of its placement;
//   - its total quantity is at least `min_layer_ratio` typical sizes, at most
//     `max_filled_fraction` of it filled;
//   - the account executed (as maker or taker) on the other side between the layer's first
//     placement and `grace` seconds after its last cancel, at least `min_opposite_ratio` typical
//     sizes;
//   - the account did not quote the other side: its own quantity resting there when each layer
//     order was placed (the largest of these), plus the limit orders it placed there while the
//     layer rested, is below `max_two_sided_ratio` times the layer's quantity.
//
// Its score is
//
//	levels   = 1 − exp(−levels / levels_scale)
//	size     = 1 − exp(−layer_qty / typical / size_scale)
//	life     = 1 − mean lifetime / (2·max_lifetime)
//	opposite = 1 − exp(−opposite_qty / typical)
//	score    = (levels · size · life · opposite)^(1/4)
//
// Layers of one account and symbol judged less than `episode_gap` seconds apart are one episode,
// judged when it closes: at the symbol's first event at least episode_gap seconds after its last
// layer (or at the end of the input, at the symbol's last event). One alert per episode, scoring
// its best layer. Episodes and scores never depend on min_score, which only filters. The alert's
// accounts are the layerer; its window runs from the first layer's first placement to the last
// layer's judgement; its evidence lists the layers' order ids and the opposite trades' ids and
// order ids, with the best layer's features levels, layer_qty, layer_ratio, mean_lifetime_s,
// cancel_spread_s, filled_fraction, opposite_qty, two_sided_qty and typical_qty, and layers (the
// episode's count).
//
// The detector's clock is each symbol's orders and trades: sharding by symbol changes nothing.
//
// # State
//
// Per symbol: one float, the live limit orders (forgotten `order_horizon` seconds after
// placement, at most `max_open_orders` in all, the oldest first), the pending clusters and the
// open episodes. Per account and symbol with an order or execution in the last
// max_lifetime+cancel_window+grace seconds (or since a pending cluster's first cancel less
// max_lifetime): its resting quantity per side and its recent placements and executions. Once a
// second of the symbol's event time the accounts idle that long with nothing resting and no open
// cluster are forgotten; each account's placements and executions are trimmed to that horizon
// when it next adds one. The forgetting visits only the accounts that went idle or changed since
// (a queue of accounts by last activity), not every account: the same accounts are forgotten at
// the same instants as by a sweep over all of them.
//
// # Groups
//
// A group of configurations (a sweep, detectors.Spec.NewGroup) keeps all of that state (orders,
// accounts, typical size, clusters) once per distinct (`cancel_window`, `max_lifetime`, `grace`,
// `order_horizon`, `typical_halflife`, `warmup_orders`, `max_open_orders`, `max_layer_orders`):
// none of it depends on the other parameters. A judged cluster's features (levels, quantity,
// fill, lifetimes, two-sided quantity, opposite executions) are computed once per layer of state;
// per configuration remain the filters (`min_levels`, `min_layer_ratio`, `max_filled_fraction`,
// `max_two_sided_ratio`, `min_opposite_ratio`), the score (`levels_scale`, `size_scale`) and the
// episodes (`episode_gap`), which depend on which layers pass. The single detector is a group of
// one.
package layering

import (
	"math"
	"sort"

	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/detectors/internal/episodes"
	"github.com/fds-dev/fds/detectors/internal/ring"
)

// Name is the detector's registry name.
const Name = "layering"

// sizeClip caps a new order's size at this many typical sizes when it teaches the typical size.
const sizeClip = 5

// logSizeClip is log(sizeClip), computed once rather than per new order.
var logSizeClip = math.Log(sizeClip)

func init() {
	detectors.Register(detectors.Spec{
		Name:    Name,
		Type:    detectors.Layering,
		Summary: "orders of one account at several price levels on one side, resting together and cancelled together, while it trades the other side",
		Doc: "Cancels of one account's orders on one side less than cancel_window apart are a cluster; its orders placed before its first cancel " +
			"are the layer. Layering: at least min_levels prices, each cancelled within max_lifetime, at least min_layer_ratio typical sizes in all, " +
			"at most max_filled_fraction filled, opposite-side executions of at least min_opposite_ratio typical sizes from the first placement to grace " +
			"after the last cancel, and no two-sided quoting. Score (levels·size·life·opposite)^(1/4); layers less than episode_gap apart are one " +
			"episode, judged when it closes (its best layer's score).",
		Needs:           []detectors.Kind{detectors.KindOrder, detectors.KindTrade},
		DefaultMinScore: 0.5,
		Params: []detectors.ParamSpec{
			{Name: "min_levels", Default: 3, Min: 2, Max: 1000, Integer: true, Unit: "count", Doc: "distinct prices a layer holds"},
			{Name: "cancel_window", Default: 1, Min: 0, Max: 3600, Unit: "s", Doc: "cancels of one account and side less than this apart are one cluster"},
			{Name: "max_lifetime", Default: 30, Min: 0.001, Max: 86400, Unit: "s", Doc: "each layer order is cancelled within this of its placement"},
			{Name: "min_layer_ratio", Default: 3, Min: 0, Max: 1e6, Unit: "ratio", Doc: "the layer's total quantity / typical order size"},
			{Name: "max_filled_fraction", Default: 0.25, Min: 0, Max: 1, Unit: "ratio", Doc: "at most this fraction of the layer's quantity filled"},
			{Name: "min_opposite_ratio", Default: 0.5, Min: 0, Max: 1e6, Unit: "ratio", Doc: "opposite-side executed quantity / typical order size"},
			{Name: "max_two_sided_ratio", Default: 0.5, Min: 0, Max: 1e6, Unit: "ratio", Doc: "own opposite-side quantity / layer quantity at or above which the account is quoting, not layering"},
			{Name: "grace", Default: 1, Min: 0, Max: 3600, Unit: "s", Doc: "opposite executions up to this after the last cancel still count"},
			{Name: "episode_gap", Default: 120, Min: 0, Max: 7 * 86400, Unit: "s", Doc: "layers of one account and symbol less than this apart are one episode; it is judged this long after its last layer"},
			{Name: "levels_scale", Default: 3, Min: 0.1, Max: 1000, Unit: "count", Doc: "levels at which the levels term reaches 1-1/e"},
			{Name: "size_scale", Default: 5, Min: 0.1, Max: 1e6, Unit: "ratio", Doc: "layer size, in typical sizes, at which the size term reaches 1-1/e"},
			{Name: "typical_halflife", Default: 1000, Min: 1, Max: 1e7, Unit: "count", Doc: "half-life, in new limit orders, of the typical order size's EWMA"},
			{Name: "warmup_orders", Default: 100, Min: 0, Max: 1e7, Integer: true, Unit: "count", Doc: "limit orders of a symbol seen before any layer is judged"},
			{Name: "order_horizon", Default: 3600, Min: 1, Max: 30 * 86400, Unit: "s", Doc: "live orders are forgotten this long after placement"},
			{Name: "max_open_orders", Default: 1000000, Min: 1, Max: 1e9, Integer: true, Unit: "count", Doc: "cap on live orders tracked, all symbols"},
			{Name: "max_layer_orders", Default: 1000, Min: 1, Max: 1e6, Integer: true, Unit: "count", Doc: "cap on the orders of one cluster"},
		},
		NewGroup: newGroup,
	})
}

type sideIdx int

func idx(s detectors.Side) sideIdx {
	if s == detectors.Buy {
		return 0
	}
	return 1
}

type order struct {
	account   string
	side      detectors.Side
	price     float64
	qty       float64
	leaves    float64
	filled    float64
	placed    detectors.Micros
	cancelled detectors.Micros
	oppAtNew  float64 // the account's own resting quantity on the other side when this was placed
	id        int64
}

type execution struct {
	ts      detectors.Micros
	side    detectors.Side
	qty     float64
	tradeID int64
	orderID int64
}

type placement struct {
	ts   detectors.Micros
	side detectors.Side
	qty  float64
}

func (x execution) at() detectors.Micros { return x.ts }
func (p placement) at() detectors.Micros { return p.ts }

// recent is an account's recent placements or executions in time order: live ones from head on.
// Trimming advances head; a full array is compacted in place when at least half of it is dead
// (and it is not oversized for what lives), else replaced by one twice the live size. (Re-slicing the head off and appending would
// reallocate every few appends for an account with few live entries.)
type recent[T interface{ at() detectors.Micros }] struct {
	buf  []T
	head int
}

func (r *recent[T]) live() []T { return r.buf[r.head:] }

// add trims the entries before cut and appends x.
func (r *recent[T]) add(x T, cut detectors.Micros) {
	for r.head < len(r.buf) && r.buf[r.head].at() < cut {
		r.head++
	}
	if len(r.buf) == cap(r.buf) {
		n := len(r.buf) - r.head
		if r.head >= n && r.head > 0 && cap(r.buf) <= 8*max(n, 4) {
			copy(r.buf, r.buf[r.head:])
			r.buf = r.buf[:n]
		} else {
			buf := make([]T, n, max(4, 2*n))
			copy(buf, r.buf[r.head:])
			r.buf = buf
		}
		r.head = 0
	}
	r.buf = append(r.buf, x)
}

type acctKey struct{ symbol, account string }

type account struct {
	k          acctKey
	resting    [2]float64
	execs      recent[execution]
	placements recent[placement]
	clusters   [2]*cluster // the open cluster per side
	last       detectors.Micros
	forgotten  bool // deleted from its symbol's accounts
	recheck    bool // queued in its symbol's recheck list
}

// touch is an account's activity at ts, in its symbol's queue by last activity.
type touch struct {
	a  *account
	ts detectors.Micros
}

type cluster struct {
	acct        *account
	side        detectors.Side
	orders      []*order
	firstCancel detectors.Micros
	lastCancel  detectors.Micros
	typical     float64
	warm        bool
}

// layer is a judged cluster that met every condition.
type layer struct {
	c                    *cluster
	orders               []*order
	levels               int
	qty, filled          float64
	meanLife             float64 // seconds
	firstPlaced          detectors.Micros
	oppQty, twoSided     float64
	tradeIDs, oppOrderID []int64
	judgedAt             detectors.Micros
}

type episode struct {
	k     acctKey
	first detectors.Micros
	last  detectors.Micros
	best  *layer
	// bestScore is best's score under the episode's configuration.
	bestScore float64
	count     int
	layers    []*layer
}

type symbolState struct {
	name       string
	orders     map[int64]*order
	accounts   map[string]*account
	nextSweep  detectors.Micros
	logTypical float64
	seen       int
	last       detectors.Micros
	pending    []*cluster // clusters awaiting judgement, in order of their last cancel
	// open holds each configuration's open episodes (by index in the layer); deadline is at or
	// before the earliest instant one of them can close.
	open     []openEpisodes
	deadline detectors.Micros
	// cut is the horizon of the last sweep: what an account recorded before it is no longer
	// needed.
	cut detectors.Micros
	// touches queues the accounts' activity in time order; an account whose last activity is
	// before the sweep's cut is idle and may be forgotten.
	touches ring.Queue[touch]
	// recheck lists the idle accounts whose resting quantity or open clusters changed since the
	// last sweep without any activity of theirs (an order forgotten at the horizon, a cluster
	// judged): the next sweep looks at them again.
	recheck []*account
}

type ageEntry struct {
	placed  detectors.Micros
	s       *symbolState
	orderID int64
}

// stateKey is what the state shared by a group's configurations depends on: configurations with
// equal values of these parameters share one layer of it.
type stateKey struct {
	cancelWindow, maxLife, grace, horizon detectors.Micros
	halflife                              float64
	warmup, maxOpen, maxLayer             int
}

// config is one configuration's filters and scales, and its open episodes (they depend on which
// layers its filters pass).
type config struct {
	index                                 int // in the group's order
	minLevels                             int
	minLayerRatio, maxFilled, minOppRatio float64
	maxTwoSided, levelsScale, sizeScale   float64
	maxLife, gap                          detectors.Micros
	episodes                              map[acctKey]*episode
}

// openEpisodes is one configuration's open episodes of one symbol, in opening order, and the
// earliest instant one of them can close.
type openEpisodes struct {
	episodes []*episode
	deadline detectors.Micros
}

// detector is one layer of a group: the state of the configurations sharing one stateKey, and
// those configurations.
type detector struct {
	warmup, maxOpen, maxLayer    int
	cancelWindow, maxLife, grace detectors.Micros
	horizon, keep                detectors.Micros
	alpha                        float64
	configs                      []*config
	minLevels                    int   // the least of the configurations': fewer orders make no layer
	passing                      []int // scratch: the configurations a layer passes so far
	symbols                      map[string]*symbolState
	ages                         ring.Queue[ageEntry]
	open                         int
	lastSymbol                   *symbolState // the last event's: runs of one symbol skip the map
}

// group is the layers of a group of configurations, in the order of their first configuration.
type group = detectors.Layered[*detector]

func newGroup(ps []detectors.Params, _ detectors.Env) (detectors.Group, error) {
	layerOf, n := detectors.Layers(len(ps), func(i int) stateKey {
		p := ps[i]
		return stateKey{
			cancelWindow: p.Duration("cancel_window"), maxLife: p.Duration("max_lifetime"), grace: p.Duration("grace"),
			horizon: p.Duration("order_horizon"), halflife: p.Get("typical_halflife"),
			warmup: p.Int("warmup_orders"), maxOpen: p.Int("max_open_orders"), maxLayer: p.Int("max_layer_orders"),
		}
	})
	g := &group{Layers: make([]*detector, n)}
	for i, p := range ps {
		d := g.Layers[layerOf[i]]
		if d == nil {
			d = &detector{
				warmup: p.Int("warmup_orders"), maxOpen: p.Int("max_open_orders"), maxLayer: p.Int("max_layer_orders"),
				cancelWindow: p.Duration("cancel_window"), maxLife: p.Duration("max_lifetime"), grace: p.Duration("grace"),
				horizon: p.Duration("order_horizon"), alpha: 1 - math.Exp2(-1/p.Get("typical_halflife")),
				minLevels: math.MaxInt, symbols: map[string]*symbolState{},
			}
			d.keep = d.maxLife + d.cancelWindow + d.grace
			g.Layers[layerOf[i]] = d
		}
		cfg := &config{
			index: i, minLevels: p.Int("min_levels"), minLayerRatio: p.Get("min_layer_ratio"), maxFilled: p.Get("max_filled_fraction"),
			minOppRatio: p.Get("min_opposite_ratio"), maxTwoSided: p.Get("max_two_sided_ratio"), levelsScale: p.Get("levels_scale"),
			sizeScale: p.Get("size_scale"), maxLife: d.maxLife, gap: p.Duration("episode_gap"), episodes: map[acctKey]*episode{},
		}
		d.configs = append(d.configs, cfg)
		d.minLevels = min(d.minLevels, cfg.minLevels)
	}
	return g, nil
}

// Score is a layer's score (see the package doc): levels distinct prices, total quantity and
// opposite-side executions in typical sizes, mean lifetime in seconds.
func (cfg *config) Score(levels int, layerTypicals, meanLifeSeconds, oppositeTypicals float64) float64 {
	lv := 1 - math.Exp(-float64(levels)/cfg.levelsScale)
	size := 1 - math.Exp(-layerTypicals/cfg.sizeScale)
	life := 1 - meanLifeSeconds/(2*float64(cfg.maxLife)/float64(detectors.Second))
	opp := 1 - math.Exp(-oppositeTypicals)
	return math.Pow(math.Max(0, lv*size*life*opp), 0.25)
}

func (d *detector) symbol(name string) *symbolState {
	if s := d.lastSymbol; s != nil && s.name == name {
		return s
	}
	s := d.symbols[name]
	if s == nil {
		s = &symbolState{name: name, orders: map[int64]*order{}, accounts: map[string]*account{},
			open: make([]openEpisodes, len(d.configs)), deadline: math.MaxInt64}
		d.symbols[name] = s
	}
	d.lastSymbol = s
	return s
}

func (d *detector) account(s *symbolState, name string, now detectors.Micros) *account {
	a := s.accounts[name]
	if a == nil {
		a = &account{k: acctKey{s.name, name}, last: math.MinInt64}
		s.accounts[name] = a
	}
	if a.last != now {
		a.last = now
		s.touches.Push(touch{a: a, ts: now})
	}
	return a
}

// changed notes that an account's resting quantity or open clusters changed without activity
// of its own: the next sweep checks whether it can be forgotten now.
func (s *symbolState) changed(a *account) {
	if !a.recheck && !a.forgotten {
		a.recheck = true
		s.recheck = append(s.recheck, a)
	}
}

func (d *detector) OnEvent(ev *detectors.Event, emit detectors.GroupEmit) {
	if ev.Kind != detectors.KindOrder && ev.Kind != detectors.KindTrade {
		return // a symbol's clock is its orders and trades only
	}
	s := d.symbol(ev.Symbol)
	s.last = ev.TS
	wait := max(d.cancelWindow, d.grace)
	for len(s.pending) > 0 && ev.TS-s.pending[0].lastCancel > wait {
		c := s.pending[0]
		s.pending[0] = nil
		s.pending = s.pending[1:]
		d.judge(s, c, c.lastCancel+wait)
	}
	if ev.TS >= s.nextSweep {
		d.sweep(s, ev.TS)
	}
	if ev.TS >= s.deadline {
		s.deadline = math.MaxInt64
		for ci := range d.configs {
			op := &s.open[ci]
			if len(op.episodes) > 0 && ev.TS >= op.deadline {
				d.closeDue(s, ci, ev.TS, false, emit)
			}
			if len(op.episodes) > 0 {
				s.deadline = min(s.deadline, op.deadline)
			}
		}
	}
	switch ev.Kind {
	case detectors.KindOrder:
		d.onOrder(ev, s)
	case detectors.KindTrade:
		d.onTrade(ev, s)
	}
}

func (d *detector) onOrder(ev *detectors.Event, s *symbolState) {
	o := &ev.Order
	d.evictOld(ev.TS)
	if o.Account == "" {
		return
	}
	switch o.Event {
	case detectors.OrderNew:
		if o.Type != detectors.Limit || !(o.Qty > 0) || math.IsInf(o.Qty, 0) || !(o.LeavesQty > 0) {
			return
		}
		d.learnSize(s, o.Qty)
		a := d.account(s, o.Account, ev.TS)
		if old := s.orders[o.OrderID]; old != nil {
			d.unrest(s, old)
		}
		or := &order{account: o.Account, side: o.Side, price: o.Price, qty: o.Qty, leaves: o.LeavesQty, placed: ev.TS,
			oppAtNew: a.resting[1-idx(o.Side)], id: o.OrderID}
		s.orders[o.OrderID] = or
		d.open++
		a.resting[idx(o.Side)] += o.LeavesQty
		a.placements.add(placement{ts: ev.TS, side: o.Side, qty: o.Qty}, s.cut)
		d.ages.Push(ageEntry{placed: ev.TS, s: s, orderID: o.OrderID})
		for d.open > d.maxOpen && d.ages.Len() > 0 {
			d.evictHead()
		}
	case detectors.OrderAmend:
		if or := s.orders[o.OrderID]; or != nil && or.account == o.Account {
			a := d.account(s, o.Account, ev.TS)
			a.resting[idx(or.side)] += o.LeavesQty - or.leaves
			or.price, or.leaves, or.qty = o.Price, o.LeavesQty, math.Max(or.qty, o.Qty)
		}
	case detectors.OrderFill:
		if or := s.orders[o.OrderID]; or != nil && or.account == o.Account {
			a := d.account(s, o.Account, ev.TS)
			a.resting[idx(or.side)] -= or.leaves - o.LeavesQty
			or.filled += o.Qty
			or.leaves = o.LeavesQty
			if or.leaves <= 0 {
				d.unrest(s, or)
			}
		}
	case detectors.OrderCancel, detectors.OrderExpire:
		or := s.orders[o.OrderID]
		if or == nil || or.account != o.Account {
			return
		}
		a := d.account(s, o.Account, ev.TS)
		a.resting[idx(or.side)] -= or.leaves
		d.unrest(s, or)
		or.cancelled = ev.TS
		c := a.clusters[idx(or.side)]
		if c != nil && ev.TS-c.lastCancel >= d.cancelWindow {
			c = nil // that cluster is pending already
		}
		if c == nil {
			c = &cluster{acct: a, side: or.side, firstCancel: ev.TS, typical: math.Exp(s.logTypical), warm: s.seen >= d.warmup && s.seen > 0}
			a.clusters[idx(or.side)] = c
			s.pending = append(s.pending, c)
		}
		c.lastCancel = ev.TS
		// Only orders placed before the cluster's first cancel can be in the layer.
		if or.placed < c.firstCancel && len(c.orders) < d.maxLayer {
			c.orders = append(c.orders, or)
		}
		// Keep pending in order of last cancel: this one moved to the back.
		for i, p := range s.pending {
			if p == c && i != len(s.pending)-1 {
				copy(s.pending[i:], s.pending[i+1:])
				s.pending[len(s.pending)-1] = c
				break
			}
		}
	case detectors.OrderReject:
		if or := s.orders[o.OrderID]; or != nil && or.account == o.Account {
			a := d.account(s, o.Account, ev.TS)
			a.resting[idx(or.side)] -= or.leaves
			d.unrest(s, or)
		}
	}
}

func (d *detector) unrest(s *symbolState, or *order) {
	if s.orders[or.id] == or {
		delete(s.orders, or.id)
		d.open--
	}
}

func (d *detector) learnSize(s *symbolState, qty float64) {
	x := math.Log(qty)
	if s.seen == 0 {
		s.logTypical = x
	} else {
		x = math.Min(x, s.logTypical+logSizeClip)
		s.logTypical += d.alpha * (x - s.logTypical)
	}
	s.seen++
}

func (d *detector) onTrade(ev *detectors.Event, s *symbolState) {
	t := &ev.Trade
	if t.MakerAccount == t.TakerAccount || !(t.Qty > 0) || math.IsInf(t.Qty, 0) {
		return // a self-trade moves no position
	}
	for _, leg := range [2]struct {
		account string
		side    detectors.Side
		orderID int64
	}{{t.TakerAccount, t.TakerSide, t.TakerOrderID}, {t.MakerAccount, t.TakerSide.Opposite(), t.MakerOrderID}} {
		if leg.account == "" {
			continue
		}
		a := d.account(s, leg.account, ev.TS)
		a.execs.add(execution{ts: ev.TS, side: leg.side, qty: t.Qty, tradeID: t.TradeID, orderID: leg.orderID}, s.cut)
	}
}

// judge decides at time at whether a cluster's layer is layering for each configuration and adds
// it to the episode of each configuration it passes. The layer's features are computed once;
// only the filters and the score are per configuration.
func (d *detector) judge(s *symbolState, c *cluster, at detectors.Micros) {
	a := c.acct
	if a.clusters[idx(c.side)] == c {
		a.clusters[idx(c.side)] = nil
		s.changed(a)
	}
	if !c.warm || len(c.orders) < d.minLevels || !(c.typical > 0) {
		return
	}
	l := &layer{c: c, orders: c.orders, firstPlaced: c.orders[0].placed, judgedAt: at}
	prices := map[float64]bool{}
	var life float64
	for _, or := range c.orders {
		if or.cancelled-or.placed > d.maxLife {
			return
		}
		prices[or.price] = true
		l.qty += or.qty
		l.filled += or.filled
		life += float64(or.cancelled-or.placed) / float64(detectors.Second)
		l.firstPlaced = min(l.firstPlaced, or.placed)
		l.twoSided = math.Max(l.twoSided, or.oppAtNew)
	}
	l.levels = len(prices)
	l.meanLife = life / float64(len(c.orders))
	pass := d.passing[:0]
	for ci, cfg := range d.configs {
		if l.levels < cfg.minLevels || l.qty < cfg.minLayerRatio*c.typical || l.filled > cfg.maxFilled*l.qty {
			continue
		}
		pass = append(pass, ci)
	}
	defer func() { d.passing = pass[:0] }()
	if len(pass) == 0 {
		return
	}
	other := c.side.Opposite()
	for _, p := range a.placements.live() {
		if p.side == other && p.ts >= l.firstPlaced && p.ts <= c.lastCancel {
			l.twoSided += p.qty
		}
	}
	kept := pass[:0]
	for _, ci := range pass {
		if !(l.twoSided >= d.configs[ci].maxTwoSided*l.qty) {
			kept = append(kept, ci)
		}
	}
	pass = kept
	if len(pass) == 0 {
		return
	}
	for _, x := range a.execs.live() {
		if x.side == other && x.ts >= l.firstPlaced && x.ts <= c.lastCancel+d.grace {
			l.oppQty += x.qty
			l.tradeIDs = append(l.tradeIDs, x.tradeID)
			if x.orderID != 0 {
				l.oppOrderID = append(l.oppOrderID, x.orderID)
			}
		}
	}
	for _, ci := range pass {
		cfg := d.configs[ci]
		if !(l.oppQty > 0) || l.oppQty < cfg.minOppRatio*c.typical {
			continue
		}
		score := cfg.Score(l.levels, l.qty/c.typical, l.meanLife, l.oppQty/c.typical)
		op := &s.open[ci]
		e := cfg.episodes[a.k]
		if e == nil {
			e = &episode{k: a.k, first: l.firstPlaced}
			cfg.episodes[a.k] = e
			if len(op.episodes) == 0 {
				op.deadline = math.MaxInt64
			}
			op.episodes = append(op.episodes, e)
		}
		e.first = min(e.first, l.firstPlaced)
		e.last = at
		e.count++
		if e.best == nil || score > e.bestScore {
			e.best, e.bestScore = l, score
		}
		if len(e.layers) < 100 {
			e.layers = append(e.layers, l)
		}
		op.deadline = min(op.deadline, at+cfg.gap)
		s.deadline = min(s.deadline, op.deadline)
	}
}

// closeDue emits configuration ci's episodes of the symbol whose gap is over at now (all of them
// at the end of the input), in opening order, and recomputes their deadline.
func (d *detector) closeDue(s *symbolState, ci int, now detectors.Micros, all bool, emit detectors.GroupEmit) {
	cfg, op := d.configs[ci], &s.open[ci]
	op.episodes, op.deadline = episodes.CloseDue(op.episodes, now, cfg.gap, all, lastLayer, func(e *episode) {
		emitEpisode(cfg, e, now, emit)
		delete(cfg.episodes, e.k)
	})
}

func lastLayer(e *episode) detectors.Micros { return e.last }

func emitEpisode(cfg *config, e *episode, now detectors.Micros, emit detectors.GroupEmit) {
	var orderIDs, tradeIDs []int64
	for _, l := range e.layers {
		for _, or := range l.orders {
			orderIDs = append(orderIDs, or.id)
		}
		orderIDs = append(orderIDs, l.oppOrderID...)
		tradeIDs = append(tradeIDs, l.tradeIDs...)
	}
	b := e.best
	spread := float64(b.c.lastCancel-b.c.firstCancel) / float64(detectors.Second)
	emit(cfg.index, detectors.Alert{
		Symbol: e.k.symbol, Accounts: []string{e.k.account}, TS: now, WindowStart: e.first, WindowEnd: e.last, Score: e.bestScore,
		Evidence: detectors.Evidence{
			OrderIDs: detectors.SortedUnique(orderIDs), TradeIDs: detectors.SortedUnique(tradeIDs),
			Features: map[string]float64{
				"levels": float64(b.levels), "layer_qty": b.qty, "layer_ratio": b.qty / b.c.typical, "mean_lifetime_s": b.meanLife,
				"cancel_spread_s": spread, "filled_fraction": b.filled / b.qty, "opposite_qty": b.oppQty, "two_sided_qty": b.twoSided,
				"typical_qty": b.c.typical, "layers": float64(e.count),
			},
		},
	})
}

// evictOld forgets live orders placed more than order_horizon ago.
func (d *detector) evictOld(now detectors.Micros) {
	for d.ages.Len() > 0 && d.ages.Front().placed < now-d.horizon {
		d.evictHead()
	}
}

func (d *detector) evictHead() {
	e := d.ages.Pop()
	s := e.s
	if or := s.orders[e.orderID]; or != nil && or.placed == e.placed {
		if a := s.accounts[or.account]; a != nil {
			a.resting[idx(or.side)] -= or.leaves
			s.changed(a)
		}
		d.unrest(s, or)
	}
}

// sweep, every second of a symbol's event time, forgets the accounts with nothing recent,
// nothing resting and no open cluster. Recent is the last max_lifetime+cancel_window+grace
// seconds, or back to max_lifetime before the first cancel of a pending cluster: the sweep's cut,
// which never decreases, and below which an account's placements and executions are trimmed when
// it adds one (a judged layer only reads those at or after its first placement, which is never
// before its first cancel less max_lifetime, so trimming earlier or later changes nothing).
//
// An account is forgotten at the first sweep at which it is idle (its last activity before the
// cut) with nothing resting and no open cluster. It becomes idle when the cut passes its last
// activity: its entry in the queue by last activity comes out then; while idle, only the
// horizon's eviction of its orders and the judgement of its clusters change the rest, and those
// put it on the recheck list. So visiting these two is the same as visiting every account.
// Per symbol, so that what a symbol's detector state holds depends on that symbol's events only.
// Deletion only: the order of visits does not matter.
func (d *detector) sweep(s *symbolState, now detectors.Micros) {
	cut := now - d.keep
	for _, c := range s.pending {
		cut = min(cut, c.firstCancel-d.maxLife)
	}
	s.cut = cut
	for s.touches.Len() > 0 && s.touches.Front().ts < cut {
		t := s.touches.Pop()
		if t.a.last == t.ts { // else a later touch is queued
			d.forgetIfIdle(s, t.a, cut)
		}
	}
	for i, a := range s.recheck {
		a.recheck = false
		d.forgetIfIdle(s, a, cut)
		s.recheck[i] = nil
	}
	s.recheck = s.recheck[:0]
	s.nextSweep = now + detectors.Second
}

func (d *detector) forgetIfIdle(s *symbolState, a *account, cut detectors.Micros) {
	if !a.forgotten && a.last < cut && a.clusters[0] == nil && a.clusters[1] == nil && a.resting[0] <= 1e-12 && a.resting[1] <= 1e-12 {
		delete(s.accounts, a.k.account)
		a.forgotten = true
		a.execs, a.placements = recent[execution]{}, recent[placement]{}
	}
}

// Flush judges the pending clusters and closes every open episode at its symbol's last event,
// symbols in name order.
func (d *detector) Flush(emit detectors.GroupEmit) {
	names := make([]string, 0, len(d.symbols))
	for n := range d.symbols {
		names = append(names, n)
	}
	sort.Strings(names)
	wait := max(d.cancelWindow, d.grace)
	for _, n := range names {
		s := d.symbols[n]
		for _, c := range s.pending {
			d.judge(s, c, min(c.lastCancel+wait, s.last))
		}
		s.pending = nil
		for ci := range d.configs {
			d.closeDue(s, ci, s.last, true, emit)
		}
		s.deadline = math.MaxInt64
	}
}
