// Package washtrade is the wash_trade detector: episodes of trades in which one beneficial owner
// is on both sides, either the same account as maker and taker, two accounts of the same
// owner_group, or two linked accounts (sharing an ip_hash, a device_hash or a referrer, from the
// accounts table) whose round trips leave both of them flat.
//
// # Definition
//
// A self-trade is a trade whose maker and taker are the same account or two accounts with the
// same non-empty owner_group; its owner is the owner group, or the account when it has none. A
// linked trade is a trade between two accounts of different owners that are linked: equal
// non-empty ip_hash, equal non-empty device_hash, equal non-empty referrer, or one account's
// referrer is the other's id; its owner is the pair. The self-trades (and linked trades) of one
// owner in one symbol form an episode while they come less than `gap` seconds apart. An episode
// is judged once, when it closes: at the first trade of the symbol at least `gap` seconds after
// its last self-trade (or at the end of the input), or when it has lasted `max_episode` seconds
// (a new episode then starts). Its score is
//
//	n     = self-trades in the episode
//	v     = Σ notional / typical trade notional of the symbol (each ratio taken when it happened;
//	        typical = exp of an EWMA of log(price·qty) over the symbol's other trades, half-life
//	        `typical_halflife` trades)
//	share = the owner's self-trade notional / all notional it traded in the symbol, both decayed
//	        exponentially with time constant `window`, at the episode's last self-trade (a
//	        pair's total is both accounts' notional, their trades with each other counted once)
//	flat  = 1 − |net| / gross for a linked pair (net: quantity one account bought from the other,
//	        minus what it sold to it; gross: all quantity between them); 1 for one owner, whose
//	        beneficial position a self-trade never moves
//	score = sqrt((1 − exp(−(n−1)/count_scale)) · (1 − exp(−v/volume_scale))) · share^share_exponent · flat^flat_exponent
//
// (n−1: a self-trade alone is no episode, only its repetition counts).
//
// The score and the episode do not depend on min_score, which only filters: a run at min_score
// t raises exactly the alerts of a run at 0 that score at least t.
//
// The alert's ts is the trade that closed the episode; its accounts are every account on either
// side of the episode's trades; its window runs from the first to the last self-trade; its
// evidence lists their trade and order ids (at most `max_episode_trades`, the latest) and the
// features self_trades, same_account_trades, linked_trades, notional, volume_ratio,
// typical_notional, self_share and flatness.
//
// # State
//
// Per symbol: one float (the typical notional) and the time of its last trade. Per owner (account,
// group or linked pair) and symbol that traded in the last 5·window seconds: two decayed
// sums. Per open episode: its aggregates and at most max_episode_trades trades; episodes close
// `gap` after their last self-trade. A sweep every window seconds of event time forgets
// idle flows. At most `max_owners` flows and, separately, open episodes are tracked: self-trades
// of new owners beyond the cap are ignored and an owner whose flow could not be tracked counts as
// share 1, until room frees up.
//
// A group of configurations (a sweep, detectors.Group) keeps the flows once per
// (same_owner_group, linked_accounts, window, max_owners), the typical notionals once per
// (same_owner_group, linked_accounts, typical_halflife) and the open episodes once per those and
// (gap, max_episode, max_owners, max_episode_trades); count_scale, volume_scale, share_exponent
// and flat_exponent only score. The single detector is a group of one.
package washtrade

import (
	"math"

	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/detectors/internal/episodes"
	"github.com/fds-dev/fds/detectors/internal/symbols"
)

// Name is the detector's registry name.
const Name = "wash_trade"

func init() {
	detectors.Register(detectors.Spec{
		Name:    Name,
		Type:    detectors.WashTrade,
		Summary: "episodes of trades with one beneficial owner on both sides: same account, same owner group, or linked accounts whose round trips leave them flat",
		Doc: "A self-trade has the same account, two accounts of one owner_group, or two linked accounts (shared ip_hash, device_hash or referrer) " +
			"as maker and taker. Self-trades of one owner and symbol less than `gap` seconds apart are one episode, judged when it closes: " +
			"sqrt((1-exp(-(n-1)/count_scale))·(1-exp(-v/volume_scale)))·share^share_exponent·flat^flat_exponent, n the count, v the notional " +
			"in typical trade notionals, share the owner's self-trade share of its decayed notional and flat (linked pairs) 1-|net|/gross of the quantity between them.",
		Needs:           []detectors.Kind{detectors.KindTrade},
		NeedsAccounts:   true,
		DefaultMinScore: 0.5,
		Params: []detectors.ParamSpec{
			{Name: "gap", Default: 180, Min: 1, Max: 86400, Unit: "s", Doc: "self-trades of one owner and symbol less than this apart are one episode; it is judged this long after its last self-trade"},
			{Name: "max_episode", Default: 3600, Min: 1, Max: 7 * 86400, Unit: "s", Doc: "an episode lasting this long is judged and a new one starts"},
			{Name: "count_scale", Default: 1.5, Min: 0.1, Max: 1000, Unit: "count", Doc: "repeated self-trades (beyond the first) at which the count term reaches 1-1/e"},
			{Name: "volume_scale", Default: 1.5, Min: 0.01, Max: 1e6, Unit: "ratio", Doc: "episode notional, in typical trade notionals, at which the volume term reaches 1-1/e"},
			{Name: "share_exponent", Default: 0.25, Min: 0, Max: 10, Unit: "ratio", Doc: "weight of the owner's self-trade share of its volume in the score (0: ignore the share)"},
			{Name: "window", Default: 600, Min: 1, Max: 7 * 86400, Unit: "s", Doc: "time constant of the decayed notional the self-trade share is computed from"},
			{Name: "flat_exponent", Default: 1, Min: 0, Max: 10, Unit: "ratio", Doc: "weight of a linked pair's flatness (1-|net|/gross) in the score"},
			{Name: "typical_halflife", Default: 500, Min: 1, Max: 1e7, Unit: "count", Doc: "half-life, in trades, of the typical trade notional's EWMA"},
			{Name: "same_owner_group", Default: 1, Min: 0, Max: 1, Bool: true, Unit: "bool", Doc: "also count trades between two accounts of one owner_group (0: same account only)"},
			{Name: "linked_accounts", Default: 1, Min: 0, Max: 1, Bool: true, Unit: "bool", Doc: "also count round trips between accounts sharing an ip_hash, device_hash or referrer"},
			{Name: "max_episode_trades", Default: 1000, Min: 1, Max: 1e6, Integer: true, Unit: "count", Doc: "cap on the trades kept as an episode's evidence"},
			{Name: "max_owners", Default: 100000, Min: 1, Max: 1e8, Integer: true, Unit: "count", Doc: "cap on the owners' flows, and separately the open episodes, tracked at once"},
		},
		NewGroup: newGroup,
	})
}

type selfTrade struct {
	tradeID      int64
	makerOrderID int64
	takerOrderID int64
	maker, taker string
}

// key names an owner in a symbol: an owner group, an account without one, or a linked pair
// (owner "a|b", a < b).
type key struct {
	symbol, owner string
	kind          ownerKind
}

type ownerKind uint8

const (
	ownerAccount ownerKind = iota
	ownerGroup
	ownerPair
)

type episode struct {
	k              key
	first, last    detectors.Micros
	n, sameAccount int
	linked         int
	v, notional    float64
	typical        float64
	share          float64
	pairA          string  // the pair's first account (linked pairs)
	net, gross     float64 // quantity pairA bought from the other, net and gross
	trades         []selfTrade
	accounts       map[string]bool
}

// flow is an owner's traded notional in a symbol, decayed with time constant window.
type flow struct {
	total, self float64
	last        detectors.Micros
}

type account struct {
	group, ip, device, referrer string
}

// classLayer says, for the configurations with one (same_owner_group, linked_accounts), what the
// current trade is: a self-trade, a linked pair's trade or neither, and whose.
type classLayer struct {
	sameGroup, linked bool
	// Of the current trade:
	self, pair bool
	k          key    // the owner of a self-trade or the pair
	a          string // the maker, or the pair's first account
}

// flowLayer is the owners' decayed flows as the configurations with one class, window and
// max_owners see them.
type flowLayer struct {
	class     *classLayer
	window    detectors.Micros
	maxOwners int
	flows     map[key]*flow
	nextSweep detectors.Micros
	share     float64 // the current self-trade's owner share
}

// typicalLayer is every symbol's typical trade notional as the configurations with one class
// and typical_halflife learn it (from the trades their class says are not self-trades).
type typicalLayer struct {
	class      *classLayer
	alpha      float64
	logTypical []float64 // by symbol index
	seen       []bool
}

// episodeLayer is the open episodes as the configurations with one class, flow layer, typical
// layer, gap, max_episode, max_owners and max_episode_trades see them; the configurations differ
// only in how they score a closed episode.
type episodeLayer struct {
	class                *classLayer
	flow                 *flowLayer
	typical              *typicalLayer
	gap, maxEpisode      detectors.Micros
	maxOwners, maxTrades int
	episodes             map[key]*episode
	open                 [][]*episode       // by symbol index, in opening order
	deadline             []detectors.Micros // by symbol index
	ownersDropped        int64
	configs              []*config
}

// config is one configuration's scoring.
type config struct {
	index                       int
	countScale, volumeScale     float64
	shareExponent, flatExponent float64
}

// group is the detector: one or many configurations fed the same trades, each layer of state
// kept once for the configurations whose parameters it depends on agree.
type group struct {
	accounts  map[string]account
	symbols   symbols.Index
	lastTrade []detectors.Micros // by symbol index

	classes  []*classLayer
	flows    []*flowLayer
	typicals []*typicalLayer
	episodes []*episodeLayer
}

func newGroup(ps []detectors.Params, env detectors.Env) (detectors.Group, error) {
	g := &group{accounts: map[string]account{}}
	for id, a := range env.Accounts {
		g.accounts[id] = account{group: a.OwnerGroup, ip: a.IPHash, device: a.DeviceHash, referrer: a.Referrer}
	}
	type classKey struct{ sameGroup, linked bool }
	type flowKey struct {
		class     int
		window    detectors.Micros
		maxOwners int
	}
	type typicalKey struct {
		class    int
		halflife float64
	}
	type episodeKey struct {
		flow, typical        int
		gap, maxEpisode      detectors.Micros
		maxOwners, maxTrades int
	}
	classOf, n := detectors.Layers(len(ps), func(i int) classKey {
		return classKey{ps[i].Bool("same_owner_group"), ps[i].Bool("linked_accounts")}
	})
	g.classes = make([]*classLayer, n)
	flowOf, n := detectors.Layers(len(ps), func(i int) flowKey {
		return flowKey{classOf[i], ps[i].Duration("window"), ps[i].Int("max_owners")}
	})
	g.flows = make([]*flowLayer, n)
	typicalOf, n := detectors.Layers(len(ps), func(i int) typicalKey {
		return typicalKey{classOf[i], ps[i].Get("typical_halflife")}
	})
	g.typicals = make([]*typicalLayer, n)
	episodeOf, n := detectors.Layers(len(ps), func(i int) episodeKey {
		return episodeKey{flowOf[i], typicalOf[i], ps[i].Duration("gap"), ps[i].Duration("max_episode"),
			ps[i].Int("max_owners"), ps[i].Int("max_episode_trades")}
	})
	g.episodes = make([]*episodeLayer, n)
	for i, p := range ps {
		c := g.classes[classOf[i]]
		if c == nil {
			c = &classLayer{sameGroup: p.Bool("same_owner_group"), linked: p.Bool("linked_accounts")}
			g.classes[classOf[i]] = c
		}
		f := g.flows[flowOf[i]]
		if f == nil {
			f = &flowLayer{class: c, window: p.Duration("window"), maxOwners: p.Int("max_owners"), flows: map[key]*flow{}}
			g.flows[flowOf[i]] = f
		}
		t := g.typicals[typicalOf[i]]
		if t == nil {
			t = &typicalLayer{class: c, alpha: 1 - math.Exp2(-1/p.Get("typical_halflife"))}
			g.typicals[typicalOf[i]] = t
		}
		e := g.episodes[episodeOf[i]]
		if e == nil {
			e = &episodeLayer{class: c, flow: f, typical: t, gap: p.Duration("gap"), maxEpisode: p.Duration("max_episode"),
				maxOwners: p.Int("max_owners"), maxTrades: p.Int("max_episode_trades"), episodes: map[key]*episode{}}
			g.episodes[episodeOf[i]] = e
		}
		e.configs = append(e.configs, &config{index: i, countScale: p.Get("count_scale"), volumeScale: p.Get("volume_scale"),
			shareExponent: p.Get("share_exponent"), flatExponent: p.Get("flat_exponent")})
	}
	return g, nil
}

// symbol returns the index of a symbol, adding it to every layer when new.
func (g *group) symbol(name string) int {
	i, added := g.symbols.ID(name)
	if !added {
		return i
	}
	g.lastTrade = append(g.lastTrade, 0)
	for _, t := range g.typicals {
		t.logTypical = append(t.logTypical, 0)
		t.seen = append(t.seen, false)
	}
	for _, e := range g.episodes {
		e.open = append(e.open, nil)
		e.deadline = append(e.deadline, 0)
	}
	return i
}

// ownerKey returns the owner of an account in a symbol: its owner group, or the account itself.
func (g *group) ownerKey(symbol, acct string) key {
	if grp := g.accounts[acct].group; grp != "" {
		return key{symbol, grp, ownerGroup}
	}
	return key{symbol, acct, ownerAccount}
}

// areLinked reports whether two accounts share an ip_hash, a device_hash or a referrer, or one
// referred the other.
func (g *group) areLinked(a, b string) bool {
	x, okA := g.accounts[a]
	y, okB := g.accounts[b]
	if !okA || !okB {
		return false
	}
	same := func(p, q string) bool { return p != "" && p == q }
	return same(x.ip, y.ip) || same(x.device, y.device) || same(x.referrer, y.referrer) ||
		x.referrer == b || y.referrer == a
}

// add decays an owner's totals to now and adds a trade's notional; it returns the flow, or nil
// when the owner cannot be tracked (max_owners reached).
func (l *flowLayer) add(k key, now detectors.Micros, notional float64, self bool) *flow {
	f := l.flows[k]
	if f == nil {
		if len(l.flows) >= l.maxOwners {
			return nil
		}
		f = &flow{last: now}
		l.flows[k] = f
	}
	f.decayTo(now, l.window)
	f.total += notional
	if self {
		f.self += notional
	}
	return f
}

func (f *flow) decayTo(now, tau detectors.Micros) {
	if now-f.last >= 5*tau {
		// What the sweep forgets counts as forgotten whether or not a sweep ran yet, so that the
		// sweep's timing (which other symbols' trades drive) never changes a score.
		f.total, f.self, f.last = 0, 0, now
		return
	}
	if now > f.last {
		decay := math.Exp(-float64(now-f.last) / float64(tau))
		f.total *= decay
		f.self *= decay
		f.last = now
	}
}

// Score is the episode score of n self-trades worth v typical notionals by an owner with
// self-trade share `share` and flatness `flat` (see the package doc).
func (c *config) Score(n int, v, share, flat float64) float64 {
	s := math.Sqrt((1 - math.Exp(-float64(n-1)/c.countScale)) * (1 - math.Exp(-v/c.volumeScale)))
	return s * math.Pow(share, c.shareExponent) * math.Pow(flat, c.flatExponent)
}

func (g *group) OnEvent(ev *detectors.Event, emit detectors.GroupEmit) {
	if ev.Kind != detectors.KindTrade {
		return // the clock of this detector is its symbol's trades only
	}
	for _, f := range g.flows {
		if ev.TS >= f.nextSweep {
			f.sweep(ev.TS)
		}
	}
	si := g.symbol(ev.Symbol)
	g.lastTrade[si] = ev.TS
	for _, e := range g.episodes {
		if len(e.open[si]) > 0 && ev.TS >= e.deadline[si] {
			e.closeDue(si, ev.TS, emit)
		}
	}
	t := &ev.Trade
	notional := math.Abs(t.Price * t.Qty)
	if t.MakerAccount == "" || t.TakerAccount == "" || !(notional > 0) || math.IsInf(notional, 0) {
		return // public data has no accounts to relate; a bad print teaches nothing
	}
	km, kt := g.ownerKey(ev.Symbol, t.MakerAccount), g.ownerKey(ev.Symbol, t.TakerAccount)
	sameAccount := t.MakerAccount == t.TakerAccount
	linked := 0 // 1 linked, -1 not, 0 not yet known
	for _, c := range g.classes {
		c.self = sameAccount || (c.sameGroup && km.kind == ownerGroup && km == kt)
		c.pair = false
		if !c.self && c.linked && km != kt {
			if linked == 0 {
				linked = -1
				if g.areLinked(t.MakerAccount, t.TakerAccount) {
					linked = 1
				}
			}
			c.pair = linked == 1
		}
		c.a = t.MakerAccount
		switch {
		case c.self:
			c.k = km
			if sameAccount && km.kind == ownerAccount {
				c.k = key{ev.Symbol, t.MakerAccount, ownerAccount}
			}
		case c.pair:
			a, b := t.MakerAccount, t.TakerAccount
			if b < a {
				a, b = b, a
			}
			c.a, c.k = a, key{ev.Symbol, a + "|" + b, ownerPair}
		}
	}
	for _, f := range g.flows {
		c := f.class
		switch {
		case c.self:
			f.share = 1
			if fl := f.add(c.k, ev.TS, notional, true); fl != nil && fl.total > 0 {
				f.share = math.Min(1, fl.self/fl.total)
			}
		case c.pair:
			// Both accounts' totals include the trade; the pair's own flow counts it once.
			fp := f.add(c.k, ev.TS, notional, true)
			fm := f.add(km, ev.TS, notional, false)
			ft := f.add(kt, ev.TS, notional, false)
			f.share = 1
			if fp != nil && fm != nil && ft != nil {
				if combined := fm.total + ft.total - fp.self; combined > 0 {
					f.share = math.Min(1, fp.self/combined)
				}
			}
		default:
			f.add(km, ev.TS, notional, false)
			f.add(kt, ev.TS, notional, false)
		}
	}
	for _, e := range g.episodes {
		if c := e.class; c.self || c.pair {
			e.add(ev, si, notional, sameAccount, emit)
		}
	}
	// The typical notional learns from the trades that are not self-trades, after the episodes
	// read it (a trade is never both).
	for _, l := range g.typicals {
		if c := l.class; !c.self && !c.pair {
			if !l.seen[si] {
				l.logTypical[si], l.seen[si] = math.Log(notional), true
			} else {
				l.logTypical[si] += l.alpha * (math.Log(notional) - l.logTypical[si])
			}
		}
	}
}

// add puts the current self-trade (or linked trade) into its owner's episode.
func (l *episodeLayer) add(ev *detectors.Event, si int, notional float64, sameAccount bool, emit detectors.GroupEmit) {
	t := &ev.Trade
	c := l.class
	typical := notional
	if tl := l.typical; tl.seen[si] {
		typical = math.Exp(tl.logTypical[si])
	}
	e := l.episodes[c.k]
	if e != nil && ev.TS-e.first >= l.maxEpisode {
		l.close(si, e, ev.TS, emit)
		e = nil
	}
	if e == nil {
		if len(l.episodes) >= l.maxOwners {
			l.ownersDropped++
			return
		}
		e = &episode{k: c.k, first: ev.TS, pairA: c.a, accounts: map[string]bool{}}
		l.episodes[c.k] = e
		l.open[si] = append(l.open[si], e)
	}
	e.last = ev.TS
	e.n++
	if sameAccount {
		e.sameAccount++
	}
	if c.pair {
		e.linked++
		// Signed quantity bought by pairA from the other account.
		buyer := t.TakerAccount
		if t.TakerSide == detectors.Sell {
			buyer = t.MakerAccount
		}
		q := math.Abs(t.Qty)
		if buyer == e.pairA {
			e.net += q
		} else {
			e.net -= q
		}
		e.gross += q
	}
	e.v += notional / typical
	e.notional += notional
	e.typical = typical
	e.share = l.flow.share
	e.accounts[t.MakerAccount], e.accounts[t.TakerAccount] = true, true
	if len(e.trades) >= l.maxTrades {
		e.trades = append(e.trades[:0], e.trades[1:]...)
	}
	e.trades = append(e.trades, selfTrade{tradeID: t.TradeID, makerOrderID: t.MakerOrderID, takerOrderID: t.TakerOrderID,
		maker: t.MakerAccount, taker: t.TakerAccount})
	l.deadline[si] = min(l.deadline[si], e.last+l.gap)
	if len(l.open[si]) == 1 {
		l.deadline[si] = e.last + l.gap
	}
}

// closeDue judges the symbol's episodes whose last self-trade is at least gap before now, in
// opening order, and recomputes the symbol's next deadline.
func (l *episodeLayer) closeDue(si int, now detectors.Micros, emit detectors.GroupEmit) {
	l.open[si], l.deadline[si] = episodes.CloseDue(l.open[si], now, l.gap, false, lastSelfTrade, func(e *episode) {
		l.judge(e, now, emit)
		delete(l.episodes, e.k)
	})
}

func lastSelfTrade(e *episode) detectors.Micros { return e.last }

// close judges one episode before its gap is over (max_episode reached).
func (l *episodeLayer) close(si int, e *episode, now detectors.Micros, emit detectors.GroupEmit) {
	l.judge(e, now, emit)
	delete(l.episodes, e.k)
	open := l.open[si]
	kept := open[:0]
	l.deadline[si] = math.MaxInt64
	for _, x := range open {
		if x != e {
			kept = append(kept, x)
			l.deadline[si] = min(l.deadline[si], x.last+l.gap)
		}
	}
	clear(open[len(kept):])
	l.open[si] = kept
}

// judge scores an episode for every configuration of the layer and emits their alerts at now.
func (l *episodeLayer) judge(e *episode, now detectors.Micros, emit detectors.GroupEmit) {
	flat := 1.0
	if e.k.kind == ownerPair && e.gross > 0 {
		flat = math.Max(0, 1-math.Abs(e.net)/e.gross)
	}
	for _, c := range l.configs {
		emit(c.index, alertOf(e, now, c.Score(e.n, e.v, e.share, flat), flat))
	}
}

// alertOf is an episode's alert: a fresh one per configuration, sharing nothing.
func alertOf(e *episode, now detectors.Micros, score, flat float64) detectors.Alert {
	a := detectors.Alert{
		Symbol: e.k.symbol, TS: now, WindowStart: e.first, WindowEnd: e.last, Score: score,
		Evidence: detectors.Evidence{Features: map[string]float64{
			"self_trades": float64(e.n), "same_account_trades": float64(e.sameAccount), "linked_trades": float64(e.linked),
			"notional": e.notional, "volume_ratio": e.v, "typical_notional": e.typical, "self_share": e.share, "flatness": flat,
		}},
	}
	for acct := range e.accounts {
		a.Accounts = append(a.Accounts, acct)
	}
	a.Accounts = detectors.SortAccounts(a.Accounts)
	for i := range e.trades {
		st := &e.trades[i]
		a.Evidence.TradeIDs = append(a.Evidence.TradeIDs, st.tradeID)
		for _, id := range []int64{st.makerOrderID, st.takerOrderID} {
			if id != 0 {
				a.Evidence.OrderIDs = append(a.Evidence.OrderIDs, id)
			}
		}
	}
	a.Evidence.TradeIDs = detectors.SortedUnique(a.Evidence.TradeIDs)
	a.Evidence.OrderIDs = detectors.SortedUnique(a.Evidence.OrderIDs)
	if e.linked > 0 {
		a.Evidence.Note = "linked accounts (shared ip, device or referrer) trading with each other"
	}
	return a
}

// sweep forgets flows idle for 5 time constants (under 1% of their weight left). Deleting from
// a map in any order gives the same state, so the iteration order does not matter.
func (l *flowLayer) sweep(now detectors.Micros) {
	for k, f := range l.flows {
		if f.last < now-5*l.window {
			delete(l.flows, k)
		}
	}
	l.nextSweep = now + l.window
}

// Flush judges every open episode at its symbol's last trade, symbols in name order.
func (g *group) Flush(emit detectors.GroupEmit) {
	for _, si := range g.symbols.ByName() {
		for _, l := range g.episodes {
			for _, e := range l.open[si] {
				l.judge(e, g.lastTrade[si], emit)
				delete(l.episodes, e.k)
			}
			l.open[si] = nil
		}
	}
}
