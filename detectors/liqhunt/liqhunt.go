// Package liqhunt is the liquidation_hunt detector: an account pushes the price with aggressive
// orders through leveraged positions' liquidation prices, and holds a position that profits from
// the cascade of forced closes it triggers.
//
// # Definition
//
// A cascade is a run of at least `min_liquidations` liquidations of one symbol and one side L
// (the liquidation orders' side: sell when longs are liquidated), each within `cascade_gap`
// seconds of the previous. It is scored at the symbol's first event at least
// max(`cascade_gap`, `cover_window`) seconds after its last liquidation. The push window runs from
// `push_window` seconds before the first liquidation to the last. In it, the push of an owner
// (its owner_group from the accounts table, or the account itself) is its accounts' taker
// executions of side L that are not liquidation orders themselves (a trade is a liquidation
// order's when its taker is the liquidated account, on side L, at the liquidation's ts). With
//
//	typical  the symbol's typical aggressive order size (EWMA of log qty over taker orders,
//	         half-life `typical_halflife` orders)
//	push     the owner's push quantity; share = push / all non-liquidation taker quantity of
//	         side L in the window
//	before   the owner's position on the side that gains from the cascade (short when longs are
//	         liquidated) when the push window began: the sum of its accounts' net positions
//	         (package detectors/internal/positions, trades within `position_horizon`) before
//	         their first trade in the window
//	cover    the owner's executions of the other side (taker or maker, not liquidation orders)
//	         from the first liquidation to the scoring: buying back into the cascade
//
// the owner's score is the weighted geometric mean
//
//	score   = (size · share³ · cascade² · gain²)^(1/8)
//	size    = 1 − exp(−push/typical / size_scale)
//	cascade = 1 − exp(−liquidations / count_scale)
//	gain    = 1 − exp(−max(before, cover)/typical / benefit_scale)
//
// A big honest order that sets off liquidations while closing a long, or opening a short it keeps,
// has no position that gained before it started and buys nothing back: gain 0. A short that merely
// profits from someone else's push has share 0. Natural liquidations one at a time are no cascade.
//
// Every owner with a score above 0 gives one alert when the cascade is scored; min_score only
// filters them (cascades and their scoring time do not depend on it). Accounts: the owner's
// accounts that pushed. Window: its first push trade to the scoring. Evidence: up to 100 push trade
// ids and their order ids; features push_qty, push_share, liquidations, liquidated_qty,
// position_before, cover_qty, typical_qty, move_bp (the last trade price before the push window
// to the most extreme trade price from the window's start, in the direction L).
//
// # State
//
// Per symbol: the trades of the last push_window seconds, and while a cascade is open every trade
// since its push window began (at most `max_window_trades`, the oldest dropped beyond), the open
// cascades (one per side); the typical order size; the positions tracker (accounts active within
// position_horizon, at most `max_accounts`).
//
// # Groups
//
// A group of configurations (a sweep, detectors.Spec.NewGroup) keeps all of that state once per
// distinct value of the parameters it depends on (cascade_gap, push_window, cover_window,
// position_horizon, typical_halflife, max_window_trades, max_accounts), and gathers a cascade's
// pushers once for them; only min_liquidations, size_scale, count_scale and benefit_scale, which
// decide and shape the score alone, are per configuration. A single instance is a group of one.
package liqhunt

import (
	"math"
	"slices"
	"sort"

	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/detectors/internal/positions"
)

// Name is the detector's registry name.
const Name = "liquidation_hunt"

// maxEvidence caps the trade ids kept per alert.
const maxEvidence = 100

func init() {
	detectors.Register(detectors.Spec{
		Name:    Name,
		Type:    detectors.LiquidationHunt,
		Summary: "price pushed through leveraged positions' liquidation prices by an account whose position profits from the cascade",
		Doc: "A cascade: at least min_liquidations liquidations of one side within cascade_gap of each other. Pushers: owners with " +
			"taker executions on the liquidations' side from push_window before the first liquidation to the last. Score " +
			"(size·share³·cascade²·gain²)^(1/8): push size, share of the window's aggressive flow on that side, number of liquidations, " +
			"and the owner's gain from the cascade (its position on the gaining side before the push, or what it bought back into it).",
		Needs:           []detectors.Kind{detectors.KindTrade, detectors.KindLiquidation},
		NeedsAccounts:   true,
		DefaultMinScore: 0.5,
		Params: []detectors.ParamSpec{
			{Name: "cascade_gap", Default: 30, Min: 0.001, Max: 3600, Unit: "s", Doc: "liquidations of one side within this of each other are one cascade"},
			{Name: "push_window", Default: 60, Min: 0.001, Max: 3600, Unit: "s", Doc: "aggressive flow from this long before the first liquidation counts as the push"},
			{Name: "cover_window", Default: 60, Min: 0, Max: 3600, Unit: "s", Doc: "buying back up to this after the last liquidation counts; the cascade is scored then"},
			{Name: "size_scale", Default: 10, Min: 0.01, Max: 1e6, Unit: "ratio", Doc: "push, in typical aggressive order sizes, at which the size term reaches 1-1/e"},
			{Name: "min_liquidations", Default: 2, Min: 1, Max: 1e6, Integer: true, Unit: "count", Doc: "fewest liquidations that make a cascade"},
			{Name: "count_scale", Default: 3, Min: 0.01, Max: 1e6, Unit: "count", Doc: "liquidations at which the cascade term reaches 1-1/e"},
			{Name: "benefit_scale", Default: 5, Min: 0.01, Max: 1e6, Unit: "ratio", Doc: "gaining position or buy-back, in typical aggressive order sizes, at which the gain term reaches 1-1/e"},
			{Name: "position_horizon", Default: 3600, Min: 1, Max: 30 * 86400, Unit: "s", Doc: "a position is forgotten after the account has not traded the symbol for this long"},
			{Name: "typical_halflife", Default: 500, Min: 1, Max: 1e7, Unit: "count", Doc: "half-life, in aggressive orders, of the typical aggressive order size's EWMA"},
			{Name: "max_window_trades", Default: 200000, Min: 1, Max: 1e8, Integer: true, Unit: "count", Doc: "cap on the trades kept per symbol"},
			{Name: "max_accounts", Default: 1000000, Min: 1, Max: 1e9, Integer: true, Unit: "count", Doc: "cap on (symbol, account) positions tracked"},
		},
		NewGroup: newGroup,
	})
}

type trade struct {
	ts                   detectors.Micros
	id                   int64
	taker, maker         string
	takerOrd, makerOrd   int64
	side                 detectors.Side // taker side
	qty, price           float64
	forced               bool // a liquidation order's execution
	takerPos, makerPos   float64
	takerSeen, makerSeen bool
}

type cascade struct {
	side        detectors.Side
	first, last detectors.Micros
	n           int
	qty         float64
	extreme     float64
	before      float64 // last trade price before the push window, 0 if unknown
}

type symbol struct {
	trades   []trade // by ts; trades[head:] are live
	head     int
	cascades []*cascade // open, at most one per side, in opening order
	last     float64
	dropped  float64 // price of the latest trade trimmed from the window
}

// scoring is the part of a configuration that only decides and shapes the score of a cascade's
// pushers: it is kept per configuration of a group.
type scoring struct {
	config                              int // index in the group
	sizeScale, countScale, benefitScale float64
	minLiqs                             int
}

// detector is the state of the configurations sharing the parameters it depends on (a layer of
// a group), and their scorings.
type detector struct {
	gap, push, cover, horizon detectors.Micros
	maxTrades                 int
	minLiqs                   int // the smallest of the scorings' min_liquidations
	scorings                  []scoring
	owner                     map[string]string
	symbols                   map[string]*symbol
	tracker                   *positions.Tracker
	typical                   *positions.OrderSizes
	now                       detectors.Micros
	dropped                   int64
}

// stateKey is the values of the parameters a layer's state depends on.
type stateKey struct {
	gap, push, cover, horizon detectors.Micros
	halflife                  float64
	maxTrades, maxAccounts    int
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
			gap: p.Duration("cascade_gap"), push: p.Duration("push_window"), cover: p.Duration("cover_window"),
			horizon: p.Duration("position_horizon"), halflife: p.Get("typical_halflife"),
			maxTrades: p.Int("max_window_trades"), maxAccounts: p.Int("max_accounts"),
		}
	})
	g := &group{Layers: make([]*detector, n)}
	for i, p := range ps {
		sc := scoring{
			config: i, sizeScale: p.Get("size_scale"), countScale: p.Get("count_scale"),
			benefitScale: p.Get("benefit_scale"), minLiqs: p.Int("min_liquidations"),
		}
		d := g.Layers[layerOf[i]]
		if d == nil {
			d = &detector{
				gap: p.Duration("cascade_gap"), push: p.Duration("push_window"), cover: p.Duration("cover_window"),
				maxTrades: p.Int("max_window_trades"), minLiqs: sc.minLiqs,
				owner: owner, symbols: map[string]*symbol{},
				tracker: positions.NewTracker(p.Duration("position_horizon"), p.Int("max_accounts")),
				typical: positions.NewOrderSizes(p.Get("typical_halflife")),
			}
			g.Layers[layerOf[i]] = d
		}
		d.minLiqs = min(d.minLiqs, sc.minLiqs)
		d.scorings = append(d.scorings, sc)
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
	s := d.symbols[ev.Symbol]
	switch ev.Kind {
	case detectors.KindTrade:
		s = d.sym(ev.Symbol)
		d.due(ev.Symbol, s, ev.TS, emit)
		d.onTrade(ev, s)
	case detectors.KindLiquidation:
		s = d.sym(ev.Symbol)
		d.due(ev.Symbol, s, ev.TS, emit)
		d.onLiquidation(ev, s)
	default:
		if s != nil {
			d.due(ev.Symbol, s, ev.TS, emit)
		}
	}
}

func (d *detector) onTrade(ev *detectors.Event, s *symbol) {
	t := &ev.Trade
	if !positions.Valid(t) {
		return
	}
	tr := trade{
		ts: ev.TS, id: t.TradeID, taker: t.TakerAccount, maker: t.MakerAccount, takerOrd: t.TakerOrderID,
		makerOrd: t.MakerOrderID, side: t.TakerSide, qty: t.Qty, price: t.Price,
	}
	d.typical.Add(ev.TS, ev.Symbol, t)
	d.tracker.OnTrade(ev.TS, ev.Symbol, t)
	// Positions after the trade, for the exposure path.
	if tr.taker != "" {
		tr.takerPos, tr.takerSeen = d.tracker.Position(ev.Symbol, tr.taker), true
	}
	if tr.maker != "" {
		tr.makerPos, tr.makerSeen = d.tracker.Position(ev.Symbol, tr.maker), true
	}
	for _, c := range s.cascades {
		if float64(c.side)*(t.Price-c.extreme) > 0 {
			c.extreme = t.Price
		}
	}
	s.trades = append(s.trades, tr)
	d.trim(s, ev.TS)
	s.last = t.Price
}

// trim drops trades no open or future cascade can use: older than push_window, or than the
// oldest open cascade's push window; and the oldest beyond max_window_trades.
func (d *detector) trim(s *symbol, now detectors.Micros) {
	keep := now - d.push
	for _, c := range s.cascades {
		keep = min(keep, c.first-d.push)
	}
	for s.head < len(s.trades) && (s.trades[s.head].ts < keep || len(s.trades)-s.head > d.maxTrades) {
		if s.trades[s.head].ts >= keep {
			d.dropped++
		}
		s.dropped = s.trades[s.head].price
		s.head++
	}
	if s.head > 1024 && s.head*2 > len(s.trades) {
		s.trades = append(s.trades[:0], s.trades[s.head:]...)
		s.head = 0
	}
}

func (d *detector) onLiquidation(ev *detectors.Event, s *symbol) {
	l := &ev.Liquidation
	if (l.Side != detectors.Buy && l.Side != detectors.Sell) || !(l.Qty >= 0) || math.IsInf(l.Qty, 0) {
		return
	}
	// The liquidation order's own executions (same ts, the liquidated account as taker).
	for i := len(s.trades) - 1; i >= s.head && s.trades[i].ts == ev.TS; i-- {
		if t := &s.trades[i]; t.taker == l.Account && t.side == l.Side {
			t.forced = true
		}
	}
	var c *cascade
	for _, x := range s.cascades {
		if x.side == l.Side && ev.TS-x.last <= d.gap {
			c = x
		}
	}
	if c == nil {
		c = &cascade{side: l.Side, first: ev.TS}
		// The price before the push window: the last trade before it.
		c.extreme, c.before = s.last, s.dropped
		for i := len(s.trades) - 1; i >= s.head; i-- {
			if s.trades[i].ts < ev.TS-d.push {
				c.before = s.trades[i].price
				break
			}
		}
		for i := s.head; i < len(s.trades); i++ {
			t := &s.trades[i]
			if t.ts >= ev.TS-d.push && float64(c.side)*(t.price-c.extreme) > 0 {
				c.extreme = t.price
			}
		}
		s.cascades = append(s.cascades, c)
	}
	c.last = ev.TS
	c.n++
	c.qty += l.Qty
}

// due scores the cascades whose cover window has passed.
func (d *detector) due(name string, s *symbol, now detectors.Micros, emit detectors.GroupEmit) {
	if len(s.cascades) == 0 {
		return
	}
	wait := max(d.gap, d.cover)
	keep := s.cascades[:0]
	for _, c := range s.cascades {
		if now-c.last >= wait && now > c.last {
			d.score(name, s, c, now, emit)
		} else {
			keep = append(keep, c)
		}
	}
	clear(s.cascades[len(keep):])
	s.cascades = keep
}

type pusher struct {
	owner              string
	accounts           []string
	push, cover        float64
	before             float64 // position on the gaining side when the push window began
	first              detectors.Micros
	tradeIDs, orderIDs []int64
	// evidence is built for the first configuration that alerts on the owner and shared by the
	// others (read-only, detectors.Group): it does not depend on the configuration.
	evidence *detectors.Evidence
}

// score rates every owner that pushed on the cascade's side and emits those above 0, for every
// configuration of the layer whose min_liquidations the cascade reaches.
func (d *detector) score(name string, s *symbol, c *cascade, now detectors.Micros, emit detectors.GroupEmit) {
	from := c.first - d.push
	if c.n < d.minLiqs {
		return
	}
	typical, ok := d.typical.Get(name)
	if !ok || !(typical > 0) {
		return
	}
	var total float64
	by := map[string]*pusher{}
	var order []string
	for i := s.head; i < len(s.trades); i++ {
		t := &s.trades[i]
		if t.ts < from || t.ts > c.last || t.forced || t.side != c.side {
			continue
		}
		total += t.qty
		if t.taker == "" || t.taker == t.maker {
			continue
		}
		o := d.ownerOf(t.taker)
		p := by[o]
		if p == nil {
			p = &pusher{owner: o, first: t.ts}
			by[o] = p
			order = append(order, o)
		}
		p.push += t.qty
		p.accounts = append(p.accounts, t.taker)
		if len(p.tradeIDs) < maxEvidence {
			p.tradeIDs = append(p.tradeIDs, t.id)
			if t.takerOrd != 0 && (len(p.orderIDs) == 0 || p.orderIDs[len(p.orderIDs)-1] != t.takerOrd) {
				p.orderIDs = append(p.orderIDs, t.takerOrd)
			}
		}
	}
	if total <= 0 || len(by) == 0 {
		return
	}
	// Per owner: its position on the gaining side when the push window began (the sum of its
	// accounts' positions before their first trade in the window), and what it bought back from
	// the first liquidation to now.
	sgn := float64(c.side)
	for _, o := range order {
		by[o].accounts = uniqueStrings(by[o].accounts)
	}
	seen := map[string]bool{}
	for i := s.head; i < len(s.trades); i++ {
		t := &s.trades[i]
		if t.ts > now {
			break
		}
		if t.ts < from || t.taker == t.maker {
			continue
		}
		for _, leg := range [2]struct {
			account string
			pos     float64
			known   bool
			side    detectors.Side
		}{{t.taker, t.takerPos, t.takerSeen, t.side}, {t.maker, t.makerPos, t.makerSeen, -t.side}} {
			if !leg.known || leg.account == "" {
				continue
			}
			p := by[d.ownerOf(leg.account)]
			if p == nil {
				continue
			}
			if !seen[leg.account] {
				seen[leg.account] = true
				p.before += sgn * (leg.pos - float64(leg.side)*t.qty)
			}
			if t.ts >= c.first && leg.side == -c.side && !t.forced {
				p.cover += t.qty
			}
		}
	}
	sort.Strings(order)
	moveBP := 0.0
	if c.before > 0 {
		moveBP = sgn * (c.extreme - c.before) / c.before * 1e4
	}
	for _, sc := range d.scorings {
		if c.n < sc.minLiqs {
			continue
		}
		cascadeTerm := positions.Squash(float64(c.n), sc.countScale)
		for _, o := range order {
			p := by[o]
			share := p.push / total
			benefit := math.Max(p.before, p.cover)
			gain := positions.Squash(benefit/typical, sc.benefitScale)
			score := math.Pow(positions.Squash(p.push/typical, sc.sizeScale)*share*share*share*cascadeTerm*cascadeTerm*gain*gain, 1.0/8)
			if !(score > 0) {
				continue
			}
			if p.evidence == nil {
				p.evidence = &detectors.Evidence{
					TradeIDs: slices.Clip(p.tradeIDs), OrderIDs: slices.Clip(p.orderIDs),
					Features: map[string]float64{
						"push_qty": p.push, "push_share": share, "liquidations": float64(c.n), "liquidated_qty": c.qty,
						"position_before": p.before, "cover_qty": p.cover, "typical_qty": typical, "move_bp": moveBP,
					},
				}
			}
			// Each alert has its own accounts: the gate sorts them in place.
			emit(sc.config, detectors.Alert{
				Symbol: name, Accounts: append([]string(nil), p.accounts...), TS: now, WindowStart: p.first, WindowEnd: now, Score: score,
				Evidence: *p.evidence,
			})
		}
	}
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

// Flush scores the cascades still open at the last event seen.
func (d *detector) Flush(emit detectors.GroupEmit) {
	names := make([]string, 0, len(d.symbols))
	for n := range d.symbols {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := d.symbols[n]
		for _, c := range s.cascades {
			d.score(n, s, c, d.now, emit)
		}
		s.cascades = nil
	}
}
