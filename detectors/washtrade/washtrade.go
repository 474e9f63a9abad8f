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
package washtrade

import (
	"math"
	"sort"

	"github.com/fds-dev/fds/detectors"
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
		New: newDetector,
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

type symbolState struct {
	logTypical float64
	seen       bool
	lastTrade  detectors.Micros
	open       []*episode // in opening order
	deadline   detectors.Micros
}

type account struct {
	group, ip, device, referrer string
}

type detector struct {
	gap, maxEpisode, shareWindow detectors.Micros
	countScale, volumeScale      float64
	shareExponent, flatExponent  float64
	alpha                        float64
	sameGroup, linked            bool
	maxTrades, maxOwners         int
	accounts                     map[string]account
	symbols                      map[string]*symbolState
	episodes                     map[key]*episode
	flows                        map[key]*flow
	nextSweep                    detectors.Micros
	ownersDropped                int64
}

func newDetector(p detectors.Params, env detectors.Env) (detectors.Detector, error) {
	d := &detector{
		gap:           p.Duration("gap"),
		maxEpisode:    p.Duration("max_episode"),
		shareWindow:   p.Duration("window"),
		countScale:    p.Get("count_scale"),
		volumeScale:   p.Get("volume_scale"),
		shareExponent: p.Get("share_exponent"),
		flatExponent:  p.Get("flat_exponent"),
		alpha:         1 - math.Exp2(-1/p.Get("typical_halflife")),
		sameGroup:     p.Bool("same_owner_group"),
		linked:        p.Bool("linked_accounts"),
		maxTrades:     p.Int("max_episode_trades"),
		maxOwners:     p.Int("max_owners"),
		accounts:      map[string]account{},
		symbols:       map[string]*symbolState{},
		episodes:      map[key]*episode{},
		flows:         map[key]*flow{},
	}
	for id, a := range env.Accounts {
		d.accounts[id] = account{group: a.OwnerGroup, ip: a.IPHash, device: a.DeviceHash, referrer: a.Referrer}
	}
	return d, nil
}

// ownerKey returns the owner of an account in a symbol: its owner group, or the account itself.
func (d *detector) ownerKey(symbol, acct string) key {
	if g := d.accounts[acct].group; g != "" {
		return key{symbol, g, ownerGroup}
	}
	return key{symbol, acct, ownerAccount}
}

// areLinked reports whether two accounts share an ip_hash, a device_hash or a referrer, or one
// referred the other.
func (d *detector) areLinked(a, b string) bool {
	x, okA := d.accounts[a]
	y, okB := d.accounts[b]
	if !okA || !okB {
		return false
	}
	same := func(p, q string) bool { return p != "" && p == q }
	return same(x.ip, y.ip) || same(x.device, y.device) || same(x.referrer, y.referrer) ||
		x.referrer == b || y.referrer == a
}

// addFlow decays an owner's totals to now and adds a trade's notional; it returns the flow, or
// nil when the owner cannot be tracked (max_owners reached).
func (d *detector) addFlow(k key, now detectors.Micros, notional float64, self bool) *flow {
	f := d.flows[k]
	if f == nil {
		if len(d.flows) >= d.maxOwners {
			return nil
		}
		f = &flow{last: now}
		d.flows[k] = f
	}
	f.decayTo(now, d.shareWindow)
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
func (d *detector) Score(n int, v, share, flat float64) float64 {
	s := math.Sqrt((1 - math.Exp(-float64(n-1)/d.countScale)) * (1 - math.Exp(-v/d.volumeScale)))
	return s * math.Pow(share, d.shareExponent) * math.Pow(flat, d.flatExponent)
}

func (d *detector) OnEvent(ev *detectors.Event, emit detectors.Emit) {
	if ev.Kind != detectors.KindTrade {
		return // the clock of this detector is its symbol's trades only
	}
	if ev.TS >= d.nextSweep {
		d.sweep(ev.TS)
	}
	s := d.symbols[ev.Symbol]
	if s == nil {
		s = &symbolState{}
		d.symbols[ev.Symbol] = s
	}
	s.lastTrade = ev.TS
	if len(s.open) > 0 && ev.TS >= s.deadline {
		d.closeDue(s, ev.TS, emit)
	}
	t := &ev.Trade
	notional := math.Abs(t.Price * t.Qty)
	if t.MakerAccount == "" || t.TakerAccount == "" || !(notional > 0) || math.IsInf(notional, 0) {
		return // public data has no accounts to relate; a bad print teaches nothing
	}
	km, kt := d.ownerKey(ev.Symbol, t.MakerAccount), d.ownerKey(ev.Symbol, t.TakerAccount)
	sameAccount := t.MakerAccount == t.TakerAccount
	self := sameAccount || (d.sameGroup && km.kind == ownerGroup && km == kt)
	pair := !self && d.linked && km != kt && d.areLinked(t.MakerAccount, t.TakerAccount)
	if !self && !pair {
		d.addFlow(km, ev.TS, notional, false)
		d.addFlow(kt, ev.TS, notional, false)
		if !s.seen {
			s.logTypical, s.seen = math.Log(notional), true
		} else {
			s.logTypical += d.alpha * (math.Log(notional) - s.logTypical)
		}
		return
	}
	typical := notional
	if s.seen {
		typical = math.Exp(s.logTypical)
	}
	var k key
	var share float64
	a, b := t.MakerAccount, t.TakerAccount
	if self {
		k = km
		if sameAccount && km.kind == ownerAccount {
			k = key{ev.Symbol, t.MakerAccount, ownerAccount}
		}
		share = 1
		if f := d.addFlow(k, ev.TS, notional, true); f != nil && f.total > 0 {
			share = math.Min(1, f.self/f.total)
		}
	} else {
		if b < a {
			a, b = b, a
		}
		k = key{ev.Symbol, a + "|" + b, ownerPair}
		// Both accounts' totals include the trade; the pair's own flow counts it once.
		fp := d.addFlow(k, ev.TS, notional, true)
		fm := d.addFlow(km, ev.TS, notional, false)
		ft := d.addFlow(kt, ev.TS, notional, false)
		share = 1
		if fp != nil && fm != nil && ft != nil {
			if combined := fm.total + ft.total - fp.self; combined > 0 {
				share = math.Min(1, fp.self/combined)
			}
		}
	}
	e := d.episodes[k]
	if e != nil && ev.TS-e.first >= d.maxEpisode {
		d.close(s, e, ev.TS, emit)
		e = nil
	}
	if e == nil {
		if len(d.episodes) >= d.maxOwners {
			d.ownersDropped++
			return
		}
		e = &episode{k: k, first: ev.TS, pairA: a, accounts: map[string]bool{}}
		d.episodes[k] = e
		s.open = append(s.open, e)
	}
	e.last = ev.TS
	e.n++
	if sameAccount {
		e.sameAccount++
	}
	if pair {
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
	e.share = share
	e.accounts[t.MakerAccount], e.accounts[t.TakerAccount] = true, true
	if len(e.trades) >= d.maxTrades {
		e.trades = append(e.trades[:0], e.trades[1:]...)
	}
	e.trades = append(e.trades, selfTrade{tradeID: t.TradeID, makerOrderID: t.MakerOrderID, takerOrderID: t.TakerOrderID,
		maker: t.MakerAccount, taker: t.TakerAccount})
	s.deadline = min(s.deadline, e.last+d.gap)
	if len(s.open) == 1 {
		s.deadline = e.last + d.gap
	}
}

// closeDue judges the symbol's episodes whose last self-trade is at least gap before now, in
// opening order, and recomputes the symbol's next deadline.
func (d *detector) closeDue(s *symbolState, now detectors.Micros, emit detectors.Emit) {
	kept := s.open[:0]
	s.deadline = math.MaxInt64
	for _, e := range s.open {
		if now-e.last >= d.gap {
			d.judge(e, now, emit)
			delete(d.episodes, e.k)
			continue
		}
		kept = append(kept, e)
		s.deadline = min(s.deadline, e.last+d.gap)
	}
	clear(s.open[len(kept):])
	s.open = kept
}

// close judges one episode before its gap is over (max_episode reached).
func (d *detector) close(s *symbolState, e *episode, now detectors.Micros, emit detectors.Emit) {
	d.judge(e, now, emit)
	delete(d.episodes, e.k)
	kept := s.open[:0]
	s.deadline = math.MaxInt64
	for _, x := range s.open {
		if x != e {
			kept = append(kept, x)
			s.deadline = min(s.deadline, x.last+d.gap)
		}
	}
	clear(s.open[len(kept):])
	s.open = kept
}

// judge scores an episode and emits its alert at now.
func (d *detector) judge(e *episode, now detectors.Micros, emit detectors.Emit) {
	flat := 1.0
	if e.k.kind == ownerPair && e.gross > 0 {
		flat = math.Max(0, 1-math.Abs(e.net)/e.gross)
	}
	a := detectors.Alert{
		Symbol: e.k.symbol, TS: now, WindowStart: e.first, WindowEnd: e.last,
		Score: d.Score(e.n, e.v, e.share, flat),
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
	a.Evidence.TradeIDs = uniqueIDs(a.Evidence.TradeIDs)
	a.Evidence.OrderIDs = uniqueIDs(a.Evidence.OrderIDs)
	if e.linked > 0 {
		a.Evidence.Note = "linked accounts (shared ip, device or referrer) trading with each other"
	}
	emit(a)
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

// sweep forgets flows idle for 5 time constants (under 1% of their weight left). Deleting from
// a map in any order gives the same state, so the iteration order does not matter.
func (d *detector) sweep(now detectors.Micros) {
	for k, f := range d.flows {
		if f.last < now-5*d.shareWindow {
			delete(d.flows, k)
		}
	}
	d.nextSweep = now + d.shareWindow
}

// Flush judges every open episode at its symbol's last trade, symbols in name order.
func (d *detector) Flush(emit detectors.Emit) {
	names := make([]string, 0, len(d.symbols))
	for n := range d.symbols {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := d.symbols[n]
		for _, e := range s.open {
			d.judge(e, s.lastTrade, emit)
			delete(d.episodes, e.k)
		}
		s.open = nil
	}
}
