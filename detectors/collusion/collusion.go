// Package collusion is the collusion detector: matched trading between two distinct, unrelated
// accounts — one rests an order and the other takes it within seconds with an order of exactly
// the same size, again and again, the pair trading mostly with each other. Prices (often inside a
// thin book's spread) can move money from one to the other: the detector reports the transfer.
//
// # Definition
//
// A bilateral trade is a trade between two accounts that are neither the same account, nor of
// one owner_group, nor linked by a shared ip_hash, device_hash or referrer, nor one the other's
// referrer (those are wash_trade's). It is matched when the maker's order was placed at most
// `match_window` seconds before the trade, with a weight for how closely the taker's order
// matches the maker order's quantity (both as placed): 1 when equal (within a relative 1e-9),
// exp(−|ln(taker qty / maker qty)| / size_tolerance) otherwise. The bilateral trades of one pair in one
// symbol form an episode while they come less than `gap` seconds apart; it is judged once, at the
// symbol's first event at least `gap` seconds after its last trade (or at the end of the input),
// or when it has lasted `max_episode` seconds. With n its trades, m the sum of their match weights and
// concentration the pair's notional over the larger of the two accounts' notional in the symbol
// (all decayed exponentially with time constant `window`, at the last trade):
//
//	count = 1 − exp(−(n − 1) / count_scale)        (a single trade is no pattern)
//	match = m / n
//	score = sqrt(count · match) · concentration^concentration_exponent
//
// A market maker and a retail taker trade again and again, but the taker's orders rarely have
// the quote's size and the maker trades with everyone (concentration near 0); a taker
// filling one whale's order many times has a concentrated pair but no matched trade; an
// arbitrageur taking fresh quotes at once for their exact size matches, but with a new
// counterparty each time (n = 1). Episodes and scores never depend on min_score, which only
// filters.
//
// PnL transfer is evidence, not score: against the last mark price before each trade, the
// second account's gain is side·(mark − price)·qty (side +1 when it buys); transfer is the sum,
// transfer_bp the sum over the notional in bp, transfer_consistency |sum| / sum of |gains| (1 when
// every trade moved money the same way). Every taker pays the spread to its maker, so a transfer
// alone means nothing; once trading is matched it is what the pair achieved.
//
// The alert's accounts are the pair; its window runs from the first to the last trade; its
// evidence lists the trades' ids and both orders' ids, and the features trades, matched,
// matched_fraction, concentration, notional, mean_match_delay_s, transfer, transfer_bp and
// transfer_consistency.
//
// The detector's clock is each symbol's events: sharding by symbol changes nothing.
//
// # State
//
// The new orders of the last `match_window` seconds (placement time and quantity; two generations
// of maps, the older dropped whole every max(match_window, 0.1 s), so at most twice that), the last mark
// per symbol, per account and symbol that traded in the last 5·window seconds a decayed notional
// (at most `max_accounts`), and the open episodes (at most `max_pairs`, each with at most
// `max_episode_trades` trades as evidence). Swept every `window` seconds of each symbol's time.
//
// # Groups
//
// A group of configurations (a sweep, detectors.Spec.NewGroup) keeps all of that state — recent
// orders, marks, notionals and episodes with their trades, notional, concentration and transfer —
// once per (`match_window`, `gap`, `max_episode`, `window`, `max_accounts`, `max_pairs`,
// `max_episode_trades`). Within it an episode keeps its matched weight and delay sum once per
// distinct `size_tolerance`; `count_scale` and `concentration_exponent` only enter each
// configuration's score when the episode is judged. The single detector is the group of one.
package collusion

import (
	"math"
	"sort"

	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/detectors/internal/recent"
)

// Name is the detector's registry name.
const Name = "collusion"

func init() {
	detectors.Register(detectors.Spec{
		Name:    Name,
		Type:    detectors.Collusion,
		Summary: "matched trading between two unrelated accounts: one rests an order, the other takes it within seconds at the same size, again and again",
		Doc: "Bilateral trades of two unrelated accounts (not one owner, not sharing an ip, device or referrer) are matched when the maker's order " +
			"was placed at most match_window before and the taker's order has its exact size. A pair's trades less than `gap` apart are an episode, " +
			"judged gap after the last: sqrt((1-exp(-(n-1)/count_scale))·m/n)·concentration^concentration_exponent, concentration being the " +
			"pair's share of the larger account's decayed notional. PnL transfer against the mark is reported as evidence.",
		Needs:           []detectors.Kind{detectors.KindMark, detectors.KindOrder, detectors.KindTrade},
		NeedsAccounts:   true,
		DefaultMinScore: 0.5,
		Params: []detectors.ParamSpec{
			{Name: "match_window", Default: 10, Min: 0, Max: 3600, Unit: "s", Doc: "a trade is matched when the maker's order was placed at most this long before it (and the sizes are equal)"},
			{Name: "gap", Default: 180, Min: 1, Max: 86400, Unit: "s", Doc: "a pair's trades less than this apart are one episode; it is judged this long after its last trade"},
			{Name: "max_episode", Default: 3600, Min: 1, Max: 7 * 86400, Unit: "s", Doc: "an episode lasting this long is judged and a new one starts"},
			{Name: "window", Default: 600, Min: 1, Max: 7 * 86400, Unit: "s", Doc: "time constant of the decayed notional the concentration is computed from"},
			{Name: "size_tolerance", Default: 0.25, Min: 0.001, Max: 100, Unit: "ratio", Doc: "a matched trade whose taker order is e^x times the maker order's size weighs exp(-|x|/size_tolerance)"},
			{Name: "count_scale", Default: 2, Min: 0.1, Max: 1000, Unit: "count", Doc: "repeated trades (beyond the first) at which the count term reaches 1-1/e"},
			{Name: "concentration_exponent", Default: 0.25, Min: 0, Max: 10, Unit: "ratio", Doc: "weight of the pair's concentration in the score (0: ignore it)"},
			{Name: "max_accounts", Default: 1000000, Min: 1, Max: 1e9, Integer: true, Unit: "count", Doc: "cap on the (account, symbol) notionals tracked"},
			{Name: "max_pairs", Default: 100000, Min: 1, Max: 1e8, Integer: true, Unit: "count", Doc: "cap on the open pair episodes"},
			{Name: "max_episode_trades", Default: 1000, Min: 1, Max: 1e6, Integer: true, Unit: "count", Doc: "cap on the trades kept as an episode's evidence"},
		},
		NewGroup: newGroup,
	})
}

type account struct {
	group, ip, device, referrer string
}

type placed struct {
	qty     float64
	account string
}

type flow struct {
	notional float64
	last     detectors.Micros
}

type pairKey struct{ symbol, a, b string } // a < b

type trade struct {
	tradeID, makerOrderID, takerOrderID int64
}

type episode struct {
	k                  pairKey
	first, last        detectors.Micros
	n                  int
	notional, pairFlow float64
	flowAt             detectors.Micros
	concentration      float64
	// m and delaySum are per distinct size_tolerance of the layer: m is the sum of the matched
	// trades' size-match weights, delaySum of their weighted delays.
	m, delaySum       []float64
	transfer, absGain float64
	transferNotional  float64
	trades            []trade
	// seq numbers episodes in opening order; prev and next link the symbol's open episodes in
	// order of their last trade.
	seq        int64
	prev, next *episode
}

type symbolState struct {
	name  string
	mark  float64
	last  detectors.Micros
	flows map[string]*flow
	// oldest and newest end the list of open episodes in order of their last trade: the ones
	// whose gap is over are at its front.
	oldest, newest *episode
	nextSweep      detectors.Micros
}

// unlink removes e from the symbol's list of open episodes.
func (s *symbolState) unlink(e *episode) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		s.oldest = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		s.newest = e.prev
	}
	e.prev, e.next = nil, nil
}

// pushNewest puts e, just traded, at the back of the list.
func (s *symbolState) pushNewest(e *episode) {
	e.prev, e.next = s.newest, nil
	if s.newest != nil {
		s.newest.next = e
	} else {
		s.oldest = e
	}
	s.newest = e
}

// scoring is one configuration's part of a layer: what its score depends on alone.
type scoring struct {
	config              int // index in the group
	tolerance           int // index of its size_tolerance in the layer's tolerances
	countScale, concExp float64
}

// detector is one layer of a group: the state of the configurations sharing the state
// parameters, and each one's scoring.
type detector struct {
	matchWindow, gap, maxEpisode, window detectors.Micros
	maxAccounts, maxPairs, maxTrades     int
	tolerances                           []float64 // distinct size_tolerance values, first-seen order
	scorings                             []scoring
	features                             []map[string]float64 // judge's maps of one episode, per tolerance

	accounts map[string]account
	symbols  map[string]*symbolState
	recent   *recent.Map[placed] // new orders of the last match_window seconds
	episodes map[pairKey]*episode
	nextSeq  int64
	due      []*episode   // scratch for closeDue
	lastSym  *symbolState // the last event's: runs of one symbol skip the map
	nFlows   int
	dropped  int64
}

// stateKey is the values of the parameters a layer's state depends on.
type stateKey struct {
	matchWindow, gap, maxEpisode, window detectors.Micros
	maxAccounts, maxPairs, maxTrades     int
}

// group is the layers of a group of configurations, in the order of their first configuration.
type group = detectors.Layered[*detector]

func newGroup(ps []detectors.Params, env detectors.Env) (detectors.Group, error) {
	// The accounts' links are read only: every layer shares them.
	accounts := make(map[string]account, len(env.Accounts))
	for id, a := range env.Accounts {
		accounts[id] = account{group: a.OwnerGroup, ip: a.IPHash, device: a.DeviceHash, referrer: a.Referrer}
	}
	key := func(p detectors.Params) stateKey {
		return stateKey{
			matchWindow: p.Duration("match_window"), gap: p.Duration("gap"), maxEpisode: p.Duration("max_episode"), window: p.Duration("window"),
			maxAccounts: p.Int("max_accounts"), maxPairs: p.Int("max_pairs"), maxTrades: p.Int("max_episode_trades"),
		}
	}
	layerOf, n := detectors.Layers(len(ps), func(i int) stateKey { return key(ps[i]) })
	g := &group{Layers: make([]*detector, n)}
	for i, p := range ps {
		d := g.Layers[layerOf[i]]
		if d == nil {
			k := key(p)
			d = &detector{
				matchWindow: k.matchWindow, gap: k.gap, maxEpisode: k.maxEpisode, window: k.window,
				maxAccounts: k.maxAccounts, maxPairs: k.maxPairs, maxTrades: k.maxTrades,
				accounts: accounts, symbols: map[string]*symbolState{}, episodes: map[pairKey]*episode{},
			}
			d.recent = recent.New[placed](d.matchWindow)
			g.Layers[layerOf[i]] = d
		}
		tol := p.Get("size_tolerance")
		ti := -1
		for j, t := range d.tolerances {
			if t == tol {
				ti = j
				break
			}
		}
		if ti < 0 {
			ti = len(d.tolerances)
			d.tolerances = append(d.tolerances, tol)
		}
		d.scorings = append(d.scorings, scoring{config: i, tolerance: ti, countScale: p.Get("count_scale"), concExp: p.Get("concentration_exponent")})
	}
	for _, d := range g.Layers {
		d.features = make([]map[string]float64, len(d.tolerances))
	}
	return g, nil
}

// related reports whether two accounts are one owner or linked (wash_trade's ground, not
// collusion's).
func (d *detector) related(a, b string) bool {
	if a == b {
		return true
	}
	x, y := d.accounts[a], d.accounts[b]
	same := func(p, q string) bool { return p != "" && p == q }
	return same(x.group, y.group) || same(x.ip, y.ip) || same(x.device, y.device) || same(x.referrer, y.referrer) ||
		x.referrer == b || y.referrer == a
}

// SizeMatch is how closely a taker order's quantity matches the maker order's: 1 when equal,
// exp(−|ln(taker/maker)| / tolerance) otherwise.
func SizeMatch(makerQty, takerQty, tolerance float64) float64 {
	if sameSize(makerQty, takerQty) {
		return 1
	}
	return math.Exp(-math.Abs(math.Log(takerQty/makerQty)) / tolerance)
}

func sameSize(makerQty, takerQty float64) bool {
	return math.Abs(makerQty-takerQty) <= 1e-9*math.Max(makerQty, takerQty)
}

// Score is the episode score of n bilateral trades, m of them matched (a sum of size-match
// weights), with the pair's concentration (see the package doc).
func (sc *scoring) Score(n int, m, concentration float64) float64 {
	if n <= 0 {
		return 0
	}
	count := 1 - math.Exp(-float64(n-1)/sc.countScale)
	return math.Sqrt(count*math.Min(1, m/float64(n))) * math.Pow(math.Max(0, math.Min(1, concentration)), sc.concExp)
}

func (d *detector) symbol(name string) *symbolState {
	if s := d.lastSym; s != nil && s.name == name {
		return s
	}
	s := d.symbols[name]
	if s == nil {
		s = &symbolState{name: name, flows: map[string]*flow{}}
		d.symbols[name] = s
	}
	d.lastSym = s
	return s
}

func (d *detector) OnEvent(ev *detectors.Event, emit detectors.GroupEmit) {
	switch ev.Kind {
	case detectors.KindMark, detectors.KindOrder, detectors.KindTrade:
	default:
		return
	}
	s := d.symbol(ev.Symbol)
	s.last = ev.TS
	if s.oldest != nil && ev.TS-s.oldest.last >= d.gap {
		d.closeDue(s, ev.TS, false, emit)
	}
	if ev.TS >= s.nextSweep {
		d.sweep(s, ev.TS)
	}
	d.recent.Advance(ev.TS)
	switch ev.Kind {
	case detectors.KindMark:
		if p := ev.Mark.MarkPrice; p > 0 && !math.IsInf(p, 0) {
			s.mark = p
		}
	case detectors.KindOrder:
		o := &ev.Order
		if o.Event == detectors.OrderNew && o.Account != "" && o.Qty > 0 && !math.IsInf(o.Qty, 0) {
			d.recent.Put(o.OrderID, ev.TS, placed{qty: o.Qty, account: o.Account})
		}
	case detectors.KindTrade:
		d.onTrade(ev, s, emit)
	}
}

// addFlow decays an account's notional in the symbol to now and adds a trade's; nil when the
// account cannot be tracked (max_accounts reached).
func (d *detector) addFlow(s *symbolState, acct string, now detectors.Micros, notional float64) *flow {
	f := s.flows[acct]
	if f == nil {
		if d.nFlows >= d.maxAccounts {
			return nil
		}
		f = &flow{last: now}
		s.flows[acct] = f
		d.nFlows++
	}
	f.notional = decayed(f.notional, f.last, now, d.window) + notional
	f.last = now
	return f
}

// decayed returns x, last updated at from, decayed to now with time constant tau; after five
// time constants (under 1% left) it is 0, whether or not a sweep forgot it yet.
func decayed(x float64, from, now, tau detectors.Micros) float64 {
	if now-from >= 5*tau {
		return 0
	}
	if now > from {
		return x * math.Exp(-float64(now-from)/float64(tau))
	}
	return x
}

func (d *detector) onTrade(ev *detectors.Event, s *symbolState, emit detectors.GroupEmit) {
	t := &ev.Trade
	notional := math.Abs(t.Price * t.Qty)
	if t.MakerAccount == "" || t.TakerAccount == "" || !(notional > 0) || math.IsInf(notional, 0) {
		return
	}
	fm := d.addFlow(s, t.MakerAccount, ev.TS, notional)
	ft := d.addFlow(s, t.TakerAccount, ev.TS, notional)
	if d.related(t.MakerAccount, t.TakerAccount) {
		return
	}
	a, b := t.MakerAccount, t.TakerAccount
	if b < a {
		a, b = b, a
	}
	k := pairKey{ev.Symbol, a, b}
	e := d.episodes[k]
	if e != nil && ev.TS-e.first >= d.maxEpisode {
		d.closeOne(s, e, ev.TS, emit)
		e = nil
	}
	if e == nil {
		if len(d.episodes) >= d.maxPairs {
			d.dropped++
			return
		}
		nt := len(d.tolerances)
		sums := make([]float64, 2*nt)
		e = &episode{k: k, first: ev.TS, flowAt: ev.TS, seq: d.nextSeq, m: sums[:nt:nt], delaySum: sums[nt:]}
		d.nextSeq++
		d.episodes[k] = e
	} else {
		s.unlink(e)
	}
	s.pushNewest(e)
	e.last = ev.TS
	e.n++
	e.notional += notional
	e.pairFlow = decayed(e.pairFlow, e.flowAt, ev.TS, d.window) + notional
	e.flowAt = ev.TS
	e.concentration = 1
	if fm != nil && ft != nil {
		e.concentration = math.Min(1, e.pairFlow/math.Max(fm.notional, ft.notional))
	}
	// Both orders must be new orders of the last match_window seconds.
	mkTS, mk, okM := d.recent.Get(t.MakerOrderID)
	tkTS, tk, okT := d.recent.Get(t.TakerOrderID)
	if okM && okT && mk.account == t.MakerAccount && tk.account == t.TakerAccount && ev.TS-mkTS <= d.matchWindow && ev.TS-tkTS <= d.matchWindow {
		dt := float64(ev.TS - mkTS)
		same := sameSize(mk.qty, tk.qty)
		for j, tol := range d.tolerances {
			w := 1.0
			if !same {
				w = math.Exp(-math.Abs(math.Log(tk.qty/mk.qty)) / tol)
			}
			e.m[j] += w
			e.delaySum[j] += w * dt / float64(detectors.Second)
		}
	}
	if s.mark > 0 {
		// b's gain against the mark: it bought below (or sold above) the mark.
		side := float64(t.TakerSide) // the taker's side
		if t.TakerAccount != b {
			side = -side
		}
		gain := side * (s.mark - t.Price) * t.Qty
		e.transfer += gain
		e.absGain += math.Abs(gain)
		e.transferNotional += notional
	}
	if len(e.trades) < d.maxTrades {
		e.trades = append(e.trades, trade{tradeID: t.TradeID, makerOrderID: t.MakerOrderID, takerOrderID: t.TakerOrderID})
	}
}

// closeDue judges the symbol's episodes whose gap is over (all of them at the end of the input)
// at now, in opening order. They are the front of the list by last trade.
func (d *detector) closeDue(s *symbolState, now detectors.Micros, all bool, emit detectors.GroupEmit) {
	due := d.due[:0]
	for e := s.oldest; e != nil && (all || now-e.last >= d.gap); e = s.oldest {
		s.unlink(e)
		due = append(due, e)
	}
	sort.Slice(due, func(i, j int) bool { return due[i].seq < due[j].seq })
	for i, e := range due {
		d.judge(e, now, emit)
		due[i] = nil
	}
	d.due = due[:0]
}

// closeOne judges one episode before its gap is over (max_episode reached).
func (d *detector) closeOne(s *symbolState, e *episode, now detectors.Micros, emit detectors.GroupEmit) {
	s.unlink(e)
	d.judge(e, now, emit)
}

func (d *detector) judge(e *episode, now detectors.Micros, emit detectors.GroupEmit) {
	delete(d.episodes, e.k)
	if e.n < 2 {
		// A single trade is no pattern: its count term, so its score, is 0 in every
		// configuration. Not raising it saves sweeps at min_score 0 most of their alerts.
		return
	}
	var bp, consistency float64
	if e.transferNotional > 0 {
		bp = e.transfer / e.transferNotional * 1e4
	}
	if e.absGain > 0 {
		consistency = math.Abs(e.transfer) / e.absGain
	}
	var tradeIDs, orderIDs []int64
	for _, tr := range e.trades {
		tradeIDs = append(tradeIDs, tr.tradeID)
		for _, id := range []int64{tr.makerOrderID, tr.takerOrderID} {
			if id != 0 {
				orderIDs = append(orderIDs, id)
			}
		}
	}
	tradeIDs = detectors.SortedUnique(tradeIDs)
	orderIDs = detectors.SortedUnique(orderIDs)
	var note string
	if consistency > 0.9 {
		note = "the matched trades moved money one way: " + e.k.b + " gained what " + e.k.a + " lost, against the mark"
		if e.transfer < 0 {
			note = "the matched trades moved money one way: " + e.k.a + " gained what " + e.k.b + " lost, against the mark"
		}
	}
	// The configurations share the id lists, and those of one size_tolerance the features map
	// (a group's alerts share evidence, read-only: detectors.Group).
	for i := range d.features {
		d.features[i] = nil
	}
	for i := range d.scorings {
		sc := &d.scorings[i]
		m := e.m[sc.tolerance]
		features := d.features[sc.tolerance]
		if features == nil {
			var delay float64
			if m > 0 {
				delay = e.delaySum[sc.tolerance] / m
			}
			features = map[string]float64{
				"trades": float64(e.n), "matched": m, "matched_fraction": m / float64(e.n),
				"concentration": e.concentration, "notional": e.notional, "mean_match_delay_s": delay,
				"transfer": e.transfer, "transfer_bp": bp, "transfer_consistency": consistency,
			}
			d.features[sc.tolerance] = features
		}
		a := detectors.Alert{
			Symbol: e.k.symbol, Accounts: []string{e.k.a, e.k.b}, TS: now, WindowStart: e.first, WindowEnd: e.last,
			Score:    sc.Score(e.n, m, e.concentration),
			Evidence: detectors.Evidence{TradeIDs: tradeIDs, OrderIDs: orderIDs, Features: features},
		}
		if consistency > 0.9 && m > 0 {
			a.Evidence.Note = note
		}
		emit(sc.config, a)
	}
}

// sweep forgets the symbol's account notionals idle for five time constants, every `window`
// seconds of the symbol's time. Deletion only: the map order does not matter.
func (d *detector) sweep(s *symbolState, now detectors.Micros) {
	for acct, f := range s.flows {
		if now-f.last >= 5*d.window {
			delete(s.flows, acct)
			d.nFlows--
		}
	}
	s.nextSweep = now + d.window
}

// Flush judges every open episode at its symbol's last event, symbols in name order.
func (d *detector) Flush(emit detectors.GroupEmit) {
	names := make([]string, 0, len(d.symbols))
	for n, s := range d.symbols {
		if s.oldest != nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		s := d.symbols[n]
		d.closeDue(s, s.last, true, emit)
	}
}
