// Package frontrunning is the front_running detector: an account trades in the direction of
// another account's large aggressive order shortly before it, then unwinds once that order has
// moved the price — trading on knowledge of the order coming (a broker's employee ahead of the
// client, an insider of the order flow). Accounts related to the victim (shared ip, device or
// referrer) are more suspicious.
//
// # Definition
//
// The trades of one taker order at one time are one aggressive order (a market order sweeping
// several levels prints several trades). Per symbol the detector keeps the typical aggressive
// order size: exp of an EWMA (half-life `typical_halflife` aggressive orders) of log(qty). An
// aggressive order of at least `min_victim_ratio` typical sizes is a big order; it is followed
// unless another big order on the same side came less than `isolation` seconds before it (in a
// burst of big orders — a pump's crowd, a liquidation cascade, an algorithm's burst — everyone is
// ahead of someone; a client working a big position sends its orders seconds apart). For every other
// account F (not of the big order's owner group) that sent aggressive orders on the same side in
// the `lead_window` seconds before it, an instance is opened: F's quantity there (pre), its lead
// (the big order's time minus F's last order there). The instance then counts F's executions on
// the other side (as taker or maker) in the `unwind_window` seconds after the big order, until F
// takes its entry side again (the unwind), and is judged at the symbol's first trade after that
// window (an account liquidated in that window was forced out, not unwinding: its instance
// scores 0):
//
//	size    = 1 − exp(−pre / typical / size_scale)
//	timing  = 1 − lead / lead_window
//	unwind  = min(unwound, pre) / max(unwound, pre)     (1 for a position closed exactly)
//	s       = size · timing · unwind
//
// The instances of one account and symbol judged less than `episode_gap` seconds apart are one
// episode, judged once at the symbol's first trade at least episode_gap seconds after its last
// instance (or at the end of the input):
//
//	score = (1 − (1 − related_boost·[F is related to a victim]) · Π (1 − s)) · selectivity^selectivity_exponent
//
// (front-running again and again, or ahead of a related account's orders, raises the score),
// where selectivity is the share of F's executions in the symbol that belong to its instances (its
// orders ahead and its unwinds) among all its executions there — aggressive orders and maker
// fills, counted with exponential decay (time constant `activity_window`) as of its last instance,
// the count divided by the weight 1 − exp(−age/activity_window) a steady activity reaches by the
// symbol's age in the input (what came before the input is unknown):
// an account that trades all the time has some trades ahead of big orders by chance, one whose
// trading is the pattern does not. A
// retail account that happened to buy before a big order and sell later typically has a normal
// size, a random lead and a later trade of another size, once; a momentum chaser buys after the big order (no
// instance); a hedger that does not unwind scores 0. Episodes and scores never depend on
// min_score, which only filters.
//
// The alert's accounts are F; its window runs from its first front-running order to its last
// judged instance; its evidence lists the trades of F's orders before and after and the big
// orders' trade ids (up to `max_evidence_trades`), the victims in its note, and the features
// instances, best_instance, pre_qty, pre_ratio, lead_s, unwind_ratio, victim_ratio, profit_bp
// (F's unwind price against its entry, in bp, in its favour), related and selectivity.
//
// The detector's clock is each symbol's trades (liquidations only mark instances): sharding by
// symbol changes nothing.
//
// # State
//
// Per symbol: one float, the aggressive orders of the last lead_window seconds, the pending
// instances (at most `max_instances` in all; big orders beyond are not followed), the open
// episodes, and per account that traded in the last 5·activity_window seconds a decayed count,
// swept every activity_window of the symbol's time.
//
// # Groups
//
// A group of configurations (a sweep, detectors.Spec.NewGroup) keeps all of that state, the
// instances and the episodes once per distinct value of the parameters they depend on (every
// parameter but size_scale, related_boost and selectivity_exponent), and per configuration only
// what those three decide: each instance's score, and each episode's Π(1 − s), best instance and
// final score. A single instance is a group of one.
package frontrunning

import (
	"math"
	"sort"
	"strings"

	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/detectors/internal/episodes"
)

// Name is the detector's registry name.
const Name = "front_running"

func init() {
	detectors.Register(detectors.Spec{
		Name:    Name,
		Type:    detectors.FrontRunning,
		Summary: "an account trades ahead of another account's big aggressive order, in its direction, and unwinds after it",
		Doc: "For every big aggressive order (min_victim_ratio typical sizes), accounts that took the same side in the lead_window seconds " +
			"before it open an instance, judged after unwind_window: size·timing·unwind from their size, lead and how much they unwound " +
			"after. Instances of one account less than episode_gap apart are one episode: 1-(1-related_boost·related)·Π(1-s).",
		Needs:           []detectors.Kind{detectors.KindTrade, detectors.KindLiquidation},
		NeedsAccounts:   true,
		DefaultMinScore: 0.4,
		Params: []detectors.ParamSpec{
			{Name: "min_victim_ratio", Default: 8, Min: 1, Max: 1e6, Unit: "ratio", Doc: "an aggressive order of at least this many typical sizes is a big order"},
			{Name: "isolation", Default: 10, Min: 0, Max: 86400, Unit: "s", Doc: "a big order less than this after another big order on the same side is not followed (bursts of big orders are crowds or algorithms, not a victim's order)"},
			{Name: "lead_window", Default: 10, Min: 0.001, Max: 3600, Unit: "s", Doc: "orders this long before a big order can be ahead of it"},
			{Name: "unwind_window", Default: 60, Min: 0.001, Max: 86400, Unit: "s", Doc: "opposite executions up to this long after the big order are the unwind"},
			{Name: "episode_gap", Default: 120, Min: 0, Max: 7 * 86400, Unit: "s", Doc: "instances of one account and symbol less than this apart are one episode; it is judged this long after its last one"},
			{Name: "activity_window", Default: 600, Min: 1, Max: 30 * 86400, Unit: "s", Doc: "time constant of the decayed count of an account's executions the selectivity is computed from"},
			{Name: "selectivity_exponent", Default: 1, Min: 0, Max: 10, Unit: "ratio", Doc: "weight of the selectivity (the share of the account's executions that are front-running) in the score"},
			{Name: "size_scale", Default: 1, Min: 0.01, Max: 1e6, Unit: "ratio", Doc: "size ahead, in typical sizes, at which the size term reaches 1-1/e"},
			{Name: "related_boost", Default: 0.3, Min: 0, Max: 1, Unit: "score", Doc: "weight added (as one more instance) when the account is related to a victim by ip, device or referrer"},
			{Name: "typical_halflife", Default: 500, Min: 1, Max: 1e7, Unit: "count", Doc: "half-life, in aggressive orders, of the typical size's EWMA"},
			{Name: "max_instances", Default: 100000, Min: 1, Max: 1e8, Integer: true, Unit: "count", Doc: "cap on the instances followed at once"},
			{Name: "max_evidence_trades", Default: 200, Min: 0, Max: 1e6, Integer: true, Unit: "count", Doc: "cap on the trade ids an alert lists"},
		},
		NewGroup: newGroup,
	})
}

type account struct {
	group, ip, device, referrer string
}

// aggressive is one taker order: its trades at one time.
type aggressive struct {
	ts       detectors.Micros
	account  string
	orderID  int64
	side     detectors.Side
	qty      float64
	notional float64
	tradeIDs []int64
}

// activity is an account's decayed count of executions in a symbol (its aggressive orders and
// its maker fills), time constant activity_window.
type activity struct {
	count float64
	last  detectors.Micros
}

type instance struct {
	f, victim      string
	execs          []int64 // F's executions in the instance: its taker order ids, −trade id when maker
	side           detectors.Side
	bigTS          detectors.Micros
	firstPre       detectors.Micros
	pre, preNotion float64
	lead           detectors.Micros
	typical        float64
	victimQty      float64
	unwound        float64
	unwindNotional float64
	related        bool
	liquidated     bool // F was liquidated in the unwind window: forced out, not unwinding
	reentered      bool // F traded its entry side again after the big order: the unwind is over
	tradeIDs       []int64
}

type episode struct {
	f, symbol   string
	first, last detectors.Micros
	execs       map[int64]bool // F's executions that are part of its instances (as in instance)
	related     bool
	count       int
	victims     map[string]bool
	tradeIDs    []int64
	// Per scoring of the layer (the instance scores depend on size_scale):
	keep      []float64 // Π(1 − s)
	best      []*instance
	bestScore []float64
}

type symbolState struct {
	name       string
	logTypical float64
	seen       int
	cur        aggressive // the aggressive order being aggregated
	hasCur     bool
	recent     []aggressive  // aggressive orders of the last lead_window
	lastBig    [2]aggressive // the last big order of each side (ts 0 before the first)
	pending    []*instance   // in big-order time order
	episodes   []*episode    // in opening order
	byAccount  map[string]*episode
	first      detectors.Micros // the symbol's first trade
	acts       map[string]*activity
	nextSweep  detectors.Micros
	deadline   detectors.Micros
	last       detectors.Micros
}

// scoring is the part of a configuration that only shapes the scores: it is kept per
// configuration of a group.
type scoring struct {
	config                               int // index in the group
	sizeScale, relatedBoost, selExponent float64
}

// detector is the state of the configurations sharing the parameters it depends on (a layer of
// a group), and their scorings.
type detector struct {
	minVictim, alpha                        float64
	scorings                                []scoring
	lead, unwind, gap, actWindow, isolation detectors.Micros
	maxInstances, maxEvidence               int
	accounts                                map[string]account
	symbols                                 map[string]*symbolState
	nInstances                              int
	dropped                                 int64
}

// stateKey is the values of the parameters a layer's state depends on.
type stateKey struct {
	minVictim, halflife                     float64
	lead, unwind, gap, actWindow, isolation detectors.Micros
	maxInstances, maxEvidence               int
}

// group is the layers of a group of configurations, in the order of their first configuration.
type group = detectors.Layered[*detector]

func newGroup(ps []detectors.Params, env detectors.Env) (detectors.Group, error) {
	accounts := map[string]account{}
	for id, a := range env.Accounts {
		accounts[id] = account{group: a.OwnerGroup, ip: a.IPHash, device: a.DeviceHash, referrer: a.Referrer}
	}
	layerOf, n := detectors.Layers(len(ps), func(i int) stateKey {
		p := ps[i]
		return stateKey{
			minVictim: p.Get("min_victim_ratio"), halflife: p.Get("typical_halflife"),
			lead: p.Duration("lead_window"), unwind: p.Duration("unwind_window"), gap: p.Duration("episode_gap"),
			actWindow: p.Duration("activity_window"), isolation: p.Duration("isolation"),
			maxInstances: p.Int("max_instances"), maxEvidence: p.Int("max_evidence_trades"),
		}
	})
	g := &group{Layers: make([]*detector, n)}
	for i, p := range ps {
		d := g.Layers[layerOf[i]]
		if d == nil {
			d = &detector{
				minVictim: p.Get("min_victim_ratio"), alpha: 1 - math.Exp2(-1/p.Get("typical_halflife")),
				lead: p.Duration("lead_window"), unwind: p.Duration("unwind_window"), gap: p.Duration("episode_gap"),
				actWindow: p.Duration("activity_window"), isolation: p.Duration("isolation"),
				maxInstances: p.Int("max_instances"), maxEvidence: p.Int("max_evidence_trades"),
				accounts: accounts, symbols: map[string]*symbolState{},
			}
			g.Layers[layerOf[i]] = d
		}
		d.scorings = append(d.scorings, scoring{
			config: i, sizeScale: p.Get("size_scale"), relatedBoost: p.Get("related_boost"), selExponent: p.Get("selectivity_exponent"),
		})
	}
	return g, nil
}

func idx(s detectors.Side) int {
	if s == detectors.Buy {
		return 0
	}
	return 1
}

func (d *detector) sameOwner(a, b string) bool {
	if a == b {
		return true
	}
	g := d.accounts[a].group
	return g != "" && g == d.accounts[b].group
}

// related reports whether two accounts share an ip_hash, a device_hash or a referrer, or one
// referred the other.
func (d *detector) related(a, b string) bool {
	x, y := d.accounts[a], d.accounts[b]
	same := func(p, q string) bool { return p != "" && p == q }
	return same(x.ip, y.ip) || same(x.device, y.device) || same(x.referrer, y.referrer) || (x.referrer != "" && x.referrer == b) ||
		(y.referrer != "" && y.referrer == a)
}

// InstanceScore is one front-running instance's score (see the package doc): pre and typical
// quantities, lead time in seconds, unwound quantity.
func (d *detector) InstanceScore(sc scoring, pre, typical, leadSeconds, unwound float64) float64 {
	if !(pre > 0) || !(typical > 0) {
		return 0
	}
	size := 1 - math.Exp(-pre/typical/sc.sizeScale)
	timing := math.Max(0, 1-leadSeconds/(float64(d.lead)/float64(detectors.Second)))
	return size * timing * math.Min(unwound, pre) / math.Max(unwound, pre)
}

func (d *detector) OnEvent(ev *detectors.Event, emit detectors.GroupEmit) {
	if ev.Kind == detectors.KindLiquidation {
		// A forced close is no unwind: the account's pending instances in the symbol score 0.
		if s := d.symbols[ev.Symbol]; s != nil && ev.Liquidation.Account != "" {
			for _, in := range s.pending {
				if in.f == ev.Liquidation.Account && ev.TS > in.bigTS {
					in.liquidated = true
				}
			}
		}
		return
	}
	if ev.Kind != detectors.KindTrade {
		return // a symbol's clock is its trades
	}
	t := &ev.Trade
	if !(t.Qty > 0) || math.IsInf(t.Qty, 0) || !(t.Price > 0) || math.IsInf(t.Price, 0) ||
		(t.TakerSide != detectors.Buy && t.TakerSide != detectors.Sell) {
		return
	}
	s := d.symbols[ev.Symbol]
	if s == nil {
		s = &symbolState{name: ev.Symbol, byAccount: map[string]*episode{}, acts: map[string]*activity{}, first: ev.TS}
		d.symbols[ev.Symbol] = s
	}
	s.last = ev.TS
	// The aggressive order in progress ends at the first trade of another order or time.
	if s.hasCur && (ev.TS != s.cur.ts || t.TakerOrderID != s.cur.orderID || t.TakerAccount != s.cur.account || t.TakerSide != s.cur.side) {
		d.finishAggressive(s)
	}
	d.judgeDue(s, ev.TS, false)
	if len(s.episodes) > 0 && ev.TS >= s.deadline {
		d.closeDue(s, ev.TS, false, emit)
	}
	// Unwinds of pending instances.
	for _, in := range s.pending {
		if ev.TS <= in.bigTS {
			continue
		}
		var side detectors.Side
		switch in.f {
		case t.TakerAccount:
			side = t.TakerSide
		case t.MakerAccount:
			side = t.TakerSide.Opposite()
		default:
			continue
		}
		if side == in.side && in.f == t.TakerAccount {
			in.reentered = true // a new position: what follows is not this one's unwind
		}
		if side == in.side.Opposite() && !in.reentered {
			if in.f == t.TakerAccount {
				in.execs = append(in.execs, t.TakerOrderID)
			} else {
				in.execs = append(in.execs, -t.TradeID)
			}
			in.unwound += t.Qty
			in.unwindNotional += t.Qty * t.Price
			if len(in.tradeIDs) < d.maxEvidence {
				in.tradeIDs = append(in.tradeIDs, t.TradeID)
			}
		}
	}
	if t.MakerAccount != "" {
		d.act(s, t.MakerAccount, ev.TS)
	}
	if ev.TS >= s.nextSweep {
		d.sweep(s, ev.TS)
	}
	if t.TakerAccount == "" {
		return
	}
	if !s.hasCur {
		s.cur = aggressive{ts: ev.TS, account: t.TakerAccount, orderID: t.TakerOrderID, side: t.TakerSide, tradeIDs: s.cur.tradeIDs[:0]}
		s.hasCur = true
	}
	s.cur.qty += t.Qty
	s.cur.notional += t.Qty * t.Price
	if len(s.cur.tradeIDs) < d.maxEvidence {
		s.cur.tradeIDs = append(s.cur.tradeIDs, t.TradeID)
	}
}

// finishAggressive closes the aggressive order in progress: it may be a big order (opening
// instances for the accounts ahead of it), then it teaches the typical size and joins the recent
// orders.
func (d *detector) finishAggressive(s *symbolState) {
	a := s.cur
	s.hasCur = false
	a.tradeIDs = append([]int64(nil), a.tradeIDs...)
	s.cur.tradeIDs = s.cur.tradeIDs[:0]
	cut := 0
	for cut < len(s.recent) && s.recent[cut].ts < a.ts-d.lead {
		cut++
	}
	s.recent = append(s.recent[:0], s.recent[cut:]...)
	d.act(s, a.account, a.ts)
	if s.seen > 0 {
		typical := math.Exp(s.logTypical)
		if a.qty >= d.minVictim*typical {
			// Only an isolated big order can be front-run: in a burst of big orders of many
			// accounts (a pump's crowd, a liquidation cascade) everyone is ahead of someone.
			last := &s.lastBig[idx(a.side)]
			if last.ts == 0 || a.ts-last.ts >= d.isolation {
				d.openInstances(s, &a, typical)
			}
			*last = a
		}
	}
	x := math.Log(a.qty)
	if s.seen == 0 {
		s.logTypical = x
	} else {
		// Clip at the big-order threshold so that big orders do not become typical.
		x = math.Min(x, s.logTypical+math.Log(d.minVictim))
		s.logTypical += d.alpha * (x - s.logTypical)
	}
	s.seen++
	s.recent = append(s.recent, a)
}

func (d *detector) openInstances(s *symbolState, big *aggressive, typical float64) {
	type ahead struct {
		pre, notional float64
		first, lastTS detectors.Micros
		orders        []int64
		tradeIDs      []int64
	}
	byAcct := map[string]*ahead{}
	var order []string
	for i := range s.recent {
		r := &s.recent[i]
		if r.side != big.side || r.ts >= big.ts || d.sameOwner(r.account, big.account) {
			continue
		}
		h := byAcct[r.account]
		if h == nil {
			h = &ahead{first: r.ts}
			byAcct[r.account] = h
			order = append(order, r.account)
		}
		h.pre += r.qty
		h.notional += r.notional
		h.orders = append(h.orders, r.orderID)
		h.lastTS = r.ts
		h.tradeIDs = append(h.tradeIDs, r.tradeIDs...)
	}
	for _, f := range order {
		if d.nInstances >= d.maxInstances {
			d.dropped++
			continue
		}
		h := byAcct[f]
		in := &instance{f: f, victim: big.account, side: big.side, bigTS: big.ts, firstPre: h.first, pre: h.pre, preNotion: h.notional,
			lead: big.ts - h.lastTS, typical: typical, victimQty: big.qty, related: d.related(f, big.account), execs: h.orders}
		in.tradeIDs = append(in.tradeIDs, h.tradeIDs...)
		in.tradeIDs = append(in.tradeIDs, big.tradeIDs...)
		if len(in.tradeIDs) > d.maxEvidence {
			in.tradeIDs = in.tradeIDs[:d.maxEvidence]
		}
		s.pending = append(s.pending, in)
		d.nInstances++
	}
}

// judgeDue judges the symbol's pending instances whose unwind window is over at now, or that
// have unwound all they took (all of them at the end of the input).
func (d *detector) judgeDue(s *symbolState, now detectors.Micros, all bool) {
	kept := s.pending[:0]
	for _, in := range s.pending {
		if all || now-in.bigTS > d.unwind {
			at := min(now, in.bigTS+d.unwind)
			d.judge(s, in, max(at, in.bigTS))
			d.nInstances--
			continue
		}
		kept = append(kept, in)
	}
	clear(s.pending[len(kept):])
	s.pending = kept
}

func (d *detector) judge(s *symbolState, in *instance, at detectors.Micros) {
	e := s.byAccount[in.f]
	if e == nil {
		n := len(d.scorings)
		e = &episode{f: in.f, symbol: s.name, first: in.firstPre, victims: map[string]bool{}, execs: map[int64]bool{},
			keep: make([]float64, n), best: make([]*instance, n), bestScore: make([]float64, n)}
		for k := range e.keep {
			e.keep[k] = 1
		}
		s.byAccount[in.f] = e
		if len(s.episodes) == 0 {
			s.deadline = math.MaxInt64
		}
		s.episodes = append(s.episodes, e)
	}
	e.first = min(e.first, in.firstPre)
	e.last = max(e.last, at)
	for k, sg := range d.scorings {
		sc := d.InstanceScore(sg, in.pre, in.typical, float64(in.lead)/float64(detectors.Second), in.unwound)
		if in.liquidated {
			sc = 0
		}
		e.keep[k] *= 1 - sc
		if e.best[k] == nil || sc > e.bestScore[k] {
			e.best[k], e.bestScore[k] = in, sc
		}
	}
	for _, x := range in.execs {
		e.execs[x] = true
	}
	e.related = e.related || in.related
	e.count++
	e.victims[in.victim] = true
	if room := d.maxEvidence - len(e.tradeIDs); room > 0 {
		e.tradeIDs = append(e.tradeIDs, in.tradeIDs[:min(room, len(in.tradeIDs))]...)
	}
	s.deadline = min(s.deadline, e.last+d.gap)
}

// Score is an episode's score from the product of its instances' (1 − s), whether the account is
// related to a victim, and its selectivity.
func (d *detector) Score(sc scoring, keep float64, related bool, selectivity float64) float64 {
	if related {
		keep *= 1 - sc.relatedBoost
	}
	return (1 - keep) * math.Pow(math.Max(0, math.Min(1, selectivity)), sc.selExponent)
}

// act counts one execution of an account in the symbol.
func (d *detector) act(s *symbolState, acct string, now detectors.Micros) {
	a := s.acts[acct]
	if a == nil {
		a = &activity{last: now}
		s.acts[acct] = a
	}
	a.count = a.decayed(now, d.actWindow) + 1
	a.last = now
}

// decayed returns the count decayed to now; after five time constants it is 0, whether or not a
// sweep forgot it yet.
func (a *activity) decayed(now, tau detectors.Micros) float64 {
	if now-a.last >= 5*tau {
		return 0
	}
	return a.count * math.Exp(-float64(now-a.last)/float64(tau))
}

// sweep forgets the symbol's activities idle for five time constants, every activity_window of
// the symbol's time. Deletion only: the map order does not matter.
func (d *detector) sweep(s *symbolState, now detectors.Micros) {
	for acct, a := range s.acts {
		if now-a.last >= 5*d.actWindow {
			delete(s.acts, acct)
		}
	}
	s.nextSweep = now + d.actWindow
}

// closeDue emits the symbol's episodes whose gap is over at now (all of them at the end of the
// input), in opening order.
func (d *detector) closeDue(s *symbolState, now detectors.Micros, all bool, emit detectors.GroupEmit) {
	s.episodes, s.deadline = episodes.CloseDue(s.episodes, now, d.gap, all, lastInstance, func(e *episode) {
		d.emitEpisode(e, now, emit)
		delete(s.byAccount, e.f)
	})
}

func lastInstance(e *episode) detectors.Micros { return e.last }

func (d *detector) emitEpisode(e *episode, now detectors.Micros, emit detectors.GroupEmit) {
	victims := make([]string, 0, len(e.victims))
	for v := range e.victims {
		victims = append(victims, v)
	}
	sort.Strings(victims)
	note := "ahead of the big orders of " + strings.Join(victims, ", ")
	related := 0.0
	if e.related {
		related = 1
	}
	// Selectivity: F's executions in its instances over all its (decayed) executions in the
	// symbol, as of its last instance. In the first time constants of the input the decayed count
	// misses what came before: it is divided by the weight a steady activity would have reached
	// since the symbol's first trade, so that an old account is not taken for a new one.
	s := d.symbols[e.symbol]
	selectivity := 1.0
	if a := s.acts[e.f]; a != nil {
		if all := a.decayed(e.last, d.actWindow); all > 0 {
			weight := math.Max(1-math.Exp(-float64(e.last-s.first)/float64(d.actWindow)), float64(d.lead)/float64(d.actWindow))
			selectivity = math.Min(1, float64(len(e.execs))*weight/all)
		}
	}
	tradeIDs := uniqueIDs(e.tradeIDs)
	// The configurations share the trade ids, and those with the same best instance (the
	// instance scores depend on size_scale alone) its features map: a group's alerts share
	// evidence, read-only (detectors.Group).
	type shared struct {
		best     *instance
		score    float64
		features map[string]float64
	}
	var built []shared
	for k, sg := range d.scorings {
		b := e.best[k]
		var features map[string]float64
		for _, x := range built {
			if x.best == b && x.score == e.bestScore[k] {
				features = x.features
				break
			}
		}
		if features == nil {
			var profit float64
			if b.unwound > 0 && b.pre > 0 {
				entry, exit := b.preNotion/b.pre, b.unwindNotional/b.unwound
				profit = float64(b.side) * (exit - entry) / entry * 1e4
			}
			features = map[string]float64{
				"instances": float64(e.count), "best_instance": e.bestScore[k], "pre_qty": b.pre, "pre_ratio": b.pre / b.typical,
				"lead_s": float64(b.lead) / float64(detectors.Second), "unwind_ratio": b.unwound / b.pre,
				"victim_ratio": b.victimQty / b.typical, "profit_bp": profit, "related": related, "selectivity": selectivity,
			}
			built = append(built, shared{best: b, score: e.bestScore[k], features: features})
		}
		emit(sg.config, detectors.Alert{
			Symbol: e.symbol, Accounts: []string{e.f}, TS: now, WindowStart: e.first, WindowEnd: e.last,
			Score:    d.Score(sg, e.keep[k], e.related, selectivity),
			Evidence: detectors.Evidence{TradeIDs: tradeIDs, Features: features, Note: note},
		})
	}
}

func uniqueIDs(ids []int64) []int64 {
	out := append([]int64(nil), ids...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	n := 0
	for i, x := range out {
		if i == 0 || x != out[i-1] {
			out[n] = x
			n++
		}
	}
	return out[:n]
}

// Flush ends the aggregated orders, judges the pending instances and closes the open episodes at
// each symbol's last trade, symbols in name order.
func (d *detector) Flush(emit detectors.GroupEmit) {
	names := make([]string, 0, len(d.symbols))
	for n := range d.symbols {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := d.symbols[n]
		if s.hasCur {
			d.finishAggressive(s)
		}
		d.judgeDue(s, s.last, true)
		d.closeDue(s, s.last, true, emit)
	}
}
